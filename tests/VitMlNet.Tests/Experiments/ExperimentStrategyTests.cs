using Microsoft.ML;
using VitMlNet.Experiments;
using VitMlNet.Modeling;

namespace VitMlNet.Tests.Experiments;

/// <summary>Halving, failures, cancellation, cross-validation and image-file preprocessing, each on tiny data.</summary>
public class ExperimentStrategyTests
{
    private static (MLContext Ml, IDataView Train, IDataView Validation) Data(int train = 36, int validation = 18)
    {
        var ml = new MLContext(seed: 1);
        return (ml, ExperimentTestData.Rows(ml, train, 41), ExperimentTestData.Rows(ml, validation, 42));
    }

    private static VisionTransformerExperiment Experiment(MLContext ml, IDataView train, IDataView validation, int epochs) =>
        new VisionTransformerExperiment(ml, ExperimentTestData.BaseOptions(epochs))
            .SetPreprocessing(ml.Transforms.Conversion.MapValueToKey("Label"))
            .SetDataset(train, validation)
            .SetSearchSpace(ExperimentTestData.Space())
            .SetSeed(9);

    [Fact]
    public void SuccessiveHalvingStopsMostTrialsEarly()
    {
        var (ml, train, validation) = Data();
        var reports = new List<TrialResult>();
        using var result = Experiment(ml, train, validation, epochs: 3)
            .SetStrategy(SearchStrategy.SuccessiveHalving(minEpochs: 1, reductionFactor: 3))
            .SetMaxTrials(6)
            .SetProgress(new SyncProgress<TrialResult>(reports.Add))
            .Run();

        var board = result.Leaderboard;
        Assert.Equal(6, board.Count);
        // Rungs of 1 and 3 epochs; ASHA promotes the top third of the first rung: 2 of 6.
        Assert.Equal(2, board.Count(t => t.Status == TrialStatus.Completed && t.Epochs == 3));
        var stopped = board.Where(t => t.Status == TrialStatus.Stopped).ToList();
        Assert.Equal(4, stopped.Count);
        Assert.All(stopped, t =>
        {
            Assert.Equal(1, t.Epochs);
            Assert.Contains("not promoted", t.Reason, StringComparison.Ordinal);
            Assert.True(double.IsFinite(t.Metric));
        });
        Assert.Same(board[0], result.BestTrial);
        var metrics = ml.MulticlassClassification.Evaluate(result.Model!.Transform(validation));
        Assert.Equal(result.BestTrial!.Metric, metrics.MicroAccuracy, 1e-6);
        // Promoted trials are reported again with the longer run, resumed from their checkpoint (history continues).
        var promoted = board.Where(t => t.Epochs == 3).Select(t => t.TrialId).ToHashSet();
        Assert.All(promoted, id => Assert.Contains(reports, r => r.TrialId == id && r.Status == TrialStatus.Stopped && r.Epochs == 1));
        Assert.All(board.Where(t => t.Epochs == 3), t => Assert.Equal(new[] { 1, 2, 3 }, t.History.Select(h => h.Epoch)));
    }

    [Fact]
    public void AFailingTrialIsRecordedAndTheSweepGoesOn()
    {
        var (ml, train, validation) = Data(24, 12);
        int applied = 0;
        var space = ExperimentTestData.Space();
        space.AfterApply = (options, _) =>
        {
            applied++;
            if (applied == 2) options.Architecture = options.ResolveArchitecture() with { PatchSize = 5 };
            if (applied == 3) throw new InvalidOperationException("hook refused");
        };
        using var result = Experiment(ml, train, validation, epochs: 1).SetSearchSpace(space).SetMaxTrials(4).Run();

        Assert.Equal(4, result.Leaderboard.Count);
        var failed = result.Leaderboard.Where(t => t.Status == TrialStatus.Failed).OrderBy(t => t.TrialId).ToList();
        Assert.Equal(new[] { 2, 3 }, failed.Select(t => t.TrialId));
        Assert.Contains("PatchSize (5) must divide the image size (16x16)", failed[0].Reason, StringComparison.Ordinal);
        Assert.Contains("hook refused", failed[1].Reason, StringComparison.Ordinal);
        Assert.All(failed, t => Assert.True(double.IsNaN(t.Metric) && t.Epochs == 0));
        Assert.Equal(new[] { TrialStatus.Completed, TrialStatus.Completed, TrialStatus.Failed, TrialStatus.Failed }, result.Leaderboard.Select(t => t.Status));
        Assert.NotNull(result.Model);
    }

    [Fact]
    public void CancellationReturnsTheCompletedTrials()
    {
        var (ml, train, validation) = Data(24, 12);
        using var cts = new CancellationTokenSource();
        // Cancel as trial 3 starts: it stops before its first epoch ends and is left out.
        var progress = new SyncProgress<TrialResult>(r =>
        {
            if (r.TrialId == 3 && r.Status == TrialStatus.Running) cts.Cancel();
        });
        using var result = Experiment(ml, train, validation, epochs: 1).SetMaxTrials(10).SetProgress(progress).Run(cts.Token);

        Assert.Equal(ExperimentStopReason.Cancelled, result.StopReason);
        Assert.Equal(new[] { 1, 2 }, result.Leaderboard.Select(t => t.TrialId).Order());
        Assert.All(result.Leaderboard, t => Assert.Equal(TrialStatus.Completed, t.Status));
        Assert.NotNull(result.Model);
    }

