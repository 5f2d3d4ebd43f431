using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
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
        if (train.Channels != config.Channels || train.Height != config.ImageHeight || train.Width != config.ImageWidth)
        {
            throw new ArgumentException(
                $"Training images are {train.Channels}x{train.Height}x{train.Width} but the architecture expects {config.Channels}x{config.ImageHeight}x{config.ImageWidth}.");
        }
        if (options.Threads is int threads) torch.set_num_threads(threads);
        NativeAllocator.Configure();
        var device = torch.device(options.Device);

        torch.manual_seed(options.Seed);
        var model = initialModel ?? CreateModel();
        model.to(device);
        FreezeStem(model);
        using var optimizer = CreateOptimizer(model);
        using var mean = torch.tensor(config.Mean.ToArray(), device: device).reshape(1, -1, 1, 1);
        using var std = torch.tensor(config.Std.ToArray(), device: device).reshape(1, -1, 1, 1);
        var augmenter = new BatchAugmenter(options.Augmentation);
        using var teacher = CreateTeacher(train, device, mean, std);
        var ownTeacher = teacher is { SharesStudentStem: false } ? teacher : null;
        using var features = options.StemFeatureViews > 0
            ? StemFeatureCache.Build(model, train.Count, options.StemFeatureViews, options.Seed, train.TeacherLabels is not null || ownTeacher is not null,
                (idx, augment, generator, random) => Batch(train, idx, device, mean, std, augmenter, generator, random, augment, ownTeacher))
            : null;
        if (teacher is { SharesStudentStem: true })
        {
            // The cached maps are the teacher's: fit its head on the images themselves (view 0), then label every view.
            using (var scope = torch.NewDisposeScope())
                teacher.Fit(ResNet18Teacher.Pool(features!.Maps.narrow(0, 0, train.Count)), features.Labels.narrow(0, 0, train.Count), config.NumClasses);
            features!.SetTeacherTargets(maps => TeacherTargets(teacher.Logits(ResNet18Teacher.Pool(maps))));
        }
        int count = features?.Count ?? train.Count;
        int batch = Math.Min(options.BatchSize, count);
        int stepsPerEpoch = (count + batch - 1) / batch;
        var schedule = new LearningRateSchedule(options.Schedule, options.LearningRate, options.MinLearningRate,
            (long)Math.Round(options.WarmupEpochs * stepsPerEpoch), (long)stepsPerEpoch * options.Epochs);
        using var ema = options.EmaDecay > 0 ? new ModelEma(model, options.EmaDecay) : null;

        var state = Checkpoint.NewState(options, config, train, validation);
        Dictionary<string, Tensor>? best = null;
        if (options.ResumeFromCheckpoint && Checkpoint.Exists(options.CheckpointDirectory!))
        {
            state = Checkpoint.Load(options.CheckpointDirectory!, model, optimizer, ema?.Model, expected: state);
            if (ema is not null) ema.Updates = state.EmaUpdates;
            best = state.HasBest ? Checkpoint.LoadBest(options.CheckpointDirectory!, model) : null;
        }

        var clock = new TrainingClock(options.TimeBudget, state);
        var run = new TrainingRun(model, optimizer, ema, schedule, augmenter, train, features, ownTeacher, count, mean, std, stepsPerEpoch, batch, device, clock);
        bool cancelled = false, earlyStopped = false;
        try
        {
            for (int epoch = state.EpochsDone + 1; epoch <= options.Epochs; epoch++)
            {
                if (options.CancellationToken.IsCancellationRequested) { cancelled = true; break; }
                if (clock.Spent) break;
                var summary = RunEpoch(run, epoch);
                if (summary is null) { cancelled = true; break; }

                var evalModel = ema?.Model ?? model;
                double? valLoss = null, valAcc = null;
                if (validation is not null && validation.Count > 0)
                {
                    (valLoss, valAcc) = Evaluate(evalModel, validation, mean, std, device);
                    summary = summary with { ValidationLoss = valLoss, ValidationAccuracy = valAcc, Seconds = summary.Seconds };
                    bool improved = state.BestEpoch == 0 || valAcc > state.BestAccuracy + 1e-9
                        || (Math.Abs(valAcc.Value - state.BestAccuracy) <= 1e-9 && valLoss < state.BestLoss - 1e-4);
                    if (improved)
                    {
                        state.BestEpoch = epoch;
                        state.BestAccuracy = valAcc.Value;
                        state.BestLoss = valLoss.Value;
                        state.EpochsWithoutImprovement = 0;
                        if (options.KeepBestWeights)
                        {
                            DisposeAll(best);
                            best = Snapshot(evalModel);
                        }
                    }
                    else
                    {
                        state.EpochsWithoutImprovement++;
                    }
                }
                else
                {
                    state.BestEpoch = epoch;
                }
                state.EpochsDone = epoch;
                state.History.Add(summary);
                clock.SaveTo(state);
                options.Progress?.Report(new TrainingProgress(TrainingProgressKind.EpochEnd, epoch, options.Epochs, stepsPerEpoch, stepsPerEpoch,
                    summary.Loss, summary.TrainAccuracy, valLoss, valAcc, summary.LearningRate, summary.ImagesPerSecond, clock.Elapsed));
                state.EmaUpdates = ema?.Updates ?? 0;
                if (options.CheckpointDirectory is not null)
                    Checkpoint.TrySave(options.CheckpointDirectory, state, model, optimizer, ema?.Model, best, options.Log);
                if (options.EarlyStoppingPatience > 0 && state.EpochsWithoutImprovement >= options.EarlyStoppingPatience)
                {
                    earlyStopped = true;
                    break;
                }
            }
            // Whatever else ended the run, a spent budget (a partial last epoch, or no epoch at all after a resume) says so.
            bool budgetSpent = !cancelled && !earlyStopped && clock.Spent;

            VisionTransformer result = model;
            if (ema is not null)
            {
                // Hand the averaged weights to the returned model.
                Restore(model, ema.Model.NamedState().ToDictionary(p => p.Name, p => p.Tensor));
            }
            int returnedEpoch = state.EpochsDone;
            if (best is not null && options.KeepBestWeights && validation is not null)
            {
                Restore(model, best);
                returnedEpoch = state.BestEpoch;
            }
            result.eval();
            return new TrainingResult(result, state.History.ToArray(), returnedEpoch, cancelled, earlyStopped, budgetSpent);
        }
        finally
        {
            DisposeAll(best);
        }
    }

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

    /// <summary>What every epoch of one run shares: the model and its optimizer, the schedule, the data and its normalization.</summary>
    private sealed record TrainingRun(VisionTransformer Model, optim.Optimizer Optimizer, ModelEma? Ema, LearningRateSchedule Schedule,
        BatchAugmenter Augmenter, ImageCache Train, StemFeatureCache? Features, ResNet18Teacher? Teacher, int Count, Tensor Mean, Tensor Std, int StepsPerEpoch, int BatchSize,
        Device Device, TrainingClock Clock);

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

    /// <summary>With <see cref="VisionTransformerOptions.FreezeStem"/>, stops the hybrid's ResNet from training.</summary>
    private void FreezeStem(VisionTransformer model)
    {
        if (!options.FreezeStem) return;
        foreach (var (name, parameter) in model.named_parameters())
            if (ResNetStem.IsBackbone(name)) parameter.requires_grad = false;
    }

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
                options.Progress?.Report(new TrainingProgress(TrainingProgressKind.Step, epoch, options.Epochs, step + 1, run.StepsPerEpoch,
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
            (logits, distLogits) = run.Model.ForwardFromStemFeatures(f.Maps.index_select(0, idx));
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
        if (options.StemFeatureViews > 0 && ResNet18Teacher.StemIsTeacher(config, options.FreezeStem)) return ResNet18Teacher.SharingStem();
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
        if (options.LayerDecay < 1 || options.FreezeBackbone)
        {
            // Fine-tuning: ParameterGroups gives per-layer scales and leaves frozen parameters out.
            var fine = ParameterGroups.Build(model, options.LayerDecay, options.FreezeBackbone, options.Optimizer == VisionTransformerOptimizer.AdamW);
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
