using System.Diagnostics;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using SkiaSharp;

namespace VitMlNet.ScoringOnly.Tests;

/// <summary>The documented zip contract: any-size image in, label and probabilities out.</summary>
public sealed class ModelInput
{
    [ImageType(1, 1)]
    public MLImage? Image { get; set; }
}

public sealed class ModelOutput
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = Array.Empty<float>();
}

/// <summary>Writes striped images of three classes and trains a tiny model with `vit train` in a child process.</summary>
public sealed class TrainedZipFixture : IDisposable
{
    public static readonly string[] Classes = { "horizontal", "vertical", "checker" };

    public TrainedZipFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "vit-scoring-" + Guid.NewGuid().ToString("N"));
        var rng = new Random(5);
        for (int i = 0; i < 150; i++)
        {
            string cls = Classes[i % 3];
            string dir = Path.Combine(Root, "train", cls);
            Directory.CreateDirectory(dir);
            WritePng(Path.Combine(dir, $"{i:D3}.png"), i % 3, 16, rng);
        }
        Zip = Path.Combine(Root, "model.zip");
        string cli = typeof(TrainedZipFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "VitCliPath").Value!;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { cli, "train", "--data", Path.Combine(Root, "train"), "--preset", "tiny", "--epochs", "6", "--lr", "0.002", "--batch", "16", "--seed", "1", "--out", Zip })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        TrainOutput = stdout + stderr;
        if (process.ExitCode != 0 || !File.Exists(Zip))
            throw new InvalidOperationException($"vit train failed with exit code {process.ExitCode}:\n{TrainOutput}");
    }

    public string Root { get; }
    public string Zip { get; }
    public string TrainOutput { get; }

    /// <summary>Class 0: horizontal stripes; 1: vertical stripes; 2: checkerboard; with noise.</summary>
    public static void WritePng(string path, int label, int size, Random rng)
    {
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        int period = Math.Max(2, size / 8);
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                bool on = label switch
                {
                    0 => (y / period) % 2 == 0,
                    1 => (x / period) % 2 == 0,
                    _ => ((x / period) + (y / period)) % 2 == 0,
                };
                int v = Math.Clamp((on ? 210 : 40) + rng.Next(-25, 26), 0, 255);
                bitmap.SetPixel(x, y, new SKColor((byte)v, (byte)(255 - v), (byte)v));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, true);
    }
}

public class ScoringOnlyTests : IClassFixture<TrainedZipFixture>
{
    private readonly TrainedZipFixture f;

    public ScoringOnlyTests(TrainedZipFixture fixture) => f = fixture;

    [Fact]
    public void NoTorchSharpOrTrainingAssemblyIsReferencedOrLoaded()
    {
        // The scoring package (VitMlNet.Scoring: SafeImage) is allowed; it references no TorchSharp and no VitMlNet either.
        var referenced = typeof(ScoringOnlyTests).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain(referenced, n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || n.StartsWith("VitMlNet", StringComparison.Ordinal) && n is not ("VitMlNet.ScoringOnly.Tests" or "VitMlNet.Scoring"));
        var scoringReferences = typeof(VitMlNet.Scoring.SafeImage).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain(scoringReferences, n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || n.StartsWith("VitMlNet", StringComparison.Ordinal));
        var ml = new MLContext();
        var model = ml.Model.Load(f.Zip, out _);
        Assert.NotNull(model);
        var loaded = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name!).ToArray();
        Assert.DoesNotContain(loaded, n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(loaded, n => n is "VitMlNet" or "vit");
        string outputDir = Path.GetDirectoryName(typeof(ScoringOnlyTests).Assembly.Location)!;
        Assert.False(File.Exists(Path.Combine(outputDir, "TorchSharp.dll")));
    }

    [Fact]
    public void PredictionEngineClassifiesImageFilesOfAnySize()
    {
        var ml = new MLContext();
        var model = ml.Model.Load(f.Zip, out _);
        var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
        var rng = new Random(99);
        int correct = 0, total = 0;
        foreach (int size in new[] { 16, 24, 40 })
        {
            for (int i = 0; i < 12; i++)
            {
                string file = Path.Combine(f.Root, $"test-{size}-{i}.png");
                TrainedZipFixture.WritePng(file, i % 3, size, rng);
                using var image = MLImage.CreateFromFile(file);
                var prediction = engine.Predict(new ModelInput { Image = image });
                Assert.Equal(3, prediction.Score.Length);
                Assert.Equal(1f, prediction.Score.Sum(), 4);
                Assert.Contains(prediction.PredictedLabel, TrainedZipFixture.Classes);
                if (size == 16)
                {
                    total++;
                    if (prediction.PredictedLabel == TrainedZipFixture.Classes[i % 3]) correct++;
                }
            }
        }
        Assert.True(correct >= total * 0.8, $"{correct}/{total} correct at the training size\n{f.TrainOutput}");
    }

    [Fact]
    public void TransformAndPredictionEngineAgree()
    {
        var ml = new MLContext();
        var model = ml.Model.Load(f.Zip, out _);
        var rng = new Random(7);
        var files = Enumerable.Range(0, 6).Select(i =>
        {
            string file = Path.Combine(f.Root, $"agree-{i}.png");
            TrainedZipFixture.WritePng(file, i % 3, 16, rng);
            return file;
        }).ToList();
        // ML.NET's image transforms dispose the MLImage values they consume, so each use gets fresh images.
        List<ModelInput> Load() => files.Select(file => new ModelInput { Image = MLImage.CreateFromFile(file) }).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Load()));
        var batch = ml.Data.CreateEnumerable<ModelOutput>(scored, reuseRowObject: false).ToList();
        var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
        var inputs = Load();
        for (int i = 0; i < inputs.Count; i++)
        {
            var single = engine.Predict(inputs[i]);
            Assert.Equal(batch[i].PredictedLabel, single.PredictedLabel);
            Assert.Equal(batch[i].Score, single.Score);
        }
    }

    [Fact]
    public void AZipLoadedWithOneOnnxThreadPerSessionScoresTheSame()
    {
        // How an app that serves predictions from several threads keeps each session to one core, with ML.NET's own
        // API: the context's ONNX session options apply to every OnnxTransformer loaded in it.
        var files = Enumerable.Range(0, 4).Select(i =>
        {
            string file = Path.Combine(f.Root, $"threads-{i}.png");
            TrainedZipFixture.WritePng(file, i % 3, 16, new Random(20 + i));
            return file;
        }).ToList();
        ModelOutput[] Predict(MLContext ml)
        {
            var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(ml.Model.Load(f.Zip, out _));
            return files.Select(file =>
            {
                using var image = MLImage.CreateFromFile(file);
                return engine.Predict(new ModelInput { Image = image });
            }).ToArray();
        }
        var expected = Predict(new MLContext());
        var oneThread = new MLContext();
        Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.SetOnnxSessionOption(oneThread,
            new Microsoft.ML.Transforms.Onnx.OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, PerSessionThreads = true });
        Assert.Equal(1, Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.GetOnnxSessionOption(oneThread).IntraOpNumThreads);
        var actual = Predict(oneThread);
        for (int i = 0; i < files.Count; i++)
        {
            Assert.Equal(expected[i].PredictedLabel, actual[i].PredictedLabel);
            for (int k = 0; k < expected[i].Score.Length; k++) Assert.Equal(expected[i].Score[k], actual[i].Score[k], 5);
        }
    }
}