    [Fact]
    public void CancellingDuringATrialKeepsItsFinishedEpochsAsStopped()
    {
        var (ml, train, validation) = Data(24, 12);
        using var cts = new CancellationTokenSource();
        var options = ExperimentTestData.BaseOptions(3);
        int epochEnds = 0;
        options.Progress = new SyncProgress<VitMlNet.Training.TrainingProgress>(p =>
        {
            if (p.IsEpochEnd && ++epochEnds == 4) cts.Cancel(); // trial 2, epoch 1
        });
        using var result = new VisionTransformerExperiment(ml, options)
            .SetPreprocessing(ml.Transforms.Conversion.MapValueToKey("Label"))
            .SetDataset(train, validation)
            .SetSearchSpace(ExperimentTestData.Space())
            .SetMaxTrials(5)
            .Run(cts.Token);

        Assert.Equal(ExperimentStopReason.Cancelled, result.StopReason);
        var byId = result.Leaderboard.ToDictionary(t => t.TrialId);
        Assert.Equal(2, byId.Count);
        Assert.Equal((TrialStatus.Completed, 3), (byId[1].Status, byId[1].Epochs));
        Assert.Equal((TrialStatus.Stopped, 1), (byId[2].Status, byId[2].Epochs));
        Assert.Equal("cancelled after 1 of 3 epochs", byId[2].Reason);
    }

    [Fact]
    public void CrossValidationAveragesTheFolds()
    {
        var ml = new MLContext(seed: 1);
        var data = ExperimentTestData.Rows(ml, 36, 43);
        using var result = new VisionTransformerExperiment(ml, ExperimentTestData.BaseOptions(1))
            .SetPreprocessing(ml.Transforms.Conversion.MapValueToKey("Label"))
            .SetCrossValidation(data, folds: 3)
            .SetSearchSpace(ExperimentTestData.Space())
            .SetMetric(ExperimentMetric.MacroAccuracy)
            .SetMaxTrials(2)
            .Run();

        Assert.Equal(2, result.Leaderboard.Count);
        Assert.All(result.Leaderboard, t =>
        {
            Assert.Equal(3, t.FoldMetrics.Count);
            Assert.Equal(t.FoldMetrics.Average(), t.Metric, 1e-12);
            Assert.Equal(t.MacroAccuracy, t.Metric, 1e-12);
        });
        Assert.True(result.Leaderboard[0].Metric >= result.Leaderboard[1].Metric);
    }

    [Fact]
    public void ValidationFractionHoldsOutPartOfTheTrainingData()
    {
        var ml = new MLContext(seed: 1);
        var data = ExperimentTestData.Rows(ml, 30, 44);
        using var result = new VisionTransformerExperiment(ml, ExperimentTestData.BaseOptions(1))
            .SetPreprocessing(ml.Transforms.Conversion.MapValueToKey("Label"))
            .SetDataset(data, validationFraction: 0.2)
            .SetSearchSpace(new SearchSpace().Add(SearchParameterNames.LearningRate, SearchDimension.Choice(1e-3)))
            .SetMaxTrials(1)
            .Run();

        var trial = Assert.Single(result.Leaderboard);
        Assert.Equal(TrialStatus.Completed, trial.Status);
        Assert.Equal(1e-3, trial.Options!.LearningRate);
        Assert.Equal(ViTConfig.Tiny.Depth, trial.Options.Architecture!.Depth);
    }

    [Fact]
    public void ImageFilePipelineSweepSavesAWorkingZip()
    {
        using var trainFiles = new ImageFolderFixture(24, 51);
        using var validFiles = new ImageFolderFixture(12, 52);
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(trainFiles.Rows);
        var validation = ml.Data.LoadFromEnumerable(validFiles.Rows);
        var preprocessing = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"));
        using var result = new VisionTransformerExperiment(ml, ExperimentTestData.BaseOptions(1))
            .SetPreprocessing(preprocessing)
            .SetDataset(train, validation)
            .SetSearchSpace(ExperimentTestData.Space())
            .SetMaxTrials(2)
            .Run();

        var best = result.BestTrial!;
        string path = Path.Combine(Path.GetTempPath(), $"vit-sweep-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(result.Model!, train.Schema, path);
            var loaded = ml.Model.Load(path, out _);
            var metrics = ml.MulticlassClassification.Evaluate(loaded.Transform(validation));
            Assert.Equal(best.Metric, metrics.MicroAccuracy, 1e-6);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ATinyTimeBudgetStopsTheExperimentWithoutThrowing()
    {
        var (ml, train, validation) = Data(24, 12);
        using var result = Experiment(ml, train, validation, epochs: 1).SetTimeBudget(TimeSpan.FromTicks(1)).Run();
        Assert.Equal(ExperimentStopReason.TimeBudget, result.StopReason);
        Assert.All(result.Leaderboard, t => Assert.NotEqual(TrialStatus.Running, t.Status));
        Assert.Equal(result.Model is null, result.BestTrial is null);
    }
}
