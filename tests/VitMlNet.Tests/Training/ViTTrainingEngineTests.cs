using System.Diagnostics;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Training;
using static TorchSharp.torch;

namespace VitMlNet.Tests.Training;

public class ViTTrainingEngineTests
{
    private static ImageCache Cache(int count, int seed, int channels = 3)
    {
        var (pixels, labels) = SyntheticImages.Make(count, seed, channels);
        return ImageCache.FromBytes(pixels, labels, channels, 16, 16, 3);
    }

    private static VisionTransformerOptions Options(int epochs) => new()
    {
        Architecture = ViTConfig.Tiny,
        Epochs = epochs,
        BatchSize = 16,
        LearningRate = 2e-3,
        Seed = 7,
        ProgressEverySteps = 0,
    };

    private static ViTConfig Config(int channels = 3) => ViTConfig.Tiny.WithInput(channels, 16, 16, 3);

    private static float[] Weights(VisionTransformer model) =>
        model.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray()).ToArray();

    [Fact]
    public void TinyVitLearnsATinyTask()
    {
        using var train = Cache(300, 1);
        using var test = Cache(90, 2);
        var options = Options(10);
        options.Optimizer = VisionTransformerOptimizer.AdamW;
        options.Schedule = VisionTransformerLearningRateSchedule.WarmupCosine;
        options.WarmupEpochs = 1;
        var engine = new ViTTrainingEngine(options, Config());
        using var result = engine.Train(train, test);
        var last = result.History[^1];
        Assert.True(last.Loss < result.History[0].Loss, $"loss did not fall: {result.History[0].Loss} -> {last.Loss}");
        Assert.True(last.ValidationAccuracy >= 0.9, $"validation accuracy {last.ValidationAccuracy}");
        using var mean = torch.tensor(ViTConfig.Tiny.Mean.ToArray()).reshape(1, -1, 1, 1);
        using var std = torch.tensor(ViTConfig.Tiny.Std.ToArray()).reshape(1, -1, 1, 1);
        var (_, accuracy) = engine.Evaluate(result.Model, test, mean, std, torch.CPU);
        Assert.True(accuracy >= 0.9, $"returned model accuracy {accuracy}");
    }

    [Fact]
    public void GrayImagesTrain()
    {
        using var train = Cache(60, 3, channels: 1);
        using var result = new ViTTrainingEngine(Options(1), Config(1)).Train(train);
        Assert.Single(result.History);
        Assert.True(double.IsFinite(result.History[0].Loss));
    }

    [Fact]
    public void SameSeedGivesIdenticalWeights()
    {
        using var train = Cache(48, 4);
        var options = Options(2);
        options.Augmentation = new AugmentationOptions { RandomCropPadding = 2, HorizontalFlip = true, RandomErasingProbability = 0.5, MixupAlpha = 0.2, CutMixAlpha = 1.0 };
        var config = Config() with { Dropout = 0.1, DropPathRate = 0.1 };
        using var a = new ViTTrainingEngine(options, config).Train(train);
        using var b = new ViTTrainingEngine(options, config).Train(train);
        Assert.Equal(Weights(a.Model), Weights(b.Model));
        options.Seed = 8;
        using var c = new ViTTrainingEngine(options, config).Train(train);
        Assert.NotEqual(Weights(a.Model), Weights(c.Model));
    }

    [Fact]
    public void ResumingFromACheckpointGivesTheSameWeightsAsAnUninterruptedRun()
    {
        using var train = Cache(48, 5);
        using var valid = Cache(15, 6);
        string dir = Path.Combine(Path.GetTempPath(), "vit-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            VisionTransformerOptions Make(int epochs) => new()
            {
                Architecture = ViTConfig.Tiny with { Dropout = 0.1 },
                Epochs = epochs,
                BatchSize = 16,
                Optimizer = VisionTransformerOptimizer.AdamW,
                Schedule = VisionTransformerLearningRateSchedule.WarmupCosine,
                WarmupEpochs = 1,
                EmaDecay = 0.9,
                LearningRate = 2e-3,
                Augmentation = new AugmentationOptions { RandomCropPadding = 1, MixupAlpha = 0.4 },
                ProgressEverySteps = 0,
            };
            var config = Config() with { Dropout = 0.1 };
            using var full = new ViTTrainingEngine(Make(3), config).Train(train, valid);

            var first = Make(3);
            first.CheckpointDirectory = dir;
            using var cts = new CancellationTokenSource();
            first.CancellationToken = cts.Token;
            first.Progress = new SyncProgress<TrainingProgress>(p => { if (p.IsEpochEnd && p.Epoch == 1) cts.Cancel(); });
            using (var partial = new ViTTrainingEngine(first, config).Train(train, valid))
            {
                Assert.True(partial.Cancelled);
                Assert.Single(partial.History);
            }
            Assert.True(Checkpoint.Exists(dir));

            var resume = Make(3);
            resume.CheckpointDirectory = dir;
            resume.ResumeFromCheckpoint = true;
            using var resumed = new ViTTrainingEngine(resume, config).Train(train, valid);
            Assert.Equal(3, resumed.History.Count);
            Assert.Equal(full.History.Select(h => h.Loss), resumed.History.Select(h => h.Loss));
            Assert.Equal(Weights(full.Model), Weights(resumed.Model));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void LiveTensorCountAndProcessMemoryStayFlatOverEpochs()
    {
        using var train = Cache(64, 9);
        using var valid = Cache(16, 10);
        var live = new List<long>();
        var rss = new List<long>();
        var options = Options(8);
        options.EmaDecay = 0.9;
        options.Augmentation = new AugmentationOptions { RandomCropPadding = 2, RandomErasingProbability = 0.5, CutMixAlpha = 1 };
        options.Progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (!p.IsEpochEnd) return;
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            using var process = Process.GetCurrentProcess();
            rss.Add(process.WorkingSet64);
        });
        using (var result = new ViTTrainingEngine(options, Config()).Train(train, valid))
        {
            Assert.Equal(8, live.Count);
        }
        // After the first epoch (optimizer state, best-weight snapshot) nothing accumulates.
        Assert.All(live.Skip(1), n => Assert.Equal(live[1], n));
        long growth = rss[^1] - rss[1];
        Assert.True(growth < 48L << 20, $"RSS grew {growth >> 20} MB between epoch 2 and 8: {string.Join(", ", rss.Select(r => r >> 20))} MB");
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndLeavesAUsableModel()
    {
        using var train = Cache(96, 11);
        using var cts = new CancellationTokenSource();
        var options = Options(5);
        options.ProgressEverySteps = 2;
        options.CancellationToken = cts.Token;
        int reports = 0;
        options.Progress = new SyncProgress<TrainingProgress>(p => { if (++reports == 1) cts.Cancel(); });
        using var result = new ViTTrainingEngine(options, Config()).Train(train);
        Assert.True(result.Cancelled);
        Assert.Empty(result.History);
        using var x = torch.rand(2, 3, 16, 16);
        using var logits = result.Model.forward(x);
        Assert.False(logits.isnan().any().item<bool>());
    }

    [Fact]
    public void TimeBudgetEndsTrainingInTimeWithTheScheduleRunDown()
    {
        using var train = Cache(96, 11);
        using var valid = Cache(15, 13);
        var options = Options(10_000);
        options.Schedule = VisionTransformerLearningRateSchedule.WarmupCosine;
        options.WarmupEpochs = 1;
        options.TimeBudget = TimeSpan.FromSeconds(4);
        options.ProgressEverySteps = 1;
        var stepRates = new List<double>();
        options.Progress = new SyncProgress<TrainingProgress>(p => { if (!p.IsEpochEnd) stepRates.Add(p.LearningRate); });
        var clock = Stopwatch.StartNew();
        using var result = new ViTTrainingEngine(options, Config()).Train(train, valid);
        double seconds = clock.Elapsed.TotalSeconds;

        Assert.True(result.TimeBudgetSpent);
        Assert.False(result.Cancelled);
        Assert.InRange(result.History.Count, 2, 9_999);
        Assert.InRange(seconds, 4, 4 + 3);                    // stops at the first step after the budget (plus one validation)
        Assert.True(result.History[^1].LearningRate < 0.05 * options.LearningRate,
            $"last learning rate {result.History[^1].LearningRate:G3}: the cosine should have run down with the clock");
        int peak = stepRates.IndexOf(stepRates.Max());
        for (int i = peak + 1; i < stepRates.Count; i++) Assert.True(stepRates[i] <= stepRates[i - 1] + 1e-12, $"rate rose at step report {i}");
        Assert.NotNull(result.History[^1].ValidationAccuracy);
    }

    [Fact]
    public void AResumedRunCountsTheTimeSpentBeforeTheCheckpointAgainstItsBudget()
    {
        using var train = Cache(48, 12);
        string dir = Path.Combine(Path.GetTempPath(), "vit-budget-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = Options(2);
            first.CheckpointDirectory = dir;
            var clock = Stopwatch.StartNew();
            using (var run = new ViTTrainingEngine(first, Config()).Train(train)) Assert.Equal(2, run.History.Count);
            double recorded = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "state.json"))).RootElement.GetProperty("Seconds").GetDouble();
            Assert.InRange(recorded, 1e-3, clock.Elapsed.TotalSeconds);

            // A budget smaller than the time already spent: the resumed run trains no further epoch.
            var resume = Options(5);
            resume.CheckpointDirectory = dir;
            resume.ResumeFromCheckpoint = true;
            resume.TimeBudget = TimeSpan.FromSeconds(recorded / 2);
            using var resumed = new ViTTrainingEngine(resume, Config()).Train(train);
            Assert.True(resumed.TimeBudgetSpent);
            Assert.Equal(2, resumed.History.Count);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AnUnspentTimeBudgetLeavesTheEpochsInCharge()
    {
        using var train = Cache(48, 12);
        var options = Options(2);
        using var plain = new ViTTrainingEngine(options, Config()).Train(train);
        options.TimeBudget = TimeSpan.FromHours(1);
        using var budgeted = new ViTTrainingEngine(options, Config()).Train(train);
        Assert.False(budgeted.TimeBudgetSpent);
        Assert.Equal(2, budgeted.History.Count);
        Assert.Equal(Weights(plain.Model), Weights(budgeted.Model)); // constant schedule: the clock changes nothing
    }

    [Fact]
    public void EarlyStoppingStopsWhenValidationStallsAndKeepsTheBestEpoch()
    {
        using var train = Cache(48, 12);
        using var valid = Cache(15, 13);
        var options = Options(6);
        options.LearningRate = 1e-12;
        options.EarlyStoppingPatience = 2;
        using var result = new ViTTrainingEngine(options, Config()).Train(train, valid);
        Assert.True(result.EarlyStopped);
        Assert.Equal(3, result.History.Count);
        Assert.Equal(1, result.BestEpoch);
    }

    [Fact]
    public void DistillationTrainsBothHeadsFromTeacherLabels()
    {
        var (pixels, labels) = SyntheticImages.Make(48, 14);
        using var train = ImageCache.FromBytes(pixels, labels, 3, 16, 16, 3, teacherLabels: labels.Select(l => (l + 1) % 3).ToArray());
        var options = Options(3);
        var config = Config() with { DistillationToken = true };
        options.Architecture = config;
        options.TeacherColumnName = "Teacher";
        using var result = new ViTTrainingEngine(options, config).Train(train);
        Assert.True(result.History[^1].Loss < result.History[0].Loss);
    }

    [Fact]
    public void ValidationFractionSplitIsStratifiedAndSeeded()
    {
        using var data = Cache(90, 15);
        var (train, valid) = data.Split(0.2, 3);
        using (train)
        using (valid)
        {
            Assert.Equal(new[] { 24, 24, 24 }, train.ClassCounts());
            Assert.Equal(new[] { 6, 6, 6 }, valid.ClassCounts());
        }
    }

    [Fact]
    public void InvalidOptionsListEveryBadField()
    {
        var options = new VisionTransformerOptions { Epochs = 0, BatchSize = -1, LearningRate = 0, LabelSmoothing = 1.5, Preset = "huge", TimeBudget = TimeSpan.Zero };
        var e = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Contains("Epochs must be positive (actual 0)", e.Message);
        Assert.Contains("BatchSize must be positive (actual -1)", e.Message);
        Assert.Contains("LearningRate must be positive (actual 0)", e.Message);
        Assert.Contains("LabelSmoothing must be in [0, 1) (actual 1.5)", e.Message);
        Assert.Contains("Preset must be auto or one of", e.Message);
        Assert.Contains("TimeBudget must be positive (actual 00:00:00)", e.Message);
    }
}
