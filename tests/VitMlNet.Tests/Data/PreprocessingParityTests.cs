using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using TorchSharp;
using VitMlNet.Cli;
using VitMlNet.Data;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Data;

/// <summary>What the zip's ONNX graph receives, read the way a plain app would: the zip's output keeps the Pixels column.</summary>
public sealed class ZipPixels
{
    public float[] Pixels { get; set; } = [];

    public float[] Score { get; set; } = [];

    public string PredictedLabel { get; set; } = "";
}

/// <summary>
/// Reported = delivered: the tensor training reads for a file equals the tensor the saved zip scores for the same file
/// in a plain ML.NET app, for every format users have; `vit evaluate` equals such an app's accuracy exactly.
/// </summary>
public class PreprocessingParityTests
{
    private static string FixtureFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "images");

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void TrainingTensorEqualsTheZipsTensorForEveryFormat(int channels)
    {
        string root = Path.Combine(Path.GetTempPath(), "vit-formats-" + Guid.NewGuid().ToString("N"));
        try
        {
            var fixtures = Directory.GetFiles(FixtureFolder).Order(StringComparer.Ordinal).ToArray();
            Assert.True(fixtures.Length >= 11, $"{fixtures.Length} fixture images");
            for (int i = 0; i < fixtures.Length; i++)
            {
                string dir = Path.Combine(root, i % 2 == 0 ? "a" : "b");
                Directory.CreateDirectory(dir);
                File.Copy(fixtures[i], Path.Combine(dir, Path.GetFileName(fixtures[i])));
            }

            var files = DatasetReaders.ListImageFolder(root);
            var ml = new MLContext(1);
            var view = files.ToDataView(ml);
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);

            // The training path: the trainer reads its cache from the preprocessing's Pixels column.
            var preprocessed = ImagePreprocessing.Estimator(ml, channels, 16, 16).Fit(keyed).Transform(keyed);
            using var loaded = DataViewImageLoader.Load(preprocessed, "Pixels", "Label", null, null, null, null);
            byte[] training = loaded.Cache.Images.to_type(torch.ScalarType.Byte).data<byte>().ToArray();
            int size = channels * 16 * 16;
            Assert.Equal(files.Count * size, training.Length);

            // The zip, scored as an app scores it: MLImage.CreateFromFile → PredictionEngine, ML.NET only.
            string zip = Path.Combine(root, "model.zip");
            var options = new VisionTransformerOptions { Preset = "tiny", Epochs = 1, BatchSize = 8, Seed = 3 };
            var model = ImagePreprocessing.Estimator(ml, channels, 16, 16)
                .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
                .Fit(keyed);
            ml.Model.Save(model, null, zip);
            var app = new MLContext();
            var engine = app.Model.CreatePredictionEngine<BusinessInput, ZipPixels>(app.Model.Load(zip, out _));
            for (int i = 0; i < files.Count; i++)
            {
                var scored = engine.Predict(new BusinessInput { Image = MLImage.CreateFromFile(files.Paths[i]) });
                var expected = training.AsSpan(i * size, size).ToArray().Select(b => (float)b).ToArray();
                Assert.True(expected.SequenceEqual(scored.Pixels), $"{Path.GetFileName(files.Paths[i])}: the zip's tensor differs from the training tensor");
            }

            // The report pictures come from the same chain.
            var pictures = ImagePreprocessing.Apply(app.Model.Load(zip, out _), files, channels, 16, 16);
            Assert.Equal(training, pictures.Pixels);

            // Not trivially equal: every file gives a different, non-blank tensor, except the 16-bit PNG, which decodes
            // to exactly its 8-bit twin.
            var rows = Enumerable.Range(0, files.Count).ToDictionary(i => Path.GetFileName(files.Paths[i]), i => Convert.ToBase64String(training, i * size, size));
            Assert.Equal(rows["rgb-50x20.png"], rows["rgb48-50x20.png"]);
            Assert.Equal(rows.Count - 1, rows.Values.Distinct().Count());
            Assert.All(Enumerable.Range(0, files.Count), i => Assert.Contains(training.Skip(i * size).Take(size), b => b > 0));
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, true);
        }
    }

    [Fact]
    public void GrayDataSurvivesTheGrayChainUnchanged()
    {
        // IDX-style gray pixels at their native size go through ResizeImages (a no-op) and ConvertToGrayscale: values stay.
        var pixels = Enumerable.Range(0, 2 * 4 * 4).Select(i => (byte)(i * 8)).ToArray();
        var data = new ImageDataset(pixels, [0, 1], ["a", "b"], 1, 4, 4);
        var through = ImagePreprocessing.Apply(new MLContext(0), data, 1, 4, 4);
        Assert.Equal(pixels, through.Pixels);
    }

    [Fact]
    public void EvaluateEqualsAPlainConsumerOfTheZipOnOddSizedFiles()
    {
        using var train = new OddImageFolder(24, 5);
        using var test = new OddImageFolder(12, 6);
        string work = Path.Combine(Path.GetTempPath(), "vit-parity-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            string zip = Path.Combine(work, "model.zip");
            var trained = Vit.Run("train", "--data", train.Root, "--test", test.Root, "--preset", "tiny", "--epochs", "3", "--batch", "16",
                "--lr", "2e-3", "--seed", "7", "--out", zip, "--json");
            Assert.True(trained.Code == 0, trained.ToString());
            double reported = trained.Json().GetProperty("test").GetProperty("accuracy").GetDouble();

            var evaluated = Vit.Run("evaluate", zip, "--data", test.Root, "--json");
            Assert.True(evaluated.Code == 0, evaluated.ToString());
            double evaluateAccuracy = evaluated.Json().GetProperty("accuracy").GetDouble();

            // A business app: Microsoft.ML + ImageAnalytics + OnnxTransformer, files loaded with MLImage.CreateFromFile.
            var app = new MLContext();
            var engine = app.Model.CreatePredictionEngine<BusinessInput, BusinessOutput>(app.Model.Load(zip, out _));
            int correct = test.Files.Count(f => engine.Predict(new BusinessInput { Image = MLImage.CreateFromFile(f.Path) }).PredictedLabel == f.Label);
            double delivered = (double)correct / test.Files.Count;

            Assert.Equal(delivered, evaluateAccuracy, 6); // the JSON carries 6 decimals; one image of 36 is 0.028
            Assert.Equal(delivered, reported, 6);
            Assert.True(delivered > 0.5, $"the model should learn the three shapes (delivered {delivered:F3})");
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }
}
