using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Scoring;

namespace VitMlNet.Tests;

/// <summary><see cref="VisionTransformerPipeline"/>: the pipeline README, the samples and the CLI build, in one call.</summary>
public sealed class VisionTransformerPipelineCreateTests
{
    private static readonly string[] Reversed = SyntheticImages.ClassNames.Reverse().ToArray();

    [Fact]
    public void Create_LearnsAndItsZipScoresClassNamesForAnApp()
    {
        using var train = new ImageFolderFixture(150, 31);
        using var test = new ImageFolderFixture(45, 32);
        var ml = new MLContext(seed: 1);
        var trainView = DatasetReaders.ListImageFolder(train.Root).ToDataView(ml);
        var testView = DatasetReaders.ListImageFolder(test.Root).ToDataView(ml);
        var labels = VisionTransformerPipeline.FitLabels(ml, trainView);
        var options = new VisionTransformerOptions
        {
            Architecture = ViTConfig.Tiny, Epochs = 16, BatchSize = 16, LearningRate = 2e-3, WarmupEpochs = 1, Seed = 3,
            Optimizer = VisionTransformerOptimizer.AdamW, Schedule = VisionTransformerLearningRateSchedule.WarmupCosine,
        };

        var model = VisionTransformerPipeline.Create(ml, channels: 3, height: 16, width: 16, options).Fit(labels.Transform(trainView));

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(labels.Transform(testView)));
        Assert.True(metrics.MicroAccuracy >= 0.8, $"test accuracy {metrics.MicroAccuracy:F3}");
        string zip = Path.Combine(Path.GetTempPath(), "vit-create-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            ml.Model.Save(model, null, zip);
            var app = new MLContext();
            var engine = app.Model.CreatePredictionEngine<ModelInput, ModelOutput>(app.Model.Load(zip, out _));
            int correct = 0;
            foreach (var row in test.Rows)
            {
                using var image = MLImage.CreateFromFile(row.ImagePath);
                var prediction = engine.Predict(new ModelInput { Image = image });
                Assert.Equal(SyntheticImages.ClassNames.Length, prediction.Score.Length);
                correct += prediction.PredictedLabel == row.Label ? 1 : 0;
            }

            // Reported = delivered: an app scoring the files through the zip gets the accuracy Evaluate printed.
            Assert.Equal(metrics.MicroAccuracy, (double)correct / test.Rows.Count, 9);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void FitLabels_NumbersKeysInTheGivenClassOrder()
    {
        using var images = new ImageFolderFixture(12, 33);
        var ml = new MLContext(seed: 1);
        var view = DatasetReaders.ListImageFolder(images.Root).ToDataView(ml);

        var keyed = VisionTransformerPipeline.FitLabels(ml, view, Reversed).Transform(view);

        VBuffer<ReadOnlyMemory<char>> names = default;
        keyed.Schema["Label"].GetKeyValues(ref names);
        Assert.Equal(Reversed, names.DenseValues().Select(n => n.ToString()).ToArray());
    }

    [Fact]
    public void Create_RefusesAChannelCountOtherThanOneOrThree()
    {
        var ml = new MLContext(seed: 1);
        Assert.ThrowsAny<ArgumentException>(() => VisionTransformerPipeline.Create(ml, channels: 2, height: 16, width: 16));
    }
}
