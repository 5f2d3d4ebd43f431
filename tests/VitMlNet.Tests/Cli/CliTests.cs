using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Image;
using VitMlNet.Cli;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;

namespace VitMlNet.Tests.Cli;

/// <summary>The contract a business app uses to score a <c>vit train</c> zip, written here as the app would.</summary>
public sealed class BusinessInput
{
    // ML.NET 6.0.0: [ImageType] without a size throws; [ImageType(h, w)] only declares the column type, and the
    // zip resizes every image itself, so any size works.
    [ImageType(1, 1)]
    public MLImage Image { get; set; } = null!;
}

public sealed class BusinessOutput
{
    public string PredictedLabel { get; set; } = "";

    public float[] Score { get; set; } = [];
}

public partial class CliTests : IClassFixture<CliFixture>
{
    private static readonly string[] Classes = SyntheticImages.ClassNames.Order(StringComparer.Ordinal).ToArray();
    private readonly CliFixture f;

    public CliTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void TrainPrintsOneJsonObjectWithHistoryTestMetricsAndPaths()
    {
        var r = f.TrainResult;
        Assert.True(r.Code == 0, r.ToString());
        Assert.True(File.Exists(f.Model));
        var json = r.Json();
        Assert.Equal(Path.GetFullPath(f.Model), json.GetProperty("model").GetString());
        Assert.Equal(Path.GetFullPath(f.ReportDir), json.GetProperty("report").GetString());
        Assert.Equal(Classes, json.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(60, json.GetProperty("trainImages").GetInt32());
        Assert.Equal(30, json.GetProperty("testImages").GetInt32());
        Assert.Equal("tiny", json.GetProperty("architecture").GetProperty("name").GetString());
        Assert.Equal(3, json.GetProperty("architecture").GetProperty("channels").GetInt32());
        Assert.Equal(16, json.GetProperty("architecture").GetProperty("imageHeight").GetInt32());
        Assert.True(json.GetProperty("parameters").GetInt64() > 1000);
        var history = json.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(2, history.Count);
        Assert.Equal(new[] { 1, 2 }, history.Select(h => h.GetProperty("epoch").GetInt32()));
        Assert.All(history, h => Assert.True(h.GetProperty("loss").GetDouble() > 0));
        AssertMetricsShape(json.GetProperty("test"), 30);
        // The self-check scored every training image through the saved chain and the engine.
        var check = json.GetProperty("selfCheck");
        Assert.Equal(60, check.GetProperty("images").GetInt32());
        Assert.Equal(1.0, check.GetProperty("agreement").GetDouble());
        Assert.Equal(check.GetProperty("zipAccuracy").GetDouble(), check.GetProperty("engineAccuracy").GetDouble());
        Assert.Equal(history[^1].GetProperty("trainAccuracy").GetDouble(), check.GetProperty("trainingAccuracy").GetDouble(), 4);
        // Progress goes to stderr when stdout carries JSON, with evaluation-mode accuracy every epoch and the self-check at the end.
        Assert.Contains("epoch 2/2", r.Err);
        Assert.Contains("eval_acc", r.Err);
        Assert.Contains("self-check on 60 training images: zip accuracy", r.Err);
    }

    [Fact]
    public void TrainWritesTheReportPicturesAndIndex()
    {
        foreach (var (name, minWidth) in new[] { ("training_curves.png", 800), ("confusion_matrix.png", 600), ("predictions.png", 100), ("attention_maps.png", 100) })
        {
            string path = Path.Combine(f.ReportDir, name);
            Assert.True(File.Exists(path), $"{name} missing");
            using var bitmap = SkiaSharp.SKBitmap.Decode(path);
            Assert.NotNull(bitmap);
            Assert.True(bitmap.Width >= minWidth, $"{name} is {bitmap.Width} wide");
        }
        string index = File.ReadAllText(Path.Combine(f.ReportDir, "index.html"));
        Assert.Contains("training_curves.png", index);
        Assert.Contains("attention_maps.png", index);
        Assert.Contains("accuracy", index);
    }

    [Fact]
    public void ExportImagesWritesPngsNamedByClass()
    {
        string dir = f.NewPath("exported");
        var r = Vit.Run("export-images", "--data", f.Test.Root, "--count", "4", "--out", dir);
        Assert.Equal(0, r.Code);
        var files = Directory.GetFiles(dir, "*.png").OrderBy(x => x).ToArray();
        Assert.Equal(4, files.Length);
        Assert.All(files, file => Assert.Contains(Path.GetFileNameWithoutExtension(file).Split('-', 2)[1], Classes));
    }

    [Fact]
    public void TrainWritesMetricsJsonIntoTheReportFolder()
    {
        string metrics = Path.Combine(f.ReportDir, "metrics.json");
        Assert.True(File.Exists(metrics));
        var json = JsonDocument.Parse(File.ReadAllText(metrics)).RootElement;
        Assert.Equal("train", json.GetProperty("command").GetString());
        Assert.Equal(2, json.GetProperty("history").GetArrayLength());
        AssertMetricsShape(json.GetProperty("evaluation"), 30);
        var samples = json.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal(30, samples.Count);
        Assert.All(samples, s =>
        {
            Assert.Contains(s.GetProperty("actual").GetString(), Classes);
            Assert.Contains(s.GetProperty("predicted").GetString(), Classes);
        });
    }

    [Fact]
    public void TrainWithoutJsonPrintsOneLinePerEpochAndTheTestAccuracy()
    {
        string zip = f.NewPath("plain.zip");
        var r = Vit.Run("train", "--data", f.Train.Root, "--test-fraction", "0.25", "--preset", "tiny", "--epochs", "2", "--batch", "16", "--out", zip);
        Assert.True(r.Code == 0, r.ToString());
        var lines = r.Out.Split('\n');
        Assert.Single(lines, l => l.StartsWith("epoch 1/2 loss ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("epoch 2/2 loss ", StringComparison.Ordinal));
        Assert.Contains("train: 45 image files, 3 classes", r.Out);
        Assert.Contains("on 3x16x16", r.Out);
        Assert.Contains("test accuracy ", r.Out);
        Assert.True(File.Exists(zip));
    }

    /// <summary>
    /// <c>--teacher resnet18</c>: the trainer builds ML.NET's ResNet18 + a linear head as the DeiT teacher (here on every
    /// step, the 16×16 images enlarged to 224 for it); the saved model has the distillation token and scores without it.
    /// </summary>
    [Fact]
    public void TrainWithTheResNet18TeacherSavesADistilledModel()
    {
        string zip = f.NewPath("distilled.zip");
        var r = Vit.Run("train", "--data", f.Train.Root, "--test-fraction", "0.25", "--preset", "tiny", "--epochs", "1", "--batch", "16",
            "--teacher", "resnet18", "--distillation", "soft", "--json", "--out", zip);
        Assert.True(r.Code == 0, r.ToString());
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.True(json.GetProperty("architecture").GetProperty("distillationToken").GetBoolean());
        var info = Vit.Run("info", zip);
        Assert.Contains("distillation token", info.Out);

        var refused = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--distillation", "soft", "--out", f.NewPath("never.zip"));
        Assert.Equal(2, refused.Code);
        Assert.Contains("--distillation Soft needs --teacher", refused.Err);
    }

    [Fact]
    public void TrainWithATimeBudgetStopsWhenItIsSpent()
    {
        string zip = f.NewPath("budget.zip");
        var r = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "100000", "--batch", "16", "--time-budget", "3", "--json", "--out", zip);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("time budget 0.05 min (the epochs are a cap)", r.Err);
        Assert.Contains("the time budget ended training in epoch ", r.Err);
        var json = r.Json();
        Assert.Equal(3, json.GetProperty("timeBudgetSeconds").GetDouble());
        int run = json.GetProperty("epochsRun").GetInt32();
        Assert.InRange(run, 1, 99_999);
        Assert.Equal(run, json.GetProperty("history").GetArrayLength());
        Assert.True(File.Exists(zip));
    }

    [Fact]
    public void SavedZipScoresImagesOfAnySizeThroughAPredictionEngineInAFreshContext()
    {
        var ml = new MLContext(seed: 123);
        var model = ml.Model.Load(f.Model, out _);
        var engine = ml.Model.CreatePredictionEngine<BusinessInput, BusinessOutput>(model);
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        engine.OutputSchema["Score"].GetSlotNames(ref slotNames);
        Assert.Equal(Classes, slotNames.DenseValues().Select(v => v.ToString()));

        foreach (var (w, h) in new[] { (16, 16), (40, 24), (7, 90) })
        {
            using var image = MLImage.CreateFromPixels(w, h, MLPixelFormat.Bgra32, Enumerable.Range(0, w * h * 4).Select(i => (byte)(i * 7)).ToArray());
            var p = engine.Predict(new BusinessInput { Image = image });
            Assert.Equal(3, p.Score.Length);
            Assert.Equal(1f, p.Score.Sum(), 3);
            Assert.Equal(Classes[Array.IndexOf(p.Score, p.Score.Max())], p.PredictedLabel);
        }

        foreach (var row in f.Test.Rows.Take(5))
        {
            using var image = MLImage.CreateFromFile(row.ImagePath);
            Assert.Contains(engine.Predict(new BusinessInput { Image = image }).PredictedLabel, Classes);
        }
    }

    [Fact]
    public void EvaluatePrintsMlNetMetricsAsJsonMatchingTrainsTestMetrics()
    {
        var r = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "--json");
        Assert.True(r.Code == 0, r.ToString());
        var json = r.Json();
        AssertMetricsShape(json, 30);
        var trained = f.TrainResult.Json().GetProperty("test");
        Assert.Equal(trained.GetProperty("accuracy").GetDouble(), json.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal(trained.GetProperty("logLoss").GetDouble(), json.GetProperty("logLoss").GetDouble(), 4);
    }

    [Fact]
    public void EvaluateAsTextPrintsMetricsAndTheConfusionMatrixAndWritesTheReport()
    {
        string report = f.NewPath("eval-report");
        var r = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "--report", report);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("accuracy ", r.Out);
        Assert.Contains("log-loss ", r.Out);
        Assert.Contains("confusion matrix", r.Out);
        Assert.All(Classes, c => Assert.Contains(c, r.Out));
        var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "metrics.json"))).RootElement;
        Assert.Equal("evaluate", metrics.GetProperty("command").GetString());
        Assert.Equal(JsonValueKind.Null, metrics.GetProperty("history").ValueKind);
    }

    [Fact]
    public void PredictListsEveryImageAndReportsACorruptFileWithExitCodeOne()
    {
        string folder = f.NewPath("predict");
        Directory.CreateDirectory(folder);
        foreach (var row in f.Test.Rows.Take(4)) File.Copy(row.ImagePath, Path.Combine(folder, Path.GetFileName(row.ImagePath)));
        string corrupt = Path.Combine(folder, "zz-corrupt.png");
        File.WriteAllText(corrupt, "this is not a png");
        string single = f.Test.Rows[10].ImagePath;

        var r = Vit.Run("predict", f.Model, folder, single, "--top", "2", "--json");
        Assert.Equal(1, r.Code);
        var entries = r.Json().EnumerateArray().ToList();
        Assert.Equal(6, entries.Count);
        var failed = Assert.Single(entries, e => e.TryGetProperty("error", out _));
        Assert.Equal(corrupt, failed.GetProperty("file").GetString());
        Assert.Contains("zz-corrupt.png", r.Err);
        foreach (var e in entries.Where(e => !e.TryGetProperty("error", out _)))
        {
            string label = e.GetProperty("label").GetString()!;
            Assert.Contains(label, Classes);
            var top = e.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(2, top.Count);
            Assert.Equal(label, top[0].GetProperty("label").GetString());
            Assert.Equal(e.GetProperty("score").GetDouble(), top[0].GetProperty("score").GetDouble());
            Assert.True(top[0].GetProperty("score").GetDouble() >= top[1].GetProperty("score").GetDouble());
        }

        Assert.Equal(single, entries[^1].GetProperty("file").GetString());
    }

    [Fact]
    public void PredictAsTextPrintsFileLabelAndProbabilityAndExitsZero()
    {
        var files = f.Test.Rows.Take(3).Select(r => r.ImagePath).ToArray();
        var r = Vit.Run(["predict", f.Model, .. files]);
        Assert.True(r.Code == 0, r.ToString());
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        for (int i = 0; i < 3; i++)
        {
            var cells = lines[i].Split('\t');
            Assert.Equal(files[i], cells[0]);
            Assert.Contains(cells[1], Classes);
            Assert.InRange(double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture), 0, 1);
        }
    }

    /// <summary>One output of an exported standalone model on 16×16 RGB planar pixels through ONNX Runtime.</summary>
    private static float[] RunExported(string path, float[] pixels, int count, string output)
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor<float>(pixels, new[] { count, 3, 16, 16 });
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("pixels", input) });
        return results.Single(x => x.Name == output).AsEnumerable<float>().ToArray();
    }

    /// <summary>Exports the fixture's model plainly and with <paramref name="flag"/>; both must succeed, the second saying <paramref name="message"/>.</summary>
    private void ExportPlainAndWith(string plain, string variant, string flag, string message)
    {
        Assert.Equal(0, Vit.Run("export-onnx", f.Model, plain).Code);
        var r = Vit.Run("export-onnx", f.Model, variant, flag);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains(message, r.Out, StringComparison.Ordinal);
    }

    /// <summary>The first <paramref name="count"/> 16×16 test images and their raw 0..255 planar pixels as floats.</summary>
    private (ImageDataset Data, float[] Pixels) TestImages(int count)
    {
        var data = DataSpec.Parse(f.Test.Root).LoadDataset(16, 16, 3).Take(count);
        return (data, data.Pixels.Select(b => (float)b).ToArray());
    }

    [Fact]
    public void ExportOnnxInt8WritesASmallerQuantizedModelThatAgreesWithTheFloatOne()
    {
        string plain = f.NewPath("plain.onnx"), quantized = f.NewPath("int8.onnx");
        ExportPlainAndWith(plain, quantized, "--int8", "int8 encoder weights");
        Assert.True(new FileInfo(quantized).Length < new FileInfo(plain).Length);
        var (data, pixels) = TestImages(8);
        int[] Labels(string path)
        {
            var p = RunExported(path, pixels, data.Count, "probabilities");
            return Enumerable.Range(0, data.Count).Select(i => Array.IndexOf(p, p.Skip(i * 3).Take(3).Max(), i * 3) - i * 3).ToArray();
        }
        var expected = Labels(plain);
        var actual = Labels(quantized);
        Assert.True(expected.Zip(actual, (a, b) => a == b).Count(x => x) >= data.Count - 1, $"{string.Join(",", expected)} vs {string.Join(",", actual)}");
    }

    [Fact]
    public void ExportOnnxFlipAverageAveragesTheLogitsOfEachImageAndItsMirror()
    {
        string plain = f.NewPath("plain-for-flip.onnx"), flipped = f.NewPath("flip.onnx");
        ExportPlainAndWith(plain, flipped, "--flip-average", "flip averaging");
        var (data, pixels) = TestImages(4);
        var mirrored = VitMlNet.Tests.Onnx.OnnxTestSupport.Mirror(pixels, 16);
        var expected = RunExported(plain, pixels, data.Count, "logits").Zip(RunExported(plain, mirrored, data.Count, "logits"), (a, b) => (a + b) / 2).ToArray();
        var actual = RunExported(flipped, pixels, data.Count, "logits");
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 4);
        var info = Vit.Run("info", f.Model, "--json").Json();
        Assert.False(info.GetProperty("flipAverage").GetBoolean());
    }

    [Fact]
    public void ExportOnnxShiftAverageAveragesTheLogitsOfEachImageAndItsOnePixelShifts()
    {
        string plain = f.NewPath("plain-for-shift.onnx"), shifted = f.NewPath("shift.onnx");
        ExportPlainAndWith(plain, shifted, "--shift-average", "shift averaging");
        var (data, pixels) = TestImages(4);
        var views = VitMlNet.Tests.Onnx.OnnxTestSupport.ShiftViews
            .Select(s => RunExported(plain, VitMlNet.Tests.Onnx.OnnxTestSupport.Shift(pixels, 16, 16, s.Dy, s.Dx), data.Count, "logits")).ToArray();
        var actual = RunExported(shifted, pixels, data.Count, "logits");
        Assert.Equal(views[0].Length, actual.Length);
        for (int i = 0; i < actual.Length; i++) Assert.Equal(views.Average(v => v[i]), actual[i], 4);
        var info = Vit.Run("info", f.Model, "--json").Json();
        Assert.False(info.GetProperty("shiftAverage").GetBoolean());
    }

    [Fact]
    public void ExportOnnxWritesAStandaloneModelThatOnnxRuntimeScoresLikeTheZip()
    {
        string onnx = f.NewPath("model.onnx");
        var r = Vit.Run("export-onnx", f.Model, onnx);
        Assert.True(r.Code == 0, r.ToString());
        using var session = new InferenceSession(onnx);
        Assert.Equal(new[] { -1, 3, 16, 16 }, session.InputMetadata["pixels"].Dimensions);
        Assert.Equal(new[] { "logits", "probabilities" }, session.OutputMetadata.Keys.Order());

        // The same 16x16 images through ONNX Runtime (raw 0..255 planar pixels) and through the zip.
        var (data, pixels) = TestImages(4);
        var input = new DenseTensor<float>(pixels, new[] { data.Count, 3, 16, 16 });
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("pixels", input) });
        var probabilities = results.Single(x => x.Name == "probabilities").AsEnumerable<float>().ToArray();

        var ml = new MLContext();
        var engine = ml.Model.CreatePredictionEngine<BusinessInput, BusinessOutput>(ml.Model.Load(f.Model, out _));
        for (int i = 0; i < data.Count; i++)
        {
            using var image = data.GetImage(i);
            var score = engine.Predict(new BusinessInput { Image = image }).Score;
            for (int k = 0; k < 3; k++) Assert.Equal(probabilities[i * 3 + k], score[k], 3);
        }
    }

    [Fact]
    public void InfoShowsColumnsClassesAndArchitecture()
    {
        var r = Vit.Run("info", f.Model, "--json");
        Assert.True(r.Code == 0, r.ToString());
        var json = r.Json();
        Assert.Equal("Image", Assert.Single(json.GetProperty("input").EnumerateArray()).GetProperty("name").GetString());
        var outputs = json.GetProperty("output").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("type").GetString());
        Assert.Equal("String", outputs["PredictedLabel"]);
        Assert.Equal("Vector<Single, 3>", outputs["Score"]);
        Assert.Equal(Classes, json.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("tiny", json.GetProperty("architecture").GetProperty("name").GetString());
        Assert.Equal(f.TrainResult.Json().GetProperty("parameters").GetInt64(), json.GetProperty("parameters").GetInt64());

        var text = Vit.Run("info", f.Model);
        Assert.True(text.Code == 0, text.ToString());
        Assert.Contains("ViT 'tiny'", text.Out);
        Assert.Contains("PredictedLabel", text.Out);
    }

    [Fact]
    public void GrayModelTrainsWithOneChannelAndScoresColorImagesOfAnySize()
    {
        string zip = f.NewPath("gray.zip");
        var r = Vit.Run("train", "--data", f.Train.Root, "--channels", "1", "--image-size", "20", "--preset", "tiny", "--epochs", "1", "--limit", "30", "--out", zip);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("train: 30 image files, 3 classes", r.Out);
        Assert.Contains("on 1x20x20", r.Out);
        var info = Vit.Run("info", zip, "--json").Json().GetProperty("architecture");
        Assert.Equal(1, info.GetProperty("channels").GetInt32());
        Assert.Equal(20, info.GetProperty("imageHeight").GetInt32());

        var ml = new MLContext();
        var engine = ml.Model.CreatePredictionEngine<BusinessInput, BusinessOutput>(ml.Model.Load(zip, out _));
        using var image = MLImage.CreateFromFile(f.Test.Rows[0].ImagePath);
        Assert.Contains(engine.Predict(new BusinessInput { Image = image }).PredictedLabel, Classes);
        Assert.Equal(0, Vit.Run("evaluate", zip, "--data", f.Test.Root).Code);
    }

    [Fact]
    public void ACorruptTrainingImageIsBadInputUnlessSkipped()
    {
        string folder = f.NewPath("with-corrupt");
        foreach (var row in f.Train.Rows.Take(12))
        {
            string dir = Path.Combine(folder, row.Label);
            Directory.CreateDirectory(dir);
            File.Copy(row.ImagePath, Path.Combine(dir, Path.GetFileName(row.ImagePath)));
        }

        string corrupt = Path.Combine(folder, f.Train.Rows[0].Label, "broken.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        string zip = f.NewPath("skip.zip");

        var failed = Vit.Run("train", "--data", folder, "--preset", "tiny", "--epochs", "1", "--out", zip);
        Assert.Equal(2, failed.Code);
        Assert.Contains("broken.png", failed.Err);
        AssertOneLineError(failed);

        var skipped = Vit.Run("train", "--data", folder, "--preset", "tiny", "--epochs", "1", "--out", zip, "--skip-bad-images");
        Assert.True(skipped.Code == 0, skipped.ToString());
        Assert.Contains("broken.png", skipped.Err);
        Assert.True(File.Exists(zip));
    }

    [Theory]
    [InlineData("train", "--data", "{train}", "--preset", "huge", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--preset", "tiny")]
    [InlineData("train", "--data", "/no/such/folder", "--preset", "tiny", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--test", "{test}", "--test-fraction", "0.2", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--preset", "tiny", "--image-size", "18", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--preset", "tiny", "--epochs", "0", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--epochs", "many", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--preset", "tiny", "--limit", "0", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--preset", "tiny", "--time-budget", "soon", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--preset", "tiny", "--time-budget", "-5m", "--out", "{out}")]
    [InlineData("train", "--data", "{train}", "--out", "{out}", "--no-such-option")]
    [InlineData("evaluate", "/no/such/model.zip", "--data", "{test}")]
    [InlineData("evaluate", "{model}", "--data", "/no/such/folder")]
    [InlineData("evaluate", "{notazip}", "--data", "{test}")]
    [InlineData("predict", "/no/such/model.zip", "{test}")]
    [InlineData("predict", "{model}")]
    [InlineData("predict", "{model}", "{test}", "--top", "0")]
    [InlineData("export-onnx", "/no/such/model.zip", "{out}")]
    [InlineData("info", "{notazip}")]
    [InlineData("info")]
    [InlineData("frobnicate")]
    public void BadUsageOrInputExitsWithTwoAndOneErrorLine(params string[] args)
    {
        string notAZip = f.NewPath("not-a-model.zip");
        File.WriteAllText(notAZip, "hello");
        var resolved = args.Select(a => a
            .Replace("{train}", f.Train.Root).Replace("{test}", f.Test.Root).Replace("{model}", f.Model)
            .Replace("{out}", f.NewPath("bad.zip")).Replace("{notazip}", notAZip)).ToArray();
        var r = Vit.Run(resolved);
        Assert.True(r.Code == 2, r.ToString());
        AssertOneLineError(r);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void EvaluatingDataWithAClassTheModelLacksIsBadInput()
    {
        string folder = f.NewPath("extra-class");
        foreach (var (row, i) in f.Test.Rows.Take(6).Select((row, i) => (row, i)))
        {
            string dir = Path.Combine(folder, i < 3 ? row.Label : "unicorn");
            Directory.CreateDirectory(dir);
            File.Copy(row.ImagePath, Path.Combine(dir, Path.GetFileName(row.ImagePath)));
        }

        var r = Vit.Run("evaluate", f.Model, "--data", folder);
        Assert.Equal(2, r.Code);
        Assert.Contains("unicorn", r.Err);
    }

    [Fact]
    public void HelpExitsZero()
    {
        var r = Vit.Run("train", "--help");
        Assert.Equal(0, r.Code);
        Assert.Contains("--image-size", r.Out);
    }

    [Fact]
    public void EvaluationScoresInParallelExactlyAsTheZipsTransformDoes()
    {
        var ml = new MLContext(0);
        var model = ModelZipFile.Load(ml, f.Model, out _);
        var classes = ModelZipFile.SlotNames(model.GetOutputSchema(ModelZipFile.InputSchema()), "Score");
        var config = ModelZipFile.ReadOnnx(f.Model).Config;
        var data = DataSpec.Parse(f.Test.Root).LoadDataset(config.ImageHeight, config.ImageWidth, config.Channels, false);
        var result = ModelEvaluator.Evaluate(ml, model, data, classes);

        // The same images through ML.NET's Transform, one cursor, and ML.NET's evaluator on its output.
        var scored = model.Transform(data.ToDataView(ml));
        var expectedScores = scored.GetColumn<float[]>("Score").ToArray();
        var expectedLabels = scored.GetColumn<string>("PredictedLabel").ToArray();
        var parallel = ModelEvaluator.ScoreInParallel(ml, model, data);
        Assert.Equal(data.Count, parallel.Length);
        for (int i = 0; i < data.Count; i++)
        {
            Assert.Equal(expectedLabels[i], parallel[i].PredictedLabel);
            for (int c = 0; c < classes.Length; c++) Assert.Equal(expectedScores[i][c], parallel[i].Score[c], 5);
            Assert.Equal(expectedLabels[i], result.Predictions[i].Predicted);
        }

        int correct = Enumerable.Range(0, data.Count).Count(i => expectedLabels[i] == data.ClassNames[data.Labels[i]]);
        Assert.Equal((double)correct / data.Count, result.Accuracy, 10);
        double logLoss = Enumerable.Range(0, data.Count).Average(i =>
            -Math.Log(Math.Max(expectedScores[i][Array.IndexOf(classes, data.ClassNames[data.Labels[i]])], 1e-15)));
        Assert.Equal(logLoss, result.LogLoss, 4);
    }

    [Fact]
    public void BenchStillRuns()
    {
        var r = Vit.Run("bench", "--preset", "tiny", "--batch", "4", "--steps", "1", "--json");
        Assert.True(r.Code == 0, r.ToString());
        var json = r.Json();
        Assert.Equal("tiny", json.GetProperty("preset").GetString());
        foreach (var key in new[] { "denseGflops", "attentionGflops", "utilizationBoundPercent" })
            Assert.True(json.GetProperty(key).GetDouble() > 0, key);
        var tiny = ViTConfig.FromPreset("tiny");
        Assert.Equal(Math.Round(BenchCommand.AttentionFlopsPerImage(tiny) / BenchCommand.ForwardFlopsPerImage(tiny), 4), json.GetProperty("attentionFlopShare").GetDouble());
    }

    [Fact]
    public void BenchCountsTheFlopsTheModelRuns()
    {
        // The reference's nominal count for the seed model: 6 blocks of 65 tokens, 3× the forward for a training step.
        Assert.Equal(1_078_242_816, BenchCommand.NominalTrainFlopsPerImage(ViTConfig.Seed));
        // With class-token pooling the last block runs keys and values for all 65 tokens but queries, attention rows, the
        // output projection and the MLP for the class token only: 3 × (59,770,880 − 17,696,768) fewer.
        Assert.Equal(1_078_242_816 - 3 * (59_770_880 - 17_696_768), BenchCommand.TrainFlopsPerImage(ViTConfig.Seed));
        var mean = ViTConfig.Seed with { Pooling = ViTPooling.Mean };
        Assert.Equal(BenchCommand.NominalTrainFlopsPerImage(mean), BenchCommand.TrainFlopsPerImage(mean));
        // One forward pass, as the scoring graph runs it: a third of the step.
        Assert.Equal(1_078_242_816 / 3 - (59_770_880 - 17_696_768), BenchCommand.ForwardFlopsPerImage(ViTConfig.Seed));
        // Its attention products: QKᵀ and AV over 65 × 65 × 512 in five blocks, one query row in the last.
        Assert.Equal(5 * 2 * 2 * 65 * 65 * 512 + 2 * 2 * 65 * 512, BenchCommand.AttentionFlopsPerImage(ViTConfig.Seed));
    }

    [Fact]
    public void BenchScoringTimesAZipAndGivesTheFloorUnderItsGraph()
    {
        var r = Vit.Run("bench-scoring", "--zip", f.Model, "--images", "64", "--json");
        Assert.True(r.Code == 0, r.ToString());
        var json = r.Json();
        foreach (var key in new[] { "predictionEngineMilliseconds", "transformImagesPerSecond", "onnxRuntimeBatch1Milliseconds",
            "preprocessingMicroseconds", "onnxRuntimeMatMulGflops", "onnxRuntimeInt8MatMulGops", "poolOneThreadImagesPerSecond", "poolImagesPerSecond", "poolOneEngineEveryCoreImagesPerSecond",
            "transformOneThreadSessionsImagesPerSecond" })
            Assert.True(json.GetProperty(key).GetDouble() > 0, key);
        var config = ModelZipFile.ReadFromZip(f.Model).Config;
        double gflop = json.GetProperty("forwardGflopPerImage").GetDouble();
        Assert.Equal(BenchCommand.ForwardFlopsPerImage(config) / 1e9, gflop, 6);
        // floor = FLOPs per image / rate, to the JSON's rounding (FLOPs to 1e-6 GFLOP, rates to 0.1, floors to 1e-6 ms).
        foreach (var (floor, rate) in new[] { ("floorMilliseconds", "onnxRuntimeMatMulGflops"), ("int8FloorMilliseconds", "onnxRuntimeInt8MatMulGops") })
        {
            double expected = gflop / json.GetProperty(rate).GetDouble() * 1000;
            Assert.InRange(json.GetProperty(floor).GetDouble(), expected * 0.995 - 1e-6, expected * 1.005 + 1e-6);
        }
    }

    private static void AssertMetricsShape(JsonElement m, int count)
    {
        Assert.Equal(count, m.GetProperty("count").GetInt32());
        Assert.InRange(m.GetProperty("accuracy").GetDouble(), 0, 1);
        Assert.InRange(m.GetProperty("macroAccuracy").GetDouble(), 0, 1);
        Assert.True(m.GetProperty("logLoss").GetDouble() >= 0);
        var perClass = m.GetProperty("perClass").EnumerateArray().ToList();
        Assert.Equal(Classes, perClass.Select(c => c.GetProperty("class").GetString()));
        Assert.All(perClass, c =>
        {
            Assert.Equal(10, c.GetProperty("count").GetInt32());
            Assert.True(c.TryGetProperty("precision", out _));
            Assert.InRange(c.GetProperty("recall").GetDouble(), 0, 1);
        });
        var matrix = m.GetProperty("confusionMatrix").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        Assert.Equal(3, matrix.Length);
        Assert.All(matrix, row => Assert.Equal(3, row.Length));
        Assert.All(matrix, row => Assert.Equal(10, row.Sum()));
        int correct = Enumerable.Range(0, 3).Sum(i => matrix[i][i]);
        Assert.Equal((double)correct / count, m.GetProperty("accuracy").GetDouble(), 6);
    }

    internal static void AssertOneLineError(CliResult r)
    {
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("vit", lines[0]);
        Assert.Contains("error:", lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
    }
}
