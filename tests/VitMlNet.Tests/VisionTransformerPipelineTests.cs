using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Modeling;

namespace VitMlNet.Tests;

public sealed class PipelineFixture : IDisposable
{
    public PipelineFixture()
    {
        Train = new ImageFolderFixture(240, 21);
        Test = new ImageFolderFixture(60, 22);
        Ml = new MLContext(seed: 1);
        var options = new VisionTransformerOptions
        {
            Architecture = ViTConfig.Tiny,
            Epochs = 10,
            BatchSize = 16,
            LearningRate = 2e-3,
            Optimizer = VitOptimizer.AdamW,
            Schedule = VitLearningRateSchedule.WarmupCosine,
            WarmupEpochs = 1,
            EmbeddingColumnName = "Embedding",
            Seed = 3,
        };
        Pipeline = Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(Ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(Ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(Ml.MulticlassClassification.Trainers.VisionTransformer(options))
            .Append(Ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        TrainData = Ml.Data.LoadFromEnumerable(Train.Rows);
        TestData = Ml.Data.LoadFromEnumerable(Test.Rows);
        Model = Pipeline.Fit(TrainData);
    }

    public MLContext Ml { get; }
    public ImageFolderFixture Train { get; }
    public ImageFolderFixture Test { get; }
    public IEstimator<ITransformer> Pipeline { get; }
    public IDataView TrainData { get; }
    public IDataView TestData { get; }
    public ITransformer Model { get; }

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}

public class VisionTransformerPipelineTests : IClassFixture<PipelineFixture>
{
    private readonly PipelineFixture f;

    public VisionTransformerPipelineTests(PipelineFixture fixture) => f = fixture;

    private sealed class PathInput
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    private sealed class Prediction
    {
        public string PredictedLabel { get; set; } = "";
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    [Fact]
    public void TrainedPipelineEvaluatesAboveNinetyPercentWithMlNetsEvaluator()
    {
        var scored = f.Model.Transform(f.TestData);
        var metrics = f.Ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy >= 0.9, $"accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F3}");
        Assert.True(metrics.LogLoss < 0.5, $"log-loss {metrics.LogLoss:F3}");
    }

    [Fact]
    public void OutputColumnsFollowMlNetConventions()
    {
        var schema = f.Model.GetOutputSchema(f.TestData.Schema);
        var score = schema["Score"];
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        score.GetSlotNames(ref slotNames);
        Assert.Equal(new[] { "top", "left", "diagonal" }.OrderBy(x => x), slotNames.DenseValues().Select(v => v.ToString()).OrderBy(x => x));
        Assert.Equal(TextDataViewType.Instance, schema["PredictedLabel"].Type);
        // ONNX outputs keep their [1, dim] shape in ML.NET; the vector size is what downstream trainers use.
        var embedding = Assert.IsType<VectorDataViewType>(schema["Embedding"].Type);
        Assert.Equal(NumberDataViewType.Single, embedding.ItemType);
        Assert.Equal(ViTConfig.Tiny.Dim, embedding.Size);
    }

    [Fact]
    public void SavedZipLoadsInAFreshContextAndScoresIdentically()
    {
        string zip = Path.Combine(Path.GetTempPath(), "vit-pipeline-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            f.Ml.Model.Save(f.Model, f.TrainData.Schema, zip);
            var fresh = new MLContext(seed: 5);
            var loaded = fresh.Model.Load(zip, out var inputSchema);
            Assert.NotNull(inputSchema.GetColumnOrNull("ImagePath"));
            var before = ScoresOf(f.Model.Transform(f.TestData));
            var after = ScoresOf(loaded.Transform(fresh.Data.LoadFromEnumerable(f.Test.Rows)));
            Assert.Equal(before.Count, after.Count);
            for (int i = 0; i < before.Count; i++)
            {
                Assert.Equal(before[i].Label, after[i].Label);
                Assert.Equal(before[i].Score, after[i].Score);
            }

            var engine = fresh.Model.CreatePredictionEngine<PathInput, Prediction>(loaded);
            for (int i = 0; i < 10; i++)
            {
                var p = engine.Predict(new PathInput { ImagePath = f.Test.Rows[i].ImagePath });
                Assert.Equal(before[i].Label, p.PredictedLabel);
                Assert.Equal(before[i].Score, p.Score);
            }
        }
        finally
        {
            File.Delete(zip);
        }
    }

    private static List<(string Label, float[] Score)> ScoresOf(IDataView scored)
    {
        var rows = new List<(string, float[])>();
        using var cursor = scored.GetRowCursor(new[] { scored.Schema["PredictedLabel"], scored.Schema["Score"] });
        var label = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["PredictedLabel"]);
        var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        while (cursor.MoveNext())
        {
            ReadOnlyMemory<char> l = default;
            VBuffer<float> s = default;
            label(ref l);
            score(ref s);
            rows.Add((l.ToString(), s.DenseValues().ToArray()));
        }
        return rows;
    }
}
