using Microsoft.ML;
using VitMlNet.Cli;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>Bad input exits 2 with one line naming the thing, the expected and the actual.</summary>
[Collection("Robustness")]
public sealed class MessageTests
{
    private readonly CliFixture f;

    public MessageTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void SingleClassDataIsBadInput()
    {
        string root = Robust.TempFolder("one-class");
        try
        {
            string data = Path.Combine(root, "data"), only = Path.Combine(data, "cats");
            Directory.CreateDirectory(only);
            foreach (var row in f.Train.Rows.Take(8)) File.Copy(row.ImagePath, Path.Combine(only, Path.GetFileName(row.ImagePath)));
            var r = Vit.Run("train", "--data", data, "--preset", "tiny", "--epochs", "1", "--out", Path.Combine(root, "m.zip"));
            Assert.True(r.Code == 2, r.ToString());
            Robust.AssertOneErrorLine(r, "train");
            Assert.Contains("holds one class ('cats', 8 images); expected at least 2 classes", r.Err);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Theory]
    [InlineData("train")]
    [InlineData("sweep")]
    public void AnEnormousTimeBudgetIsBadInputNotAnOverflow(string verb)
    {
        var r = verb == "train"
            ? Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--time-budget", "1e308", "--out", f.NewPath("m.zip"))
            : Vit.Run("sweep", "--data", f.Train.Root, "--time-budget", "1e308", "--out", f.NewPath("m.zip"));
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, verb);
        Assert.Contains("--time-budget must be a positive", r.Err);
        Assert.Contains("at most a year", r.Err);
    }

    [Theory]
    [InlineData("100000", "values per image")]
    [InlineData("65536", "values per image")]
    [InlineData("4096", "of memory for one training step")]
    public void AnAbsurdImageSizeSaysWhatMemoryItNeeds(string size, string expected)
    {
        var r = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--image-size", size, "--out", f.NewPath("m.zip"));
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains($"--image-size {size}", r.Err);
        Assert.Contains(expected, r.Err);
        Assert.True(r.Err.Length < 400, r.Err);
    }

    [Fact]
    public void PredictOnAPlainMlNetZipSaysItIsNotAVitMlNetImageModel()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(new[] { new PlainRow { Label = 1, X = 1 }, new PlainRow { Label = 0, X = 0 } });
        var model = ml.Transforms.Concatenate("Features", "X").Fit(data);
        string path = f.NewPath("plain.zip");
        ml.Model.Save(model, data.Schema, path);
        var r = Vit.Run("predict", path, f.Train.Rows[0].ImagePath);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "predict");
        Assert.Contains($"'{path}' is not a VitMlNet image model zip", r.Err);
    }

    [Fact]
    public void PredictEscapesTabsAndNewlinesInItsTabSeparatedOutput()
    {
        Assert.Equal("a\\tb", PredictCommand.Tsv("a\tb"));
        Assert.Equal("line\\nbreak\\r", PredictCommand.Tsv("line\nbreak\r"));
        Assert.Equal("back\\\\slash", PredictCommand.Tsv("back\\slash"));
        Assert.Equal("plain name", PredictCommand.Tsv("plain name"));
    }

    [Fact]
    public void ALibtorchErrorIsShownWithoutItsNativeStackTrace()
    {
        string native = "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate 1099511627776 bytes.\n" +
            "Exception raised from alloc_cpu at ../c10/core/impl/alloc_cpu.cpp:117 (most recent call first):\nframe #0: c10::Error::Error(...)";
        Assert.Equal("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate 1099511627776 bytes.",
            Guard.NativeMessage(native));
        Assert.Equal("plain message", Guard.NativeMessage("plain message"));
    }

    [Fact]
    public void AnErrorRaisedInsideAReflectionCallIsShownAsTheErrorItself()
    {
        // ML.NET builds transforms by reflection: a full disk while it writes the ONNX copy arrives wrapped twice.
        var wrapped = new System.Reflection.TargetInvocationException(
            new AggregateException(new IOException("No space left on device : '/tmp/vitmlnet-1/model.onnx'")));
        var err = new StringWriter();
        int code = Guard.Run("train", err, () => throw wrapped);
        Assert.Equal(1, code);
        Assert.Equal("vit train: error: No space left on device : '/tmp/vitmlnet-1/model.onnx'", err.ToString().TrimEnd());

        // A wrapped bad-input error keeps its exit code.
        err = new StringWriter();
        code = Guard.Run("info", err, () => throw new System.Reflection.TargetInvocationException(new FileNotFoundException("'m.zip' not found")));
        Assert.Equal(2, code);
        Assert.Equal("vit info: error: 'm.zip' not found", err.ToString().TrimEnd());
    }

    private sealed class PlainRow
    {
        public float Label { get; set; }

        public float X { get; set; }
    }
}
