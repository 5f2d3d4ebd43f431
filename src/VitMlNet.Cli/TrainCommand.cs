using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Onnx;

namespace VitMlNet.Cli;

/// <summary>The settings of one <c>vit train</c> run, each set by name (the command line's options).</summary>
internal sealed record TrainSettings
{
    public required string Data { get; init; }
    public required string Out { get; init; }
    public string? Test { get; init; }
    public double? TestFraction { get; init; }
    public string Recipe { get; init; } = VisionTransformerRecipes.Auto;
    public int? Epochs { get; init; }
    public int? Batch { get; init; }
    public double? LearningRate { get; init; }
    public int? ImageSize { get; init; }
    public int? Channels { get; init; }
    public int Seed { get; init; } = 42;
    public double ValidationFraction { get; init; }
    public string Device { get; init; } = "cpu";
    public string? Report { get; init; }
    public bool Json { get; init; }
    public bool SkipBadImages { get; init; }
    public int? Limit { get; init; }
    public bool Int8 { get; init; }
    public bool? FlipAverage { get; init; }
    public string? TimeBudget { get; init; }
    public bool? ShiftAverage { get; init; }
    public ImageResizing Resize { get; init; } = ImagePreprocessing.DefaultResizing;
    public string? Checkpoint { get; init; }
    public bool Resume { get; init; }
    public string? From { get; init; }
    public int? Heads { get; init; }
    public double? LayerDecay { get; init; }
    public bool FreezeBackbone { get; init; }
    public VisionTransformerTeacher Teacher { get; init; }
    public VisionTransformerDistillation Distillation { get; init; }

    /// <summary>The output option as the user typed it (<c>-o</c>, <c>--output</c> or <c>--out</c>), for messages.</summary>
    public string OutOption { get; init; } = "--output";
}

