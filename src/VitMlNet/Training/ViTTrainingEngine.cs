using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// Trains a <see cref="VisionTransformer"/> on an <see cref="ImageCache"/>: seeded shuffling, batched
/// normalization and augmentation, Adam/AdamW with warmup + cosine, gradient clipping, label smoothing,
/// Mixup/CutMix, EMA, per-epoch validation with early stopping and best-weight keeping, a wall-clock time budget, checkpoints,
/// progress and cancellation. One dispose scope per step keeps memory flat.
/// </summary>
internal sealed class ViTTrainingEngine
{
    private readonly VisionTransformerOptions options;
    private readonly ViTConfig config;

    /// <summary>Creates an engine for an architecture already adapted to the data (input size and classes).</summary>
    /// <exception cref="ArgumentException">Invalid options or architecture, listing every problem.</exception>
    public ViTTrainingEngine(VisionTransformerOptions options, ViTConfig config)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(config);
        options.Validate();
        config.Validate();
        if (options.FreezeStem && config.Stem != ViTStem.ResNet18)
            throw new ArgumentException($"FreezeStem needs an architecture with the ResNet18 stem (actual stem {config.Stem}).");
        if (options.StemTrainLastBlocks > 0)
            _ = ResNetStem.LastBlockPrefixes(config, options.StemTrainLastBlocks); // throws when the last stage has fewer blocks
        if (options.Teacher != VisionTransformerTeacher.None && !config.DistillationToken)
            throw new ArgumentException($"Teacher {options.Teacher} needs an architecture with DistillationToken = true (actual '{config.Name}' has none).");
        this.options = options;
        this.config = config;
    }

    /// <summary>
    /// The one way VitMlNet trains, for <see cref="VisionTransformerTrainer.Fit"/> and the experiment's folds alike:
    /// starts from <see cref="VisionTransformerOptions.InitialModel"/> when there is one and
    /// <paramref name="fromInitialModel"/> (a run resuming its checkpoint does not), else from fresh weights, and trains.
    /// Returns the result and the architecture trained (the initial model's, when it gave the weights).
    /// </summary>
    internal static (TrainingResult Result, ViTConfig Config) Run(VisionTransformerOptions options, ViTConfig config,
        ImageCache train, ImageCache? validation, bool fromInitialModel = true)
    {
        VisionTransformer? initial = null;
        if (options.InitialModel is not null && fromInitialModel)
        {
            initial = InitialWeights.Load(options.InitialModel, config, options.Seed);
            config = initial.Config;
        }
        try
        {
            return (new ViTTrainingEngine(options, config).Train(train, validation, initial), config);
        }
        catch
        {
            initial?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Trains and returns the model. <paramref name="initialModel"/>, when given, provides the starting
    /// weights and is trained in place (the result then owns it).
    /// </summary>
    public TrainingResult Train(ImageCache train, ImageCache? validation = null, VisionTransformer? initialModel = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckGeometry(train);
        if (options.Threads is int threads) torch.set_num_threads(threads);
        NativeAllocator.Configure();
        using var run = Start(train, initialModel);
        using var evaluation = EpochEvaluation.Create(this, run, validation);
        var (state, best) = Resume(run, validation);
        bool cancelled = false, earlyStopped = false;
        try
        {
            for (int epoch = state.EpochsDone + 1; epoch <= options.Epochs; epoch++)
            {
                if (options.CancellationToken.IsCancellationRequested) { cancelled = true; break; }
                if (run.Clock.Spent) break;
                var summary = RunEpoch(run, epoch);
                if (summary is null) { cancelled = true; break; }
                summary = evaluation.Measure(run.EvalModel, summary);
                if (summary.ValidationAccuracy is not null) best.Track(state, summary, run.EvalModel);
                else state.BestEpoch = epoch;
                EndEpoch(run, state, best, summary);
                if (options.EarlyStoppingPatience > 0 && state.EpochsWithoutImprovement >= options.EarlyStoppingPatience)
                {
                    earlyStopped = true;
                    break;
                }
            }
            // Whatever else ended the run, a spent budget (a partial last epoch, or no epoch at all after a resume) says so.
            bool budgetSpent = !cancelled && !earlyStopped && run.Clock.Spent;
            int returnedEpoch = Finish(run, state, best, validation is not null);
            return new TrainingResult(run.Model, state.History.ToArray(), returnedEpoch, cancelled, earlyStopped, budgetSpent);
        }
        finally
        {
            best.Dispose();
        }
    }

    private void CheckGeometry(ImageCache train)
    {
        if (train.Channels != config.Channels || train.Height != config.ImageHeight || train.Width != config.ImageWidth)
        {
            throw new ArgumentException(
                $"Training images are {train.Channels}x{train.Height}x{train.Width} but the architecture expects {config.Channels}x{config.ImageHeight}x{config.ImageWidth}.");
        }
    }

    /// <summary>
    /// Everything a run trains with: the model on its device, the optimizer, the normalization, the teacher and its
    /// distillation targets, the cached stem features, the schedule, the weight average and the clock.
    /// </summary>
    private TrainingRun Start(ImageCache train, VisionTransformer? initialModel)
    {
        var device = torch.device(options.Device);
        torch.manual_seed(options.Seed);
        var model = initialModel ?? CreateModel();
        model.to(device);
        FreezeStem(model);
        var run = new TrainingRun { Model = model, Train = train, Device = device, Augmenter = new BatchAugmenter(options.Augmentation) };
        try
        {
            run.Optimizer = CreateOptimizer(model);
            run.Mean = torch.tensor(config.Mean.ToArray(), device: device).reshape(1, -1, 1, 1);
            run.Std = torch.tensor(config.Std.ToArray(), device: device).reshape(1, -1, 1, 1);
            run.TeacherModel = CreateTeacher(train, device, run.Mean, run.Std);
            run.Teacher = run.TeacherModel is { SharesStudentStem: false } ? run.TeacherModel : null;
            run.Features = options.StemFeatureViews > 0
                ? StemFeatureCache.Build(model, options.StemTrainLastBlocks, train.Count, options.StemFeatureViews, options.Seed, train.TeacherLabels is not null || run.Teacher is not null,
                    (idx, augment, generator, random) => Batch(train, idx, device, run.Mean, run.Std, run.Augmenter, generator, random, augment, run.Teacher))
                : null;
            SetDistillationTargets(run);
            run.Count = run.Features?.Count ?? train.Count;
            run.BatchSize = Math.Min(options.BatchSize, run.Count);
            run.StepsPerEpoch = (run.Count + run.BatchSize - 1) / run.BatchSize;
            run.Schedule = new LearningRateSchedule(options.Schedule, options.LearningRate, options.MinLearningRate,
                (long)Math.Round(options.WarmupEpochs * run.StepsPerEpoch), (long)run.StepsPerEpoch * options.Epochs);
            run.Ema = options.EmaDecay > 0 ? new ModelEma(model, options.EmaDecay) : null;
            return run;
        }
        catch
        {
            run.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Distillation targets of a teacher that reads the student's cached stem maps: its head is fitted on the images
    /// themselves (view 0), then it labels every cached view. Teachers with their own network label each batch instead.
    /// </summary>
    private void SetDistillationTargets(TrainingRun run)
    {
        if (run.TeacherModel is not { SharesStudentStem: true } teacher) return;
        var features = run.Features!;
        int count = run.Train.Count;
        using (var scope = torch.NewDisposeScope())
            teacher.Fit(ResNet18Teacher.Pool(features.Maps.narrow(0, 0, count)), features.Labels.narrow(0, 0, count), config.NumClasses);
        features.SetTeacherTargets(maps => TeacherTargets(teacher.Logits(ResNet18Teacher.Pool(maps))));
    }

    /// <summary>The run's progress so far: a fresh state, or the checkpoint's when resuming (weights, optimizer, EMA and best weights restored).</summary>
    private (CheckpointState State, BestWeights Best) Resume(TrainingRun run, ImageCache? validation)
    {
        var state = Checkpoint.NewState(options, config, run.Train, validation);
        var best = new BestWeights(options.KeepBestWeights);
        if (options.ResumeFromCheckpoint && Checkpoint.Exists(options.CheckpointDirectory!))
        {
            state = Checkpoint.Load(options.CheckpointDirectory!, run.Model, run.Optimizer, run.Ema?.Model, expected: state);
            if (run.Ema is not null) run.Ema.Updates = state.EmaUpdates;
            if (state.HasBest) best.Set(Checkpoint.LoadBest(options.CheckpointDirectory!, run.Model));
        }
        run.Clock = new TrainingClock(options.TimeBudget, state);
        return (state, best);
    }

    /// <summary>Epoch reporting: records the summary, reports it as progress, and writes the checkpoint.</summary>
    private void EndEpoch(TrainingRun run, CheckpointState state, BestWeights best, EpochSummary summary)
    {
        state.EpochsDone = summary.Epoch;
        state.History.Add(summary);
        run.Clock.SaveTo(state);
        options.Progress?.Report(new TrainingProgress(IsEpochEnd: true, summary.Epoch, options.Epochs, run.StepsPerEpoch, run.StepsPerEpoch,
            summary.Loss, summary.TrainAccuracy, summary.ValidationLoss, summary.ValidationAccuracy, summary.LearningRate, summary.ImagesPerSecond, run.Clock.Elapsed)
        {
            EvaluationAccuracy = summary.EvaluationAccuracy,
            Warning = CollapseWarning(summary, config.NumClasses),
        });
        state.EmaUpdates = run.Ema?.Updates ?? 0;
        if (options.CheckpointDirectory is not null)
            Checkpoint.TrySave(options.CheckpointDirectory, state, run.Model, run.Optimizer, run.Ema?.Model, best.Weights, options.Log);
    }

    /// <summary>
    /// The weights the run returns, in <see cref="TrainingRun.Model"/> (eval mode): the averaged ones with EMA, the best
    /// validation epoch's when kept, else the last. Returns the epoch they come from.
    /// </summary>
    private int Finish(TrainingRun run, CheckpointState state, BestWeights best, bool validated)
    {
        if (run.Ema is not null) Restore(run.Model, run.Ema.Model.NamedState().ToDictionary(p => p.Name, p => p.Tensor));
        int returnedEpoch = state.EpochsDone;
        if (best.Weights is not null && options.KeepBestWeights && validated)
        {
            Restore(run.Model, best.Weights);
            returnedEpoch = state.BestEpoch;
        }
        run.Model.eval();
        return returnedEpoch;
    }

    /// <summary>
    /// A warning when an epoch's evaluation-mode accuracy is near chance while its training accuracy is not, or (on
    /// training images) far below it: the model learned something that evaluation (no augmentation, no dropout, running
    /// statistics) does not see. Null otherwise.
    /// </summary>
    internal static string? CollapseWarning(EpochSummary summary, int classes) =>
        summary.EvaluationAccuracy is double eval
        && SelfCheckRules.Collapsed(summary.TrainAccuracy, eval, 1.0 / classes, onTrainingImages: summary.ValidationAccuracy is null)
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture,
                "epoch {0}: evaluation-mode accuracy {1:F4} is far below the training accuracy {2:F4} (chance {3:F2}): {4}",
                summary.Epoch, eval, summary.TrainAccuracy, 1.0 / classes, SelfCheckRules.Hint)
            : null;

    /// <summary>Loss and accuracy of <paramref name="model"/> on <paramref name="data"/> (eval mode, batches of 256).</summary>
    public (double Loss, double Accuracy) Evaluate(VisionTransformer model, ImageCache data, Tensor mean, Tensor std, Device device)
    {
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long correct = 0;
        using (torch.no_grad())
        {
            for (long start = 0; start < data.Count; start += 256)
            {
                using var scope = torch.NewDisposeScope();
                long n = Math.Min(256, data.Count - start);
                var x = Normalize(data.Images.narrow(0, start, n).to(device), mean, std);
                var y = data.Labels.narrow(0, start, n).to(device);
                var logits = model.forward(x);
                lossSum += torch.nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(y).sum().item<long>();
            }
        }
        model.train(wasTraining);
        return (lossSum / data.Count, (double)correct / data.Count);
    }

    /// <summary>
    /// What every epoch of one run shares: the model and its optimizer, the schedule, the data and its normalization.
    /// Disposes what it made (optimizer, normalization, teacher, cached features, EMA), not the model.
    /// </summary>
    private sealed class TrainingRun : IDisposable
    {
        public required VisionTransformer Model { get; init; }
        public required ImageCache Train { get; init; }
        public required Device Device { get; init; }
        public required BatchAugmenter Augmenter { get; init; }
        public optim.Optimizer Optimizer { get; set; } = null!;
        public Tensor Mean { get; set; } = null!;
        public Tensor Std { get; set; } = null!;
        /// <summary>The teacher, whichever labels it reads.</summary>
        public ResNet18Teacher? TeacherModel { get; set; }
        /// <summary>The teacher when it has its own network and labels each batch; null when it reads the cached maps.</summary>
        public ResNet18Teacher? Teacher { get; set; }
        public StemFeatureCache? Features { get; set; }
        public ModelEma? Ema { get; set; }
        public LearningRateSchedule Schedule { get; set; } = null!;
        public TrainingClock Clock { get; set; } = null!;
        public int Count { get; set; }
        public int BatchSize { get; set; }
        public int StepsPerEpoch { get; set; }

        /// <summary>The weights that validation, evaluation and best-weight keeping see: the average with EMA, else the model.</summary>
        public VisionTransformer EvalModel => Ema?.Model ?? Model;

        public void Dispose()
        {
            Ema?.Dispose();
            Features?.Dispose();
            TeacherModel?.Dispose();
            Std?.Dispose();
            Mean?.Dispose();
            Optimizer?.Dispose();
        }
    }

    /// <summary>
    /// Evaluation-mode accuracy at every epoch's end (no augmentation, no dropout, running statistics): on the validation
    /// data when there is some (with its loss, for best-epoch keeping and early stopping), else on a fixed stratified
    /// sample of the training images (<see cref="SelfCheckRules.SampleSize"/>), read from the cached stem maps of the images
    /// themselves when the run caches them.
    /// </summary>
    private sealed class EpochEvaluation : IDisposable
    {
        private readonly ViTTrainingEngine engine;
        private readonly TrainingRun run;
        private readonly ImageCache? validation;
        private readonly ImageCache? sample;
        private readonly Tensor? sampleIndices;

        private EpochEvaluation(ViTTrainingEngine engine, TrainingRun run, ImageCache? validation, ImageCache? sample, Tensor? sampleIndices)
        {
            (this.engine, this.run, this.validation, this.sample, this.sampleIndices) = (engine, run, validation, sample, sampleIndices);
        }

        public static EpochEvaluation Create(ViTTrainingEngine engine, TrainingRun run, ImageCache? validation)
        {
            if (validation is { Count: > 0 }) return new EpochEvaluation(engine, run, validation, null, null);
            var train = run.Train;
            int size = run.Features is null ? SelfCheckRules.SampleSize(train.Count, train.Height, train.Width) : Math.Min(512, train.Count);
            var indices = Data.ImageSources.SampleIndices(train.Labels.data<long>().Select(l => (int)l).ToArray(), train.NumClasses, size,
                engine.options.Seed).Select(i => (long)i).ToArray();
            return run.Features is null
                ? new EpochEvaluation(engine, run, null, train.Subset(indices), null)
                : new EpochEvaluation(engine, run, null, null, torch.tensor(indices, dtype: ScalarType.Int64));
        }

        /// <summary>The summary with the epoch's evaluation-mode figures.</summary>
        public EpochSummary Measure(VisionTransformer model, EpochSummary summary)
        {
            if (validation is not null)
            {
                var (loss, accuracy) = engine.Evaluate(model, validation, run.Mean, run.Std, run.Device);
                return summary with { ValidationLoss = loss, ValidationAccuracy = accuracy, EvaluationAccuracy = accuracy };
            }
            if (sample is not null)
                return summary with { EvaluationAccuracy = engine.Evaluate(model, sample, run.Mean, run.Std, run.Device).Accuracy };
            return summary with { EvaluationAccuracy = FromStemMaps(model) };
        }

        /// <summary>Accuracy on the sample's cached stem maps (view 0: the images themselves).</summary>
        private double FromStemMaps(VisionTransformer model)
        {
            bool wasTraining = model.training;
            model.eval();
            try
            {
                using var noGrad = torch.no_grad();
                long correct = 0;
                foreach (var idx in sampleIndices!.split(256))
                {
                    using var scope = torch.NewDisposeScope();
                    var (logits, dist) = model.ForwardFromStemFeatures(run.Features!.Maps.index_select(0, idx), engine.options.StemTrainLastBlocks);
                    if (dist is not null) logits = logits.add(dist).div(2);
                    correct += logits.argmax(1).eq(run.Features.Labels.index_select(0, idx)).sum().item<long>();
                    idx.Dispose();
                }
                return (double)correct / sampleIndices.shape[0];
            }
            finally
            {
                model.train(wasTraining);
            }
        }

        public void Dispose()
        {
            sample?.Dispose();
            sampleIndices?.Dispose();
        }
    }

    /// <summary>
    /// Best-weights and early-stopping bookkeeping: which epoch validated best (accuracy, then loss), how many epochs
    /// have not improved on it, and (with <see cref="VisionTransformerOptions.KeepBestWeights"/>) a copy of its weights.
    /// </summary>
    private sealed class BestWeights(bool keep) : IDisposable
    {
        /// <summary>The best epoch's weights, when kept.</summary>
        public Dictionary<string, Tensor>? Weights { get; private set; }

        public void Set(Dictionary<string, Tensor>? weights)
        {
            DisposeAll(Weights);
            Weights = weights;
        }

        /// <summary>Updates <paramref name="state"/>'s best epoch and patience count with a validated epoch.</summary>
        public void Track(CheckpointState state, EpochSummary summary, VisionTransformer evalModel)
        {
            double valAcc = summary.ValidationAccuracy!.Value, valLoss = summary.ValidationLoss!.Value;
            bool improved = state.BestEpoch == 0 || valAcc > state.BestAccuracy + 1e-9
                || (Math.Abs(valAcc - state.BestAccuracy) <= 1e-9 && valLoss < state.BestLoss - 1e-4);
            if (!improved)
            {
                state.EpochsWithoutImprovement++;
                return;
            }
            state.BestEpoch = summary.Epoch;
            state.BestAccuracy = valAcc;
            state.BestLoss = valLoss;
            state.EpochsWithoutImprovement = 0;
            if (keep) Set(Snapshot(evalModel));
        }

        public void Dispose() => Set(null);
    }

    /// <summary>
    /// A new model for the architecture; a <see cref="ViTStem.ResNet18"/> (hybrid) one starts from ML.NET's pretrained
    /// ResNet18 (found or downloaded once, <see cref="Checkpoints.ResNet18Weights.Locate"/>).
    /// </summary>
    private VisionTransformer CreateModel()
    {
        string? resnet = config.Stem == ViTStem.ResNet18 ? Checkpoints.ResNet18Weights.Locate(options.ResNet18Path, options.Log) : null;
        var model = new VisionTransformer(config);
        if (resnet is not null) Checkpoints.ResNet18Weights.LoadInto(model, resnet);
        return model;
    }

    /// <summary>With <see cref="VisionTransformerOptions.FreezeStem"/>, stops the hybrid's ResNet from training, all but
    /// the last blocks that <see cref="VisionTransformerOptions.StemTrainLastBlocks"/> trains.</summary>
    private void FreezeStem(VisionTransformer model)
    {
        if (!options.FreezeStem) return;
        var trained = ResNetStem.LastBlockPrefixes(config, options.StemTrainLastBlocks);
        foreach (var (name, parameter) in model.named_parameters())
            if (ResNetStem.IsBackbone(name) && !IsTrainedStemBlock(name, trained)) parameter.requires_grad = false;
    }

    private static bool IsTrainedStemBlock(string name, IReadOnlyList<string> prefixes) => prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>
    /// The randomness of one epoch. Every epoch's randomness derives from (seed, epoch), so a run resumed at an epoch
    /// boundary replays exactly what an uninterrupted run does.
    /// </summary>
    private sealed class EpochRandomness : IDisposable
    {
        public EpochRandomness(int seed, int epoch, long count)
        {
            long epochSeed = EpochSeed(seed, epoch);
            torch.manual_seed(epochSeed);
            DropoutRandom.Seed(epochSeed);
            Generator = new Generator((ulong)epochSeed);
            Random = new Random((int)(epochSeed & 0x7fffffff));
            using var perm = torch.randperm(count, generator: Generator);
            Order = perm.data<long>().ToArray();
        }

        /// <summary>Draws of the batched augmentation on tensors.</summary>
        public Generator Generator { get; }

        /// <summary>Draws of the batched augmentation on the CPU side.</summary>
        public Random Random { get; }

        /// <summary>The shuffled image order of the epoch.</summary>
        public long[] Order { get; }

        public void Dispose() => Generator.Dispose();
    }

    /// <summary>Running sums of one epoch: what its summary and step progress report.</summary>
    private sealed class EpochTally
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        public double LossSum;
        public long Correct, Seen;
        public double LearningRate;

        public double ImagesPerSecond => Seen / clock.Elapsed.TotalSeconds;

        public EpochSummary Summary(int epoch)
        {
            double seconds = clock.Elapsed.TotalSeconds;
            return new EpochSummary(epoch, LossSum / Seen, (double)Correct / Seen, null, null, LearningRate, Seen / seconds, seconds);
        }
    }

    private EpochSummary? RunEpoch(TrainingRun run, int epoch)
    {
        using var randomness = new EpochRandomness(options.Seed, epoch, run.Count);
        run.Model.train();
        var tally = new EpochTally();
        for (int step = 0; step < run.StepsPerEpoch; step++)
        {
            if (options.CancellationToken.IsCancellationRequested) return null;
            if (step > 0 && run.Clock.Spent) break; // time budget: end with a partial epoch
            tally.LearningRate = SetLearningRate(run, epoch, step);
            TrainStep(run, randomness, epoch, step, tally);
            if (options.ProgressEverySteps > 0 && (step + 1) % options.ProgressEverySteps == 0 && step + 1 < run.StepsPerEpoch)
            {
                options.Progress?.Report(new TrainingProgress(IsEpochEnd: false, epoch, options.Epochs, step + 1, run.StepsPerEpoch,
                    tally.LossSum / tally.Seen, (double)tally.Correct / tally.Seen, null, null, tally.LearningRate, tally.ImagesPerSecond, run.Clock.Elapsed));
            }
        }
        CheckFinite(run.Model, epoch, tally.LearningRate);
        return tally.Summary(epoch);
    }

    /// <summary>Sets the scheduled learning rate of a step on every optimizer group (scaled per group under layer decay) and returns it.</summary>
    private double SetLearningRate(TrainingRun run, int epoch, int step)
    {
        long global = (long)(epoch - 1) * run.StepsPerEpoch + step;
        double lr = run.Schedule.At(global, run.Clock.Progress(global, run.Schedule.WarmupSteps));
        int groupIndex = 0;
        foreach (var group in run.Optimizer.ParamGroups) group.LearningRate = lr * (learningRateScales?[groupIndex++] ?? 1.0);
        return lr;
    }

    /// <summary>One optimizer step on the step's batch, in its own dispose scope; adds its loss and hits to <paramref name="tally"/>.</summary>
    private void TrainStep(TrainingRun run, EpochRandomness randomness, int epoch, int step, EpochTally tally)
    {
        using var scope = torch.NewDisposeScope();
        int start = step * run.BatchSize;
        int n = Math.Min(run.BatchSize, run.Count - start);
        var idx = torch.tensor(randomness.Order.AsSpan(start, n).ToArray(), dtype: ScalarType.Int64);
        Tensor y, targets, logits;
        Tensor? teacherTargets, distLogits;
        if (run.Features is { } f)
        {
            // Cached feature maps of the frozen ResNet: their targets were drawn with the views.
            y = f.Labels.index_select(0, idx);
            targets = f.Targets.index_select(0, idx);
            teacherTargets = f.TeacherTargets?.index_select(0, idx);
            (logits, distLogits) = run.Model.ForwardFromStemFeatures(f.Maps.index_select(0, idx), options.StemTrainLastBlocks);
        }
        else
        {
            Tensor x;
            (x, y, targets, teacherTargets) = Batch(run.Train, idx, run.Device, run.Mean, run.Std, run.Augmenter, randomness.Generator, randomness.Random, augment: true, run.Teacher);
            (logits, distLogits) = run.Model.ForwardWithDistillation(x);
        }

        var loss = SoftCrossEntropy(logits, targets);
        if (distLogits is not null)
        {
            // DeiT distillation: the distillation head learns the teacher's labels, or its probabilities at temperature τ
            // (soft; τ² keeps the gradient's scale), or the true labels without a teacher.
            double tau = options.DistillationTemperature;
            var distillation = teacherTargets is not null && options.Distillation == VisionTransformerDistillation.Soft
                ? SoftCrossEntropy(distLogits.div(tau), teacherTargets).mul(tau * tau)
                : SoftCrossEntropy(distLogits, teacherTargets ?? targets);
            loss = loss.mul(0.5).add(distillation.mul(0.5));
        }
        float lossValue = loss.item<float>();
        if (!float.IsFinite(lossValue))
            throw new TrainingDivergedException(epoch, step + 1, $"the loss is {(float.IsNaN(lossValue) ? "NaN" : "infinite")}", tally.LearningRate);
        run.Optimizer.zero_grad();
        loss.backward();
        if (options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(run.Model.parameters().Where(p => p.requires_grad), options.GradientClipNorm);
        run.Optimizer.step();
        run.Ema?.Update();

        tally.LossSum += lossValue * n;
        tally.Correct += logits.argmax(1).eq(y).sum().item<long>();
        tally.Seen += n;
    }

    /// <summary>
    /// The rows <paramref name="idx"/> of <paramref name="train"/> as a training batch: pixels scaled, augmented when
    /// <paramref name="augment"/> (and any augmentation is on), normalized; their labels, smoothed targets and teacher
    /// targets (a teacher column's labels, mixed like the true ones; or <paramref name="teacher"/>'s on the augmented pixels).
    /// </summary>
    private (Tensor X, Tensor Y, Tensor Targets, Tensor? TeacherTargets) Batch(ImageCache train, Tensor idx, Device device, Tensor mean, Tensor std,
        BatchAugmenter augmenter, Generator generator, Random random, bool augment, ResNet18Teacher? teacher = null)
    {
        var x = train.Images.index_select(0, idx).to(device).to(ScalarType.Float32).mul_(options.PixelScale);
        var y = train.Labels.index_select(0, idx).to(device);
        var targets = SoftTargets(y, config.NumClasses, options.LabelSmoothing);
        Tensor? teacherTargets = train.TeacherLabels is null ? null : SoftTargets(train.TeacherLabels.index_select(0, idx).to(device), config.NumClasses, 0);
        if (augment && options.Augmentation.Any) (x, targets, teacherTargets) = Augment(augmenter, generator, random, x, targets, teacherTargets);
        x = x.sub_(mean).div_(std);
        if (teacher is not null) teacherTargets = TeacherTargets(teacher.Logits(teacher.Features(x)));
        return (x, y, targets, teacherTargets);
    }

    /// <summary>
    /// The <see cref="VisionTransformerOptions.Teacher"/> for this run, its head fitted on the training images, or null
    /// without one. It shares the student's cached stem maps when they are its own (and is fitted once they exist).
    /// </summary>
    private ResNet18Teacher? CreateTeacher(ImageCache train, Device device, Tensor mean, Tensor std)
    {
        if (options.Teacher == VisionTransformerTeacher.None) return null;
        if (options.StemFeatureViews > 0 && ResNet18Teacher.StemIsTeacher(config, options.FreezeStem && options.StemTrainLastBlocks == 0)) return ResNet18Teacher.SharingStem();
        var teacher = ResNet18Teacher.WithOwnNetwork(config, Checkpoints.ResNet18Weights.Locate(options.ResNet18Path, options.Log), device);
        try
        {
            using var scope = torch.NewDisposeScope();
            var pooled = new List<Tensor>();
            for (int start = 0; start < train.Count; start += 32)
                pooled.Add(teacher.Features(Normalize(train.Images.narrow(0, start, Math.Min(32, train.Count - start)).to(device), mean, std)));
            teacher.Fit(torch.cat(pooled, 0), train.Labels, config.NumClasses);
            return teacher;
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }

    /// <summary>What the distillation head learns from teacher logits: their class (hard) or their probabilities at τ (soft).</summary>
    private Tensor TeacherTargets(Tensor logits) => options.Distillation == VisionTransformerDistillation.Soft
        ? logits.div(options.DistillationTemperature).softmax(1)
        : SoftTargets(logits.argmax(1), config.NumClasses, 0);

    /// <summary>Augments a batch; teacher targets, when present, are mixed exactly like the labels (both at once).</summary>
    private (Tensor X, Tensor Targets, Tensor? TeacherTargets) Augment(BatchAugmenter augmenter, Generator generator, Random random, Tensor x, Tensor targets, Tensor? teacherTargets)
    {
        if (teacherTargets is null)
        {
            (x, targets) = augmenter.Apply(x, targets, generator, random);
            return (x, targets, null);
        }
        var both = torch.cat(new[] { targets, teacherTargets }, 1);
        (x, both) = augmenter.Apply(x, both, generator, random);
        return (x, both.narrow(1, 0, config.NumClasses), both.narrow(1, config.NumClasses, config.NumClasses));
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> when a weight of <paramref name="model"/> is NaN or infinite.</summary>
    internal static void CheckFinite(VisionTransformer model, int epoch, double lr)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in model.NamedState())
        {
            if (!p.isfinite().all().item<bool>())
                throw new TrainingDivergedException(epoch, 0, $"weight '{name}' holds NaN or infinite values", lr);
        }
    }

    /// <summary>Learning-rate scale of each optimizer group (layer-wise decay), or null when every group takes the full rate.</summary>
    private double[]? learningRateScales;

    private optim.Optimizer CreateOptimizer(VisionTransformer model)
    {
        if (options.LayerDecay < 1 || options.FreezeBackbone || options.StemTrainLastBlocks > 0)
        {
            // Fine-tuning: ParameterGroups gives per-layer scales (and the trained ResNet blocks' scale) and leaves frozen parameters out.
            var trained = options.StemTrainLastBlocks > 0 ? ResNetStem.LastBlockPrefixes(config, options.StemTrainLastBlocks) : [];
            var fine = ParameterGroups.Build(model, options.LayerDecay, options.FreezeBackbone, options.Optimizer == VisionTransformerOptimizer.AdamW,
                name => IsTrainedStemBlock(name, trained) ? options.StemLearningRateScale : 1.0);
            learningRateScales = fine.Select(g => g.Scale).ToArray();
            if (options.Optimizer == VisionTransformerOptimizer.Adam)
                return torch.optim.Adam(fine.Select(g => new Adam.ParamGroup(g.Parameters, options.LearningRate * g.Scale)), options.LearningRate);
            return torch.optim.AdamW(fine.Select(g => new AdamW.ParamGroup(g.Parameters, options.LearningRate * g.Scale, weight_decay: g.Decay ? options.WeightDecay : 0)),
                options.LearningRate, weight_decay: options.WeightDecay);
        }
        if (options.Optimizer == VisionTransformerOptimizer.Adam)
            return torch.optim.Adam(model.parameters().Where(p => p.requires_grad), options.LearningRate);
        var noDecay = model.NoWeightDecayParameterNames;
        var all = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        var groups = new[]
        {
            new AdamW.ParamGroup(all.Where(p => !noDecay.Contains(p.name)).Select(p => p.parameter), options.LearningRate, weight_decay: options.WeightDecay),
            new AdamW.ParamGroup(all.Where(p => noDecay.Contains(p.name)).Select(p => p.parameter), options.LearningRate, weight_decay: 0),
        };
        return torch.optim.AdamW(groups, options.LearningRate, weight_decay: options.WeightDecay);
    }

    internal Tensor Normalize(Tensor pixels, Tensor mean, Tensor std) =>
        pixels.to(ScalarType.Float32).mul(options.PixelScale).sub_(mean).div_(std);

    private static Tensor SoftTargets(Tensor labels, int classes, double smoothing)
    {
        var oneHot = torch.nn.functional.one_hot(labels, classes).to(ScalarType.Float32);
        return smoothing > 0 ? oneHot.mul_(1 - smoothing).add_(smoothing / classes) : oneHot;
    }

    private static Tensor SoftCrossEntropy(Tensor logits, Tensor targets) =>
        targets.mul(logits.log_softmax(1)).sum(1).mean().neg();

    internal static long EpochSeed(int seed, int epoch) => ((long)seed * 1_000_003L + epoch * 7919L) & 0x7fff_ffff_ffffL;

    /// <summary>Copies a model's weights into tensors that belong to no dispose scope (the caller disposes them).</summary>
    internal static Dictionary<string, Tensor> Snapshot(VisionTransformer model)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return model.NamedState().ToDictionary(p => p.Name, p => p.Tensor.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Copies <paramref name="weights"/> (by state name) into the model's parameters and buffers.</summary>
    internal static void Restore(VisionTransformer model, IReadOnlyDictionary<string, Tensor> weights)
    {
        using (torch.no_grad())
        {
            foreach (var (name, p) in model.NamedState()) p.copy_(weights[name]);
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor>? weights)
    {
        if (weights is null) return;
        foreach (var t in weights.Values) t.Dispose();
        weights.Clear();
    }
}
