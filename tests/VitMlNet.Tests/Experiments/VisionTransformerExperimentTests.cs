using Microsoft.ML;
using VitMlNet.Experiments;

namespace VitMlNet.Tests.Experiments;

/// <summary>One 4-trial random sweep optimizing log-loss on in-memory pixels, shared by the assertions below.</summary>
public sealed class RandomSweepFixture : IDisposable
{
    public RandomSweepFixture()
    {
        Ml = new MLContext(seed: 1);
        Train = ExperimentTestData.Rows(Ml, 48, 31);
        Validation = ExperimentTestData.Rows(Ml, 24, 32);
        Result = new VisionTransformerExperiment(Ml, ExperimentTestData.BaseOptions(epochs: 2))
            .SetPreprocessing(Ml.Transforms.Conversion.MapValueToKey("Label"))
            .SetDataset(Train, Validation)
            .SetMetric(ExperimentMetric.LogLoss)
            .SetSearchSpace(ExperimentTestData.Space())
            .SetMaxTrials(4)
            .SetTimeBudget(TimeSpan.FromMinutes(5))
            .SetSeed(3)
            .SetProgress(new SyncProgress<TrialResult>(Reports.Add))
            .Run();
    }

    public MLContext Ml { get; }

    public IDataView Train { get; }

    public IDataView Validation { get; }

    public ExperimentResult Result { get; }

    public List<TrialResult> Reports { get; } = new();

    public void Dispose() => Result.Dispose();
}

public class VisionTransformerExperimentTests : IClassFixture<RandomSweepFixture>
{
    private readonly RandomSweepFixture f;

    public VisionTransformerExperimentTests(RandomSweepFixture fixture) => f = fixture;

    [Fact]
    public void FourTrialRandomSweepFinishes()
    {
        Assert.Equal(ExperimentStopReason.TrialLimit, f.Result.StopReason);
        Assert.Equal(4, f.Result.Leaderboard.Count);
        Assert.Equal(new[] { 1, 2, 3, 4 }, f.Result.Leaderboard.Select(t => t.TrialId).Order());
        Assert.All(f.Result.Leaderboard, t =>
        {
            Assert.Equal(TrialStatus.Completed, t.Status);
            Assert.Equal(2, t.Epochs);
            Assert.Equal(2, t.History.Count);
            Assert.True(double.IsFinite(t.Metric) && t.Metric > 0, t.ToString());
            Assert.Equal(t.LogLoss, t.Metric);
            Assert.True(t.Seconds > 0);
            Assert.NotNull(t.Options);
        });
        Assert.Equal(new[] { "diagonal", "left", "top" }, f.Result.ClassNames.Order());
    }

    [Fact]
    public void LeaderboardIsSortedBestFirstAndTheBestTrialIsItsTop()
    {
        var metrics = f.Result.Leaderboard.Select(t => t.Metric).ToArray();
        Assert.Equal(metrics.Order(), metrics); // log-loss: lower is better
        Assert.Same(f.Result.Leaderboard[0], f.Result.BestTrial);
        Assert.NotNull(f.Result.Model);
    }

    [Fact]
    public void BestModelEvaluatesToItsLeaderboardMetric()
    {
        var best = f.Result.BestTrial!;
        var metrics = f.Ml.MulticlassClassification.Evaluate(f.Result.Model!.Transform(f.Validation));
        Assert.Equal(best.Metric, metrics.LogLoss, 1e-6);
        Assert.Equal(best.MicroAccuracy, metrics.MicroAccuracy, 1e-6);
        Assert.Equal(best.MacroAccuracy, metrics.MacroAccuracy, 1e-6);
    }

    [Fact]
    public void TrialOptionsReflectTheSampledValues()
    {
        foreach (var t in f.Result.Leaderboard)
        {
            var o = t.Options!;
            Assert.Equal(t.Parameters.GetDouble(SearchParameterNames.LearningRate), o.LearningRate);
            Assert.Equal(t.Parameters.GetInt32(SearchParameterNames.Depth), o.Architecture!.Depth);
            Assert.Equal(t.Parameters.GetInt32(SearchParameterNames.Dim), o.Architecture.Dim);
            Assert.Contains(o.Architecture.PatchSize, new[] { 4, 8 });
            Assert.Equal((3, 16, 16, 3), (o.Architecture.Channels, o.Architecture.ImageHeight, o.Architecture.ImageWidth, o.Architecture.NumClasses));
            Assert.Contains("LearningRate=", t.Summary, StringComparison.Ordinal);
        }
        Assert.Equal(f.Result.BestTrial!.Options!.Architecture, f.Result.VisionTransformer!.Architecture);
    }

    [Fact]
    public void ProgressReportsEveryTrialStartAndEnd()
    {
        Assert.Equal(8, f.Reports.Count);
        Assert.Equal(4, f.Reports.Count(r => r.Status == TrialStatus.Running));
        Assert.Equal(4, f.Reports.Count(r => r.Status == TrialStatus.Completed));
        Assert.Equal(new[] { 1, 1, 2, 2, 3, 3, 4, 4 }, f.Reports.Select(r => r.TrialId));
    }

    [Fact]
    public void BestModelSavesLoadsAndPredicts()
    {
        using var stream = new MemoryStream();
        f.Ml.Model.Save(f.Result.Model!, f.Train.Schema, stream);
        stream.Position = 0;
        var loaded = f.Ml.Model.Load(stream, out _);
        var before = f.Ml.MulticlassClassification.Evaluate(f.Result.Model!.Transform(f.Validation));
        var after = f.Ml.MulticlassClassification.Evaluate(loaded.Transform(f.Validation));
        Assert.Equal(before.LogLoss, after.LogLoss, 1e-9);
        var engine = f.Ml.Model.CreatePredictionEngine<PixelRow, PixelPrediction>(loaded);
        var row = f.Ml.Data.CreateEnumerable<PixelRow>(f.Validation, reuseRowObject: false).First();
        var prediction = engine.Predict(row);
        Assert.Equal(3, prediction.Score.Length);
        Assert.Equal(1f, prediction.Score.Sum(), 1e-4);
        Assert.InRange(prediction.PredictedLabel, 1u, 3u);
    }

    [Fact]
    public void LeaderboardCsvHasAHeaderAndOneRowPerTrial()
    {
        using var writer = new StringWriter();
        f.Result.WriteLeaderboardCsv(writer);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("rank,trial,status,metric", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"1,{f.Result.BestTrial!.TrialId},Completed,", lines[1], StringComparison.Ordinal);
    }
}