/// <summary>
/// <c>vit train</c>: loads the data, fits <see cref="VisionTransformerPipeline.Create"/>, saves the model zip, evaluates it on
/// the test data and writes the optional report.
/// </summary>
/// <remarks>
/// Input size: <c>--image-size N</c> (square) when given; otherwise the data's own size when it has one
/// (Fashion-MNIST and IDX 28×28, CIFAR-10 32×32), and the recipe's size for image folders and CSV/TSV lists
/// (seed 32×32, tiny 16×16); <see cref="VisionTransformerRecipes.Resolve(RecipeRequest)"/> decides it, and the options.
/// Channels follow the data (1 for Fashion-MNIST, 3 for CIFAR-10, folders and lists) unless <c>--channels</c> says
/// otherwise. The recipe's architecture gives the layers; its patch size must divide the input size.
/// </remarks>
internal static class TrainCommand
{
    public static Command Build(CliContext context)
    {
        var data = new Option<string>("--data") { HelpName = "SPEC", Description = "Training data: " + DataSpec.Syntax, Required = true };
        var test = new Option<string?>("--test") { HelpName = "SPEC", Description = "Test data (same forms as --data), evaluated after training" };
        var testFraction = new Option<double?>("--test-fraction") { HelpName = "F", Description = "Hold out this share of --data (stratified) as test data instead of --test" };
        // --preset: the option's earlier name, kept as an alias.
        var recipe = new Option<string>("--recipe", "--preset") { HelpName = "NAME", Description = "Recipe (architecture + training options): " + string.Join(", ", VisionTransformerRecipes.Names) + "; auto (the default) chooses from the data and prints its choice", DefaultValueFactory = _ => VisionTransformerRecipes.Auto };
        var epochs = new Option<int?>("--epochs") { HelpName = "N", Description = "Passes over the training data (default: the recipe's; seed: 10)" };
        var batch = new Option<int?>("--batch") { HelpName = "N", Description = "Images per step (default: the recipe's; seed: 64)" };
        var lr = new Option<double?>("--lr") { HelpName = "X", Description = "Peak learning rate (default: the recipe's; seed: 3e-4)" };
        var imageSize = new Option<int?>("--image-size") { HelpName = "N", Description = "Square input size in pixels (default: the data's native size, else the recipe's)" };
        var channels = new Option<int?>("--channels") { HelpName = "1|3", Description = "1 (gray) or 3 (RGB) (default: the data's)" };
        var seed = new Option<int>("--seed") { HelpName = "N", Description = "Seed of initialization, shuffling and splits", DefaultValueFactory = _ => 42 };
        var validation = new Option<double>("--validation-fraction") { HelpName = "F", Description = "Share of the training data held out for per-epoch validation", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { HelpName = "DEVICE", Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var output = CliOptions.Output("FILE", "Model zip to write");
        var report = new Option<string?>("--report") { HelpName = "DIR", Description = "Folder for the report (metrics.json, charts)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (progress goes to stderr)" };
        var skip = new Option<bool>("--skip-bad-images") { Description = "Leave unreadable image files out (listed on stderr) instead of failing" };
        var limit = new Option<int?>("--limit") { HelpName = "N", Description = "Use a seeded, stratified sample of N images of --data and of --test (quick trial runs)" };
        var int8 = new Option<bool>("--int8") { Description = "Save a zip that scores with int8-quantized encoder weights and, for the hybrid ResNet18 recipe, int8 ResNet convolutions calibrated on 64 training photos (faster on CPU, slightly less accurate)" };
        var flip = new Option<bool?>("--flip-average") { HelpName = "true|false", Description = "Score each image with its left-right mirror and average the two (default: the recipe's; fmnist-accurate: true)" };
        var shift = new Option<bool?>("--shift-average") { HelpName = "true|false", Description = "Also score each image moved by one pixel up, down, left and right and average the views (5x the scoring work; default: the recipe's; fmnist-accurate: true)" };
        var from = new Option<string?>("--from") { HelpName = "CHECKPOINT", Description = "Fine-tune a pretrained ViT: timm / Hugging Face / torchvision .safetensors, .pt/.pth/.bin or a Hugging Face model folder (its architecture, mean/std; AdamW, lr 5e-5 unless --lr)" };
        var heads = CheckpointCli.HeadsOption();
        var layerDecay = new Option<double?>("--layer-decay") { HelpName = "X", Description = "Layer-wise learning-rate decay for fine-tuning (e.g. 0.75; default: off)" };
        var freeze = new Option<bool>("--freeze-backbone") { Description = "Train the classifier head only (linear probing of a pretrained ViT)" };
        var teacher = new Option<VisionTransformerTeacher>("--teacher") { HelpName = "None|ResNet18", Description = "DeiT distillation from a teacher the trainer builds: ResNet18 = ML.NET's pretrained ResNet18 + a linear head fitted on the training images, labelling every augmented view (adds a distillation token; not saved in the zip)", DefaultValueFactory = _ => VisionTransformerTeacher.None };
        var distillation = new Option<VisionTransformerDistillation>("--distillation") { HelpName = "Hard|Soft", Description = "What the distillation token learns from --teacher: its predicted class (Hard, DeiT's best) or its probabilities at temperature 3 (Soft)", DefaultValueFactory = _ => VisionTransformerDistillation.Hard };
        var budget = new Option<string?>("--time-budget") { HelpName = "TIME", Description = "Stop training when this much wall-clock time is spent, with the cosine schedule fitted to it; --epochs becomes a cap (seconds, or 90s, 55m, 1.5h, 0:55:00, or off; default: the recipe's; fmnist-accurate: 56m)" };
        var resize = new Option<ImageResizing>("--resize") { HelpName = "CenterCrop|Stretch", Description = "How images of another size or shape become the model's input, in training and in the saved zip alike: CenterCrop (keep the aspect ratio, cut the centre; smooth resampling) or Stretch (nearest neighbour)", DefaultValueFactory = _ => ImagePreprocessing.DefaultResizing };
        var checkpoint = new Option<string?>("--checkpoint") { HelpName = "DIR", Description = "Write a checkpoint into this folder after every epoch (crash-safe: the last complete one is kept)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run whose checkpoint is in --checkpoint DIR (same data and options give the same weights as an uninterrupted run; other data or options are refused)" };
        var verbosity = CliOptions.VerbosityOption();
        var command = new Command("train", "Train a Vision Transformer and save an ML.NET model zip.")
        {
            data, output, test, testFraction, recipe, epochs, batch, lr, imageSize, channels, seed, validation, device, report, json, skip, limit, int8, flip,
            budget, shift, resize, checkpoint, resume, from, heads, layerDecay, freeze, teacher, distillation, verbosity,
        };
        command.SetAction(parse => Guard.Run("train", context.Error, () => Run(new TrainSettings
        {
            Data = parse.GetValue(data)!, Out = parse.GetValue(output)!, OutOption = CliOptions.TypedName(parse, output),
            Test = parse.GetValue(test), TestFraction = parse.GetValue(testFraction), Recipe = parse.GetValue(recipe)!,
            Epochs = parse.GetValue(epochs), Batch = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
            ImageSize = parse.GetValue(imageSize), Channels = parse.GetValue(channels), Seed = parse.GetValue(seed),
            ValidationFraction = parse.GetValue(validation), Device = parse.GetValue(device)!, Report = parse.GetValue(report),
            Json = parse.GetValue(json), SkipBadImages = parse.GetValue(skip), Limit = parse.GetValue(limit), Int8 = parse.GetValue(int8),
            FlipAverage = parse.GetValue(flip), TimeBudget = parse.GetValue(budget), ShiftAverage = parse.GetValue(shift),
            Resize = parse.GetValue(resize), Checkpoint = parse.GetValue(checkpoint), Resume = parse.GetValue(resume),
            From = parse.GetValue(from), Heads = parse.GetValue(heads), LayerDecay = parse.GetValue(layerDecay), FreezeBackbone = parse.GetValue(freeze),
            Teacher = parse.GetValue(teacher), Distillation = parse.GetValue(distillation),
        }, context with { Verbosity = parse.GetValue(verbosity) }), trace: parse.GetValue(verbosity) >= Verbosity.Diagnostic));
        return command;
    }

    /// <summary>
    /// The canonical name of <paramref name="name"/> among <paramref name="known"/> (architecture presets: <c>vit bench --preset</c>;
    /// a recipe is checked by <see cref="CheckRecipe"/>), or a usage error listing the known ones.
    /// </summary>
    public static string CheckPreset(string name, IReadOnlyList<string> known) =>
        known.FirstOrDefault(p => string.Equals(p, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown preset '{name}'; known presets: {string.Join(", ", known)}.");

    /// <summary>The canonical name of recipe <paramref name="name"/>, or a usage error listing the known ones.</summary>
    public static string CheckRecipe(string name) =>
        VisionTransformerRecipes.Find(name) ?? throw new UsageException($"unknown recipe '{name}'; known recipes: {string.Join(", ", VisionTransformerRecipes.Names)}.");

    public static int Run(TrainSettings s, CliContext context) =>
        new TrainRun(s, context, CheckRecipe(s.Recipe)).Run();

    /// <summary>The data of a run: training and test images, the checkpoint of <c>--from</c>, and the model's input.</summary>
    private sealed record TrainData(IImageSource Train, IImageSource? Test, ViTOnnxModel? From, int Channels, int Height, int Width);

    /// <summary>The figures a run trains with: the recipe's, unless the command line gives them.</summary>
    private sealed record TrainPlan(int Epochs, int Batch, double LearningRate, TimeSpan? TimeBudget);

    /// <summary>One <c>vit train</c> run, step by step: check, read the data, choose the recipe, train, save, test, report.</summary>
    private sealed class TrainRun(TrainSettings s, CliContext context, string recipeName)
    {
        // -v: information and progress (normal), what was saved where (minimal), resolved options and timing (detailed);
        // with --json they go to stderr. The test metrics are the result: on stdout even with -v quiet (--json: in the JSON).
        private readonly TextWriter log = context.Log(Verbosity.Normal, s.Json);
        private readonly TextWriter summary = context.Log(Verbosity.Minimal, s.Json);
        private readonly TextWriter detail = context.Log(Verbosity.Detailed, s.Json);
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly bool auto = recipeName == VisionTransformerRecipes.Auto;
        private readonly CultureInfo inv = CultureInfo.InvariantCulture;

        public int Run()
        {
            CheckSettings(s);
            if (context.Shows(Verbosity.Diagnostic)) detail.WriteLine(DescribeEnvironment());
            CheckBeforeData();
            var data = ReadData();
            var recipe = ChooseRecipe(data);
            var plan = new TrainPlan(recipe.Epochs, recipe.BatchSize, recipe.LearningRate,
                s.TimeBudget is null ? recipe.TimeBudget : ParseDuration(s.TimeBudget));
            DescribeRun(data, recipe, plan);

            var ml = new MLContext(s.Seed);
            var view = data.Train.ToDataView(ml);
            var keyed = VisionTransformerPipeline.FitLabels(ml, view, data.Train.ClassNames).Transform(view);
            var display = TrainingDisplay.Create(context.Interactive && !s.Json && context.Shows(Verbosity.Normal), s.ValidationFraction > 0, log,
                detailed: context.Shows(Verbosity.Detailed));
            var options = Configure(recipe, plan, display, data.Train.ClassNames.Length);
            var dataSeconds = clock.Elapsed.TotalSeconds;
            var pipeline = VisionTransformerPipeline.Create(ml, data.Channels, data.Height, data.Width, options, s.Resize);
            var model = TrainChecks.Fit(() => display.Run(() => pipeline.Fit(keyed)), s.Checkpoint);
            var vit = ((IEnumerable<ITransformer>)model).OfType<VisionTransformerTransformer>().Single();
            bool cancelled = context.Cancellation.IsCancellationRequested;
            // Cancelled before the first epoch completed: the weights are untrained (or only --from's), so nothing is saved.
            if (cancelled && vit.TrainingHistory.Count == 0) throw new OperationCanceledException("cancelled before the first epoch completed");
            var trainSeconds = clock.Elapsed.TotalSeconds - dataSeconds;
            if (plan.TimeBudget is not null && !cancelled && vit.TrainingHistory.Count < plan.Epochs)
                summary.WriteLine($"the time budget ended training in epoch {vit.TrainingHistory.Count} of at most {plan.Epochs}");
            ReportSelfCheck(vit);

            // Atomic (temporary file + rename), never over a good model when cancelled, with a fallback when --out fails.
            var (saved, savedAtOut) = OutputChecks.SaveModel(ml, model, cancelled ? OutputChecks.CancelledPath(s.Out) : s.Out, "train", context.Error);
            summary.WriteLine($"saved {saved} ({new FileInfo(saved).Length / 1024.0:F0} KiB)");
            long parameters = ModelZipFile.ReadOnnx(saved).Weights.Values.Sum(w => (long)w.Data.Length);
            var evaluation = data.Test is null || cancelled ? null : Test(ml, model, data.Test, vit);
            var reportFiles = WriteReport(saved, model, data.Test, vit, evaluation);
            detail.WriteLine(string.Format(inv, "time: {0:F1} s in all: {1:F1} s reading data, {2:F1} s training, {3:F1} s saving, testing and reporting",
                clock.Elapsed.TotalSeconds, dataSeconds, trainSeconds, clock.Elapsed.TotalSeconds - dataSeconds - trainSeconds));
            if (s.Json) WriteJson(saved, reportFiles, data, vit, parameters, plan, cancelled, evaluation);

            if (cancelled)
            {
                context.Error.WriteLine($"vit train: cancelled after {vit.TrainingHistory.Count} of {plan.Epochs} epochs; the model so far was saved to {saved}" +
                    (saved == s.Out || !savedAtOut ? "." : $" (not over the existing {s.Out})."));
                return ExitCodes.Failure;
            }
            return savedAtOut ? ExitCodes.Ok : ExitCodes.Failure;
        }

        /// <summary>
        /// Output paths, checkpoint and image size are checked before any data is read (auto's architecture follows the
        /// data; its largest batch and a patch of about an eighth of the side stand in for it here).
        /// </summary>
        private void CheckBeforeData()
        {
            var preview = VisionTransformerRecipes.BeforeData(recipeName, s.ImageSize);
            TrainChecks.BeforeData(s, preview.ResolveArchitecture(), s.Batch ?? preview.BatchSize, log, context.Error);
        }

        /// <summary>Reads the training data, the <c>--from</c> checkpoint and the test data (<c>--test</c>, or held out with <c>--test-fraction</c>).</summary>
        private TrainData ReadData()
        {
            var train = LoadTraining(s.Data, s.SkipBadImages, s.Limit, s.Seed, context.Error);
            TrainChecks.CheckClasses(train, $"--data '{s.Data}'");
            // Image files of any size: the checkpoint's input size with --from, else the recipe's (auto: 288x288 for the hybrid, else 32x32).
            var checkpoint = s.From is null ? null : CheckpointCli.Read(s.From, s.Heads, context.Error);
            var (channels, height, width) = InputGeometry(train, recipeName, s.ImageSize, s.Channels, checkpoint is null ? null : new RecipeCheckpoint(s.From!, checkpoint.Config));

            IImageSource? test = null;
            if (s.Test is not null)
            {
                test = LoadTraining(s.Test, s.SkipBadImages, s.Limit, s.Seed, context.Error);
                TrainChecks.CheckClasses(test, "the test data", train.ClassNames);
            }
            else if (s.TestFraction is double f)
            {
                (train, test) = ImageSources.Split(train, f, s.Seed);
                if (test.Count == 0)
                    throw new UsageException(string.Format(inv, "--test-fraction {0} holds out no image of the {1} training images; use a larger fraction or --test.", f, train.Count));
            }
            return new TrainData(train, test, checkpoint, channels, height, width);
        }

        /// <summary>The recipe (auto: chosen from the data), fitted to the <c>--from</c> checkpoint; its patch size must divide the input.</summary>
        private VisionTransformerOptions ChooseRecipe(TrainData data) =>
            ResolveRecipe(s, recipeName, data.Train, data.From, data.Channels, data.Height, data.Width).Options;

        private void DescribeRun(TrainData data, VisionTransformerOptions recipe, TrainPlan plan)
        {
            var config = recipe.ResolveArchitecture();
            log.WriteLine($"train: {Describe(data.Train)} from {s.Data}");
            if (data.Test is not null) log.WriteLine($"test:  {Describe(data.Test)} from {s.Test ?? s.Data + string.Format(inv, " (held out {0:0.#}%)", s.TestFraction * 100)}");
            if (auto && s.From is null) log.WriteLine(VisionTransformerRecipes.DescribeChoice(recipe, data.Train.Count) + " (--recipe NAME chooses another)");
            log.WriteLine($"model: preset {config.Name} ({config.Depth} blocks, dim {config.Dim}, patch {config.PatchSize}) on {data.Channels}x{data.Height}x{data.Width}, " +
                          $"{plan.Epochs} epochs, batch {plan.Batch}, lr {plan.LearningRate.ToString("0.0##e+00", inv)}, {recipe.Optimizer}, {recipe.Schedule}, {s.Device}" +
                          (plan.TimeBudget is TimeSpan t ? string.Format(inv, "; time budget {0:0.##} min (the epochs are a cap)", t.TotalMinutes) : ""));
        }

        /// <summary>The recipe with the command line's figures, scoring options, progress, cancellation and checkpoint; checked as a whole.</summary>
        private VisionTransformerOptions Configure(VisionTransformerOptions options, TrainPlan plan, TrainingDisplay display, int classes)
        {
            options.Epochs = plan.Epochs;
            options.BatchSize = plan.Batch;
            options.LearningRate = plan.LearningRate;
            options.TimeBudget = plan.TimeBudget;
            options.Seed = s.Seed;
            if (s.Int8) options.ScoringPrecision = ViTOnnxWeightPrecision.DynamicInt8;
            if (s.FlipAverage is bool flipAverage) options.ScoringFlipAverage = flipAverage;
            if (s.ShiftAverage is bool shiftAverage) options.ScoringShiftAverage = shiftAverage;
            options.ValidationFraction = s.ValidationFraction;
            options.Device = s.Device;
            options.Progress = new LearningCheck(display, classes, context.Error);
            options.ProgressEverySteps = display.ProgressEverySteps;
            options.CancellationToken = context.Cancellation;
            options.CheckpointDirectory = s.Checkpoint;
            options.Log ??= message => context.Error.WriteLine($"vit train: {message}");
            options.ResumeFromCheckpoint = s.Resume;
            var errors = options.GetErrors();
            if (errors.Count > 0) throw new UsageException(string.Join("; ", errors) + ".");
            detail.WriteLine(DescribeOptions(options, s));
            return options;
        }

        /// <summary>
        /// The last epoch's training accuracy beside the self-check's accuracies (the saved chain's and the engine's in
        /// evaluation mode, on training images), and its warning on stderr when evaluation mode collapsed.
        /// </summary>
        private void ReportSelfCheck(VisionTransformerTransformer vit)
        {
            if (vit.SelfCheck is not { } check) return;
            summary.WriteLine((check.TrainingAccuracy is double t ? string.Format(inv, "training accuracy {0:F4} (last epoch, augmented); ", t) : "") + check);
            if (check.Warning is not null) context.Error.WriteLine($"vit train: WARNING: {check.Warning}.");
        }

        /// <summary>Evaluates the saved chain on the test data; the metrics line is the result (stdout, or the log with --json).</summary>
        private EvaluationResult Test(MLContext ml, ITransformer model, IImageSource test, VisionTransformerTransformer vit)
        {
            var evaluation = ModelEvaluator.Evaluate(ml, model, test, vit.ClassNames);
            (s.Json ? summary : context.Out).WriteLine(string.Format(inv, "test accuracy {0:F4}  macro accuracy {1:F4}  log-loss {2:F4}  ({3} images)",
                evaluation.Accuracy, evaluation.MacroAccuracy, evaluation.LogLoss, evaluation.Count));
            return evaluation;
        }

        private IReadOnlyList<string>? WriteReport(string saved, ITransformer model, IImageSource? test, VisionTransformerTransformer vit, EvaluationResult? evaluation)
        {
            if (s.Report is null) return null;
            var files = ReportWriter.Write(s.Report, ReportData.Create("train", saved, s.Test ?? s.Data, vit.ClassNames, vit.TrainingHistory, evaluation,
                ReportData.FirstImagesAsModelSees(model, test, vit.Architecture)));
            summary.WriteLine($"report: {s.Report}");
            return files;
        }

        private void WriteJson(string saved, IReadOnlyList<string>? reportFiles, TrainData data, VisionTransformerTransformer vit, long parameters,
            TrainPlan plan, bool cancelled, EvaluationResult? evaluation) =>
            context.Out.WriteLine(CliJson.Serialize(new
            {
                model = Path.GetFullPath(saved),
                report = s.Report is null ? null : Path.GetFullPath(s.Report),
                reportFiles = reportFiles?.Select(Path.GetFullPath),
                data = s.Data,
                testData = s.Test,
                testFraction = s.TestFraction,
                classes = vit.ClassNames,
                trainImages = data.Train.Count,
                testImages = data.Test?.Count,
                architecture = InfoCommand.ArchitectureJson(vit.Architecture),
                parameters,
                preset = s.Recipe,
                recipe = s.Recipe,
                epochs = plan.Epochs,
                epochsRun = vit.TrainingHistory.Count,
                timeBudgetSeconds = plan.TimeBudget?.TotalSeconds,
                batch = plan.Batch,
                learningRate = plan.LearningRate,
                seed = s.Seed,
                cancelled,
                seconds = CliJson.Number(clock.Elapsed.TotalSeconds, 2),
                history = vit.TrainingHistory.Select(ReportWriter.HistoryJson),
                test = evaluation?.ToJson(),
                selfCheck = vit.SelfCheck is { } check ? new
                {
                    images = check.Images,
                    trainingAccuracy = CliJson.Number(check.TrainingAccuracy),
                    zipAccuracy = CliJson.Number(check.ZipAccuracy),
                    engineAccuracy = CliJson.Number(check.EngineAccuracy),
                    agreement = CliJson.Number(check.Agreement),
                    chance = CliJson.Number(check.Chance),
                    warning = check.Warning,
                } : null,
            }));
    }

    /// <summary>The resolved training options (<c>-v detailed</c>): what the recipe and the command line add up to.</summary>
    private static string DescribeOptions(VisionTransformerOptions o, TrainSettings s) => string.Format(CultureInfo.InvariantCulture,
        "options: epochs {0}, batch {1}, lr {2:G4} down to {3:G4}, {4}, {5}, warmup {6:G4} epochs, weight decay {7:G4}, clip norm {8:G4}, " +
        "label smoothing {9:G4}, EMA {10:G4}, validation fraction {11:G4}, early stopping {12}, seed {13}, device {14}, threads {15}, " +
        "time budget {16}, {17}; scoring {18}, flip average {19}, shift average {20}, resize {21}; checkpoint {22}{23}",
        o.Epochs, o.BatchSize, o.LearningRate, o.MinLearningRate, o.Optimizer, o.Schedule, o.WarmupEpochs, o.WeightDecay, o.GradientClipNorm,
        o.LabelSmoothing, o.EmaDecay, o.ValidationFraction, o.EarlyStoppingPatience > 0 ? $"after {o.EarlyStoppingPatience} epochs" : "off",
        o.Seed, o.Device, o.Threads?.ToString(CultureInfo.InvariantCulture) ?? "one per core", o.TimeBudget?.ToString() ?? "off",
        "augmentation " + o.Augmentation.ToString().Replace(nameof(Training.AugmentationOptions) + " ", "", StringComparison.Ordinal),
        o.ScoringPrecision, o.ScoringFlipAverage, o.ScoringShiftAverage, s.Resize, s.Checkpoint ?? "none", s.Resume ? " (resume)" : "");

    /// <summary>The runtime environment (<c>-v diagnostic</c>).</summary>
    private static string DescribeEnvironment() => string.Format(CultureInfo.InvariantCulture,
        "environment: vit {0}, .NET {1}, {2} ({3}), {4} cores, libtorch threads {5}",
        typeof(TrainCommand).Assembly.GetName().Version, System.Environment.Version, System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture, System.Environment.ProcessorCount, TorchSharp.torch.get_num_threads());

    /// <summary>Parses a --time-budget value: <c>off</c>/<c>none</c> (no budget), seconds, a number with s, m or h, or h:mm:ss.</summary>
    public static TimeSpan? ParseDuration(string text) =>
        TryParseDuration(text, out var value) ? value : throw new UsageException($"--time-budget: cannot read '{text}'.");

    private static bool TryParseDuration(string text, out TimeSpan? value)
    {
        value = null;
        var t = text.Trim().ToLowerInvariant();
        if (t is "off" or "none") return true;
        double scale = t.EndsWith('h') ? 3600 : t.EndsWith('m') ? 60 : t.EndsWith('s') ? 1 : 0;
        if (scale == 0 && !t.Contains(':')) (scale, t) = (1, t + "s"); // a plain number is seconds, as for vit sweep
        if (scale > 0 && double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && n * scale <= TrainChecks.MaxBudgetSeconds)
        {
            value = TimeSpan.FromSeconds(n * scale);
            return true;
        }
        if (scale == 0 && t.Contains(':') && TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero && span.TotalSeconds <= TrainChecks.MaxBudgetSeconds)
        {
            value = span;
            return true;
        }
        return false;
    }

    private static void CheckSettings(TrainSettings s)
    {
        var e = new List<string>();
        if (s.Epochs is <= 0) e.Add($"--epochs must be positive (got {s.Epochs})");
        if (s.Batch is <= 0) e.Add($"--batch must be positive (got {s.Batch})");
        if (s.LearningRate is double rate && (!(rate > 0) || !double.IsFinite(rate))) e.Add($"--lr must be positive (got {rate})");
        if (s.ImageSize is <= 0) e.Add($"--image-size must be positive (got {s.ImageSize})");
        if (s.Limit is <= 0) e.Add($"--limit must be positive (got {s.Limit})");
        if (s.Channels is not (null or 1 or 3)) e.Add($"--channels must be 1 or 3 (got {s.Channels})");
        if (s.Test is not null && s.TestFraction is not null) e.Add("give --test or --test-fraction, not both");
        if (s.Distillation != VisionTransformerDistillation.Hard && s.Teacher == VisionTransformerTeacher.None) e.Add($"--distillation {s.Distillation} needs --teacher");
        if (s.TestFraction is double f && !(f > 0 && f < 1)) e.Add($"--test-fraction must be between 0 and 1 (got {f})");
        if (!(s.ValidationFraction >= 0 && s.ValidationFraction < 1)) e.Add($"--validation-fraction must be in [0, 1) (got {s.ValidationFraction})");
        if (string.IsNullOrWhiteSpace(s.Out)) e.Add($"{s.OutOption} must name a file");
        if (s.TimeBudget is not null && !TryParseDuration(s.TimeBudget, out _))
            e.Add($"--time-budget must be a positive duration of at most a year such as 600 (seconds), 90s, 55m, 1.5h or 0:55:00, or off (got '{s.TimeBudget}')");
        if (e.Count > 0) throw new UsageException(string.Join("; ", e) + ".");
    }

    private static string Describe(IImageSource d) => d is ImageDataset fixedSize
        ? $"{d.Count} images of {fixedSize.Channels}x{fixedSize.Height}x{fixedSize.Width}, {d.ClassNames.Length} classes"
        : $"{d.Count} image files, {d.ClassNames.Length} classes";

    /// <summary>
    /// The model's input for <c>vit train</c> and <c>vit sweep</c>, from <see cref="VisionTransformerRecipes.InputSize"/>:
    /// <paramref name="imageSize"/> when given, else the data's native size (IDX, CIFAR-10), else the checkpoint's, else the
    /// recipe's (auto: 288×288 for colour photos, else 32×32); <paramref name="channels"/> when given, else
    /// the data's (image files: 1 when every file is gray, else 3).
    /// </summary>
    public static (int Channels, int Height, int Width) InputGeometry(IImageSource data, string recipe, int? imageSize, int? channels, RecipeCheckpoint? checkpoint)
    {
        var native = data as ImageDataset;
        int c = channels ?? native?.Channels ?? (data is ImageFileSet files && files.IsGrayscale() ? 1 : 3);
        return VisionTransformerRecipes.InputSize(recipe, new RecipeRequest(recipe, data.Count, data.ClassNames.Length, c, native?.Height, native?.Width)
        {
            ImageSize = imageSize,
            Checkpoint = checkpoint,
        });
    }

    /// <summary>
    /// The options of a <c>vit train</c> run (<see cref="VisionTransformerRecipes.Resolve(RecipeRequest)"/>): the recipe for
    /// this data at the chosen input, the <c>--from</c> checkpoint's fine-tuning, the teacher, and the command line's
    /// epochs, batch and learning rate; the recipe's patch size must divide the input.
    /// </summary>
    public static RecipeResolution ResolveRecipe(TrainSettings s, string recipe, IImageSource train, ViTOnnxModel? from, int channels, int height, int width)
    {
        if (s.Teacher != VisionTransformerTeacher.None && from is { Config.DistillationToken: false })
            throw new UsageException($"--teacher {s.Teacher} needs a distillation token; the checkpoint of --from '{s.From}' has none (a DeiT distilled one has).");
        var resolved = VisionTransformerRecipes.Resolve(new RecipeRequest(recipe, train.Count, train.ClassNames.Length, channels, height, width)
        {
            Checkpoint = from is null ? null : new RecipeCheckpoint(s.From!, from.Config),
            BaseOptions = s.Teacher == VisionTransformerTeacher.None ? null : new VisionTransformerOptions { Teacher = s.Teacher, Distillation = s.Distillation },
            Epochs = s.Epochs,
            BatchSize = s.Batch,
            LearningRate = s.LearningRate,
        });
        if (from is not null) CheckpointCli.ApplyFineTuning(s.LayerDecay, s.FreezeBackbone, resolved.Options);
        var config = resolved.Options.ResolveArchitecture();
        if (height % config.PatchSize != 0 || width % config.PatchSize != 0)
        {
            throw new UsageException($"the input size {height}x{width} is not a multiple of preset '{config.Name}''s patch size {config.PatchSize}; " +
                "choose --image-size accordingly.");
        }
        return resolved;
    }

    /// <summary>
    /// Opens the data of <c>train</c> and <c>sweep</c> at its own size (files are decoded when training reads them through
    /// the zip's preprocessing); skipped files are listed; <paramref name="limit"/> keeps a seeded, stratified sample of N.
    /// </summary>
    public static IImageSource LoadTraining(string data, bool skipBadImages, int? limit, int seed, TextWriter stderr)
    {
        var source = DataSpec.Parse(data).Open(skipBadImages);
        WarnSkipped(source, stderr);
        return limit is int most ? ImageSources.Sample(source, most, seed) : source;
    }

    /// <summary>Lists files a reader skipped (with <c>--skip-bad-images</c>) and its doubts about the labels (the same
    /// image under two classes) on stderr, as warnings.</summary>
    public static void WarnSkipped(IImageSource data, TextWriter stderr)
    {
        if (data is ImageFileSet { Warnings.Count: > 0 } files)
        {
            foreach (var w in files.Warnings.Take(20)) stderr.WriteLine($"vit: warning: {w}");
            if (files.Warnings.Count > 20) stderr.WriteLine($"vit: warning: ... and {files.Warnings.Count - 20} more such doubts about the labels");
        }
        if (data.SkippedFiles.Count == 0) return;
        stderr.WriteLine($"vit: warning: skipped {data.SkippedFiles.Count} unreadable file(s):");
        foreach (var f in data.SkippedFiles.Take(20)) stderr.WriteLine($"  {f.Path}: {f.Reason}");
        if (data.SkippedFiles.Count > 20) stderr.WriteLine($"  ... and {data.SkippedFiles.Count - 20} more");
    }

    /// <summary>
    /// Passes progress on, and warns once when the training loss after a few epochs is still no lower than a uniform
    /// guess over the classes (ln K): the run is not learning, and the user should hear it before it ends; and once
    /// when an epoch's evaluation-mode accuracy collapses (<see cref="Training.TrainingProgress.Warning"/>).
    /// </summary>
    private sealed class LearningCheck(IProgress<Training.TrainingProgress> inner, int classes, TextWriter stderr) : IProgress<Training.TrainingProgress>
    {
        private bool checkedOnce, warnedCollapse;

        public void Report(Training.TrainingProgress value)
        {
            inner.Report(value);
            if (value.Warning is not null && !warnedCollapse)
            {
                warnedCollapse = true;
                stderr.WriteLine($"vit train: WARNING: {value.Warning}.");
            }
            if (checkedOnce || !value.IsEpochEnd || value.Epoch < Math.Min(3, value.Epochs)) return;
            checkedOnce = true;
            double uniform = Math.Log(classes);
            if (!(value.Loss < 0.98 * uniform))
            {
                stderr.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "vit train: warning: after {0} epoch{4} the training loss {1:F3} is no lower than a uniform guess over {2} classes (ln {2} = {3:F3}): " +
                    "the model is not learning; try --recipe auto (the default), a lower --lr, or more --epochs.", value.Epoch, value.Loss, classes, uniform, value.Epoch == 1 ? "" : "s"));
            }
        }
    }
}
