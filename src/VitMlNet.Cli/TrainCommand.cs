using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Onnx;

namespace VitMlNet.Cli;

/// <summary>The settings of one <c>vit train</c> run.</summary>
internal sealed record TrainSettings(
    string Data,
    string Out,
    string? Test = null,
    double? TestFraction = null,
    string Preset = "seed",
    int? Epochs = null,
    int? Batch = null,
    double? LearningRate = null,
    int? ImageSize = null,
    int? Channels = null,
    int Seed = 42,
    double ValidationFraction = 0,
    string Device = "cpu",
    string? Report = null,
    bool Json = false,
    bool SkipBadImages = false,
    int? Limit = null,
    bool Int8 = false,
    bool? FlipAverage = null,
    string? TimeBudget = null,
    bool? ShiftAverage = null,
    string? From = null,
    int? Heads = null,
    double? LayerDecay = null,
    bool FreezeBackbone = false);

/// <summary>
/// <c>vit train</c>: loads the data, fits <see cref="ModelFile.ScoringPipeline"/>, saves the model zip, evaluates it on
/// the test data and writes the optional report.
/// </summary>
/// <remarks>
/// Input size: <c>--image-size N</c> (square) when given; otherwise the data's own size when it has one
/// (Fashion-MNIST and IDX 28×28, CIFAR-10 32×32), and the preset's size for image folders and CSV/TSV lists
/// (seed 32×32, tiny 16×16). Channels follow the data (1 for Fashion-MNIST, 3 for CIFAR-10, folders and lists)
/// unless <c>--channels</c> says otherwise. The preset gives the layers; its patch size must divide the input size.
/// </remarks>
internal static class TrainCommand
{
    public static Command Build(CliContext context)
    {
        var data = new Option<string>("--data") { HelpName = "SPEC", Description = "Training data: " + DataSpec.Syntax, Required = true };
        var test = new Option<string?>("--test") { HelpName = "SPEC", Description = "Test data (same forms as --data), evaluated after training" };
        var testFraction = new Option<double?>("--test-fraction") { HelpName = "F", Description = "Hold out this share of --data (stratified) as test data instead of --test" };
        var preset = new Option<string>("--preset") { HelpName = "NAME", Description = "Recipe (architecture + training options): " + string.Join(", ", VisionTransformerRecipes.Names), DefaultValueFactory = _ => "seed" };
        var epochs = new Option<int?>("--epochs") { HelpName = "N", Description = "Passes over the training data (default: the recipe's; seed: 10)" };
        var batch = new Option<int?>("--batch") { HelpName = "N", Description = "Images per step (default: the recipe's; seed: 64)" };
        var lr = new Option<double?>("--lr") { HelpName = "X", Description = "Peak learning rate (default: the recipe's; seed: 3e-4)" };
        var imageSize = new Option<int?>("--image-size") { HelpName = "N", Description = "Square input size in pixels (default: the data's native size, else the preset's)" };
        var channels = new Option<int?>("--channels") { HelpName = "1|3", Description = "1 (gray) or 3 (RGB) (default: the data's)" };
        var seed = new Option<int>("--seed") { HelpName = "N", Description = "Seed of initialization, shuffling and splits", DefaultValueFactory = _ => 42 };
        var validation = new Option<double>("--validation-fraction") { HelpName = "F", Description = "Share of the training data held out for per-epoch validation", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { HelpName = "DEVICE", Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var output = new Option<string>("--out") { HelpName = "FILE", Description = "Model zip to write", Required = true };
        var report = new Option<string?>("--report") { HelpName = "DIR", Description = "Folder for the report (metrics.json, charts)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (progress goes to stderr)" };
        var skip = new Option<bool>("--skip-bad-images") { Description = "Leave unreadable image files out (listed on stderr) instead of failing" };
        var limit = new Option<int?>("--limit") { HelpName = "N", Description = "Use only the first N images of --data and --test (quick trial runs)" };
        var int8 = new Option<bool>("--int8") { Description = "Save a zip that scores with int8-quantized encoder weights (faster on CPU, slightly less accurate)" };
        var flip = new Option<bool?>("--flip-average") { HelpName = "true|false", Description = "Score each image with its left-right mirror and average the two (default: the recipe's; fmnist-accurate: true)" };
        var shift = new Option<bool?>("--shift-average") { HelpName = "true|false", Description = "Also score each image moved by one pixel up, down, left and right and average the views (5x the scoring work; default: the recipe's; fmnist-accurate: true)" };
        var from = new Option<string?>("--from") { HelpName = "CHECKPOINT", Description = "Fine-tune a pretrained ViT: timm / Hugging Face / torchvision .safetensors, .pt/.pth/.bin or a Hugging Face model folder (its architecture, mean/std; AdamW, lr 5e-5 unless --lr)" };
        var heads = CheckpointCli.HeadsOption();
        var layerDecay = new Option<double?>("--layer-decay") { HelpName = "X", Description = "Layer-wise learning-rate decay for fine-tuning (e.g. 0.75; default: off)" };
        var freeze = new Option<bool>("--freeze-backbone") { Description = "Train the classifier head only (linear probing of a pretrained ViT)" };
        var budget = new Option<string?>("--time-budget") { HelpName = "TIME", Description = "Stop training when this much wall-clock time is spent, with the cosine schedule fitted to it; --epochs becomes a cap (seconds, or 90s, 55m, 1.5h, 0:55:00, or off; default: the recipe's; fmnist-accurate: 56m)" };
        var command = new Command("train", "Train a Vision Transformer and save an ML.NET model zip.")
        {
            data, test, testFraction, preset, epochs, batch, lr, imageSize, channels, seed, validation, device, output, report, json, skip, limit, int8, flip,
            budget, shift, from, heads, layerDecay, freeze,
        };
        command.SetAction(parse => Guard.Run("train", context.Error, () => Run(new TrainSettings(
            parse.GetValue(data)!, parse.GetValue(output)!, parse.GetValue(test), parse.GetValue(testFraction), parse.GetValue(preset)!,
            parse.GetValue(epochs), parse.GetValue(batch), parse.GetValue(lr), parse.GetValue(imageSize), parse.GetValue(channels),
            parse.GetValue(seed), parse.GetValue(validation), parse.GetValue(device)!, parse.GetValue(report), parse.GetValue(json),
            parse.GetValue(skip), parse.GetValue(limit), parse.GetValue(int8), parse.GetValue(flip), parse.GetValue(budget), parse.GetValue(shift),
            parse.GetValue(from), parse.GetValue(heads), parse.GetValue(layerDecay), parse.GetValue(freeze)), context)));
        return command;
    }

    /// <summary>The preset's canonical name, or a usage error listing the known ones.</summary>
    public static string CheckPreset(string name) =>
        ViTConfig.PresetNames.FirstOrDefault(p => string.Equals(p, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown preset '{name}'; known presets: {string.Join(", ", ViTConfig.PresetNames)}.");

    /// <summary>The recipe's canonical name, or a usage error listing the known ones.</summary>
    public static string CheckRecipe(string name) =>
        VisionTransformerRecipes.Names.FirstOrDefault(p => string.Equals(p, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown preset '{name}'; known presets: {string.Join(", ", VisionTransformerRecipes.Names)}.");

    public static int Run(TrainSettings s, CliContext context)
    {
        var inv = CultureInfo.InvariantCulture;
        var recipe = VisionTransformerRecipes.Apply(CheckRecipe(s.Preset));
        if (s.From is not null) CheckpointCli.ApplyFrom(s.From, s.Heads, s.LayerDecay, s.FreezeBackbone, recipe);
        var config = recipe.ResolveArchitecture();
        CheckSettings(s);
        int epochCount = s.Epochs ?? recipe.Epochs;
        int batchSize = s.Batch ?? recipe.BatchSize;
        double learningRate = s.LearningRate ?? recipe.LearningRate;
        var timeBudget = s.TimeBudget is null ? recipe.TimeBudget : ParseDuration(s.TimeBudget);
        var log = s.Json ? context.Error : context.Out;
        var clock = Stopwatch.StartNew();

        var train = LoadTraining(s.Data, s.ImageSize, config, s.Channels, s.SkipBadImages, s.Limit, context.Error);
        if (train.Height % config.PatchSize != 0 || train.Width % config.PatchSize != 0)
        {
            throw new UsageException($"the input size {train.Height}x{train.Width} is not a multiple of preset '{config.Name}''s patch size {config.PatchSize}; " +
                "choose --image-size accordingly.");
        }

        ImageDataset? testData = null;
        if (s.Test is not null)
        {
            testData = DataSpec.Parse(s.Test).LoadDataset(train.Height, train.Width, train.Channels, s.SkipBadImages);
            WarnSkipped(testData, context.Error);
            if (s.Limit is int testLimit) testData = testData.Take(testLimit);
            CheckTestClasses(train.ClassNames, testData);
        }
        else if (s.TestFraction is double f)
        {
            (train, testData) = train.Split(f, s.Seed);
        }

        log.WriteLine($"train: {Describe(train)} from {s.Data}");
        if (testData is not null) log.WriteLine($"test:  {Describe(testData)} from {s.Test ?? s.Data + string.Format(inv, " (held out {0:0.#}%)", s.TestFraction * 100)}");
        log.WriteLine($"model: preset {config.Name} ({config.Depth} blocks, dim {config.Dim}, patch {config.PatchSize}) on {train.Channels}x{train.Height}x{train.Width}, " +
                      $"{epochCount} epochs, batch {batchSize}, lr {learningRate.ToString("0.0##e+00", inv)}, {recipe.Optimizer}, {recipe.Schedule}, {s.Device}" +
                      (timeBudget is TimeSpan t ? string.Format(inv, "; time budget {0:0.##} min (the epochs are a cap)", t.TotalMinutes) : ""));

        var ml = new MLContext(s.Seed);
        var view = train.ToDataView(ml);
        var keyData = ml.Data.LoadFromEnumerable(train.ClassNames.Select(c => new LabelRow { Label = c }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(view).Transform(view);

        var display = TrainingDisplay.Create(context.Interactive && !s.Json, s.ValidationFraction > 0, log);
        var options = recipe;
        options.Epochs = epochCount;
        options.BatchSize = batchSize;
        options.LearningRate = learningRate;
        options.TimeBudget = timeBudget;
        options.Seed = s.Seed;
        if (s.Int8) options.ScoringPrecision = ViTOnnxWeightPrecision.DynamicInt8;
        if (s.FlipAverage is bool flipAverage) options.ScoringFlipAverage = flipAverage;
        if (s.ShiftAverage is bool shiftAverage) options.ScoringShiftAverage = shiftAverage;
        options.ValidationFraction = s.ValidationFraction;
        options.Device = s.Device;
        options.Progress = display;
        options.ProgressEverySteps = display.ProgressEverySteps;
        options.CancellationToken = context.Cancellation;
        var errors = options.GetErrors();
        if (errors.Count > 0) throw new UsageException(string.Join("; ", errors) + ".");

        var pipeline = ModelFile.ScoringPipeline(ml, train.Channels, train.Height, train.Width, options);
        var model = display.Run(() => pipeline.Fit(keyed));
        var vit = ((IEnumerable<ITransformer>)model).OfType<VisionTransformerTransformer>().Single();
        bool cancelled = context.Cancellation.IsCancellationRequested;
        if (timeBudget is not null && !cancelled && vit.TrainingHistory.Count < epochCount)
            log.WriteLine($"the time budget ended training in epoch {vit.TrainingHistory.Count} of at most {epochCount}");

        string? folder = Path.GetDirectoryName(Path.GetFullPath(s.Out));
        if (folder is not null) Directory.CreateDirectory(folder);
        // No input schema: ML.NET's binary saver cannot store an image column ("No valid columns to save"), and a
        // schema of the training data's other columns (Label) would wrongly suggest that scoring needs them.
        ml.Model.Save(model, null, s.Out);
        log.WriteLine($"saved {s.Out} ({new FileInfo(s.Out).Length / 1024.0:F0} KiB)");
        long parameters = ModelFile.ReadOnnx(s.Out).Weights.Values.Sum(w => (long)w.Data.Length);

        EvaluationResult? evaluation = null;
        if (testData is not null && !cancelled)
        {
            evaluation = ModelEvaluator.Evaluate(ml, model, testData, vit.ClassNames);
            log.WriteLine(string.Format(inv, "test accuracy {0:F4}  macro accuracy {1:F4}  log-loss {2:F4}  ({3} images)",
                evaluation.Accuracy, evaluation.MacroAccuracy, evaluation.LogLoss, evaluation.Count));
        }

        IReadOnlyList<string>? reportFiles = null;
        if (s.Report is not null)
        {
            reportFiles = ReportWriter.Write(s.Report, ReportData.Create("train", s.Out, s.Test ?? s.Data, vit.ClassNames, vit.TrainingHistory, evaluation, testData));
            log.WriteLine($"report: {s.Report}");
        }

        if (s.Json)
        {
            context.Out.WriteLine(CliJson.Serialize(new
            {
                model = Path.GetFullPath(s.Out),
                report = s.Report is null ? null : Path.GetFullPath(s.Report),
                reportFiles = reportFiles?.Select(Path.GetFullPath),
                data = s.Data,
                testData = s.Test,
                testFraction = s.TestFraction,
                classes = vit.ClassNames,
                trainImages = train.Count,
                testImages = testData?.Count,
                architecture = InfoCommand.ArchitectureJson(vit.Architecture),
                parameters,
                preset = s.Preset,
                epochs = epochCount,
                epochsRun = vit.TrainingHistory.Count,
                timeBudgetSeconds = timeBudget?.TotalSeconds,
                batch = batchSize,
                learningRate,
                seed = s.Seed,
                cancelled,
                seconds = CliJson.Number(clock.Elapsed.TotalSeconds, 2),
                history = vit.TrainingHistory.Select(ReportWriter.HistoryJson),
                test = evaluation?.ToJson(),
            }));
        }

        if (cancelled)
        {
            context.Error.WriteLine($"vit train: cancelled after {vit.TrainingHistory.Count} of {epochCount} epochs; the model so far was saved to {s.Out}.");
            return ExitCodes.Failure;
        }

        return ExitCodes.Ok;
    }

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
        if (scale > 0 && double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && double.IsFinite(n))
        {
            value = TimeSpan.FromSeconds(n * scale);
            return true;
        }
        if (scale == 0 && t.Contains(':') && TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
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
        if (s.TestFraction is double f && !(f > 0 && f < 1)) e.Add($"--test-fraction must be between 0 and 1 (got {f})");
        if (!(s.ValidationFraction >= 0 && s.ValidationFraction < 1)) e.Add($"--validation-fraction must be in [0, 1) (got {s.ValidationFraction})");
        if (string.IsNullOrWhiteSpace(s.Out)) e.Add("--out must name a file");
        if (s.TimeBudget is not null && !TryParseDuration(s.TimeBudget, out _))
            e.Add($"--time-budget must be a positive duration such as 600 (seconds), 90s, 55m, 1.5h or 0:55:00, or off (got '{s.TimeBudget}')");
        if (e.Count > 0) throw new UsageException(string.Join("; ", e) + ".");
    }

    private static void CheckTestClasses(string[] trainClasses, ImageDataset test)
    {
        var known = new HashSet<string>(trainClasses, StringComparer.Ordinal);
        var counts = test.CountPerClass();
        var unknown = test.ClassNames.Where((c, k) => counts[k] > 0 && !known.Contains(c)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"the test data has classes the training data lacks: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", ..." : "")}.");
        }
    }

    private static string Describe(ImageDataset d) =>
        $"{d.Count} images of {d.Channels}x{d.Height}x{d.Width}, {d.ClassNames.Length} classes";

    /// <summary>
    /// Loads the training data of <c>train</c> and <c>sweep</c>: <paramref name="imageSize"/> when given, else the
    /// data's native size (IDX, CIFAR-10), else the architecture's; skipped files are listed; <paramref name="limit"/> keeps the first N.
    /// </summary>
    public static ImageDataset LoadTraining(string data, int? imageSize, ViTConfig config, int? channels, bool skipBadImages, int? limit, TextWriter stderr)
    {
        var spec = DataSpec.Parse(data);
        (int? height, int? width) = imageSize is int n ? (n, n)
            : spec.HasNativeSize ? ((int?)null, (int?)null)
            : (config.ImageHeight, config.ImageWidth);
        var train = spec.LoadDataset(height, width, channels, skipBadImages);
        WarnSkipped(train, stderr);
        return limit is int most ? train.Take(most) : train;
    }

    /// <summary>Lists files a reader skipped (with <c>--skip-bad-images</c>) on stderr.</summary>
    public static void WarnSkipped(ImageDataset data, TextWriter stderr)
    {
        if (data.SkippedFiles.Count == 0) return;
        stderr.WriteLine($"vit: warning: skipped {data.SkippedFiles.Count} unreadable file(s):");
        foreach (var f in data.SkippedFiles.Take(20)) stderr.WriteLine($"  {f.Path}: {f.Reason}");
        if (data.SkippedFiles.Count > 20) stderr.WriteLine($"  ... and {data.SkippedFiles.Count - 20} more");
    }

    private sealed class LabelRow
    {
        public string Label { get; set; } = string.Empty;
    }
}
