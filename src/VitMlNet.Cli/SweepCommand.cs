using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Spectre.Console;
using VitMlNet.Data;
using VitMlNet.Experiments;
using VitMlNet.Modeling;

namespace VitMlNet.Cli;

/// <summary>The settings of one <c>vit sweep</c> run, each set by name (the command line's options).</summary>
internal sealed record SweepSettings
{
    public required string Data { get; init; }
    public required string Out { get; init; }
    public required double TimeBudgetSeconds { get; init; }
    public int? Trials { get; init; }
    public string Strategy { get; init; } = "halving";
    public string Metric { get; init; } = "accuracy";
    public string? Validation { get; init; }
    public double ValidationFraction { get; init; } = 0.2;
    public string Preset { get; init; } = "seed";
    public int Epochs { get; init; } = 9;
    public int MinEpochs { get; init; } = 1;
    public int Eta { get; init; } = 3;
    public int Batch { get; init; } = 64;
    public int? ImageSize { get; init; }
    public int? Channels { get; init; }
    public int Seed { get; init; } = 42;
    public string Device { get; init; } = "cpu";
    public int? Threads { get; init; }
    public int? Limit { get; init; }
    public string? Leaderboard { get; init; }
    public bool Json { get; init; }
    public bool SkipBadImages { get; init; }

    /// <summary>The output option as the user typed it (<c>-o</c>, <c>--output</c> or <c>--out</c>), for messages.</summary>
    public string OutOption { get; init; } = "--output";

    /// <summary>How much to print (<c>-v|--verbosity</c>).</summary>
    public Verbosity Verbosity { get; init; } = Verbosity.Normal;
}

/// <summary>
/// <c>vit sweep</c>: a hyperparameter search (<see cref="VisionTransformerExperiment"/>) over learning rate, weight decay,
/// depth, width, heads, patch size, dropout, drop-path, augmentation strength and label smoothing, within a time budget;
/// saves the best model as a zip with the same contract as <c>vit train</c>'s (image in, PredictedLabel string and Score out).
/// </summary>
/// <remarks>
/// Exit codes: 0 the best model was saved; 1 no trial finished, the sweep was cancelled (Ctrl+C; the best model so far is
/// still saved) or it failed; 2 bad usage or input (options, data spec, missing files). Errors are one line on stderr.
/// A terminal gets a live table of trials; redirected output gets a line when a trial (or a promoted rung) starts and one
/// when it finishes; <c>--json</c> prints one
/// JSON object on stdout at the end (progress lines then go to stderr).
/// </remarks>
internal static class SweepCommand
{
    /// <summary>
    /// The <c>sweep</c> verb writing to the given writers; Ctrl+C is the caller's, which cancels through
    /// <paramref name="cancellation"/> (e.g. an app-wide handler).
    /// </summary>
    internal static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var data = new Option<string>("--data") { HelpName = "SPEC", Description = "Training data: " + DataSpec.Syntax, Required = true };
        var budget = new Option<double>("--time-budget") { HelpName = "SECONDS", Description = "Wall-clock budget in seconds, data loading included", Required = true };
        var trials = new Option<int?>("--trials") { HelpName = "N", Description = "Maximum number of trials (default: as many as the budget allows)" };
        var strategy = new Option<string>("--strategy") { HelpName = "random|halving", Description = "random, or halving (ASHA-style successive halving)", DefaultValueFactory = _ => "halving" };
        var metric = new Option<string>("--metric") { HelpName = "METRIC", Description = "accuracy, macro-accuracy or log-loss", DefaultValueFactory = _ => "accuracy" };
        var validation = new Option<string?>("--validation") { HelpName = "SPEC", Description = "Validation data (same forms as --data) instead of a held-out fraction" };
        var fraction = new Option<double>("--validation-fraction") { HelpName = "F", Description = "Share of --data held out (stratified) for validation", DefaultValueFactory = _ => 0.2 };
        var preset = new Option<string>("--preset") { HelpName = "NAME", Description = "Base architecture preset: " + string.Join(", ", ViTConfig.PresetNames), DefaultValueFactory = _ => "seed" };
        var epochs = new Option<int>("--epochs") { HelpName = "N", Description = "Epochs of a full trial (halving's last rung)", DefaultValueFactory = _ => 9 };
        var minEpochs = new Option<int>("--min-epochs") { HelpName = "N", Description = "Halving: fewest epochs of the first rung", DefaultValueFactory = _ => 1 };
        var eta = new Option<int>("--eta") { HelpName = "N", Description = "Halving: promote the top 1/eta to eta times the epochs", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { HelpName = "N", Description = "Images per step", DefaultValueFactory = _ => 64 };
        var imageSize = new Option<int?>("--image-size") { HelpName = "N", Description = "Square input size in pixels (default: the data's native size, else the preset's)" };
        var channels = new Option<int?>("--channels") { HelpName = "1|3", Description = "1 (gray) or 3 (RGB) (default: the data's)" };
        var seed = new Option<int>("--seed") { HelpName = "N", Description = "Seed of sampling, the validation split and training", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { HelpName = "DEVICE", Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int?>("--threads") { HelpName = "N", Description = "libtorch threads (default: one per core)" };
        var limit = new Option<int?>("--limit") { HelpName = "N", Description = "Use only the first N images of --data and --validation" };
        var output = CliOptions.Output("FILE", "Zip to write the best model to");
        var leaderboard = new Option<string?>("--leaderboard") { HelpName = "FILE", Description = "CSV file for the leaderboard" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (progress goes to stderr)" };
        var skip = new Option<bool>("--skip-bad-images") { Description = "Leave unreadable image files out instead of failing" };
        var verbosity = CliOptions.VerbosityOption();
        var command = new Command("sweep", "Search hyperparameters within a time budget and save the best model.")
        {
            data, output, budget, trials, strategy, metric, validation, fraction, preset, epochs, minEpochs, eta, batch, imageSize, channels, seed,
            device, threads, limit, leaderboard, json, skip, verbosity,
        };
        command.SetAction(parse =>
        {
            var settings = new SweepSettings
            {
                Data = parse.GetValue(data)!, Out = parse.GetValue(output)!, OutOption = CliOptions.TypedName(parse, output),
                TimeBudgetSeconds = parse.GetValue(budget), Trials = parse.GetValue(trials), Strategy = parse.GetValue(strategy)!,
                Metric = parse.GetValue(metric)!, Validation = parse.GetValue(validation), ValidationFraction = parse.GetValue(fraction),
                Preset = parse.GetValue(preset)!, Epochs = parse.GetValue(epochs), MinEpochs = parse.GetValue(minEpochs), Eta = parse.GetValue(eta),
                Batch = parse.GetValue(batch), ImageSize = parse.GetValue(imageSize), Channels = parse.GetValue(channels), Seed = parse.GetValue(seed),
                Device = parse.GetValue(device)!, Threads = parse.GetValue(threads), Limit = parse.GetValue(limit),
                Leaderboard = parse.GetValue(leaderboard), Json = parse.GetValue(json), SkipBadImages = parse.GetValue(skip),
                Verbosity = parse.GetValue(verbosity),
            };
            return Guard.Run("sweep", stderr, () => Run(settings, stdout, stderr, interactive, cancellation),
                trace: settings.Verbosity >= Verbosity.Diagnostic);
        });
        return command;
    }

    /// <summary>Runs a sweep; see the class remarks for the exit codes.</summary>
    internal static int Run(SweepSettings s, TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation) =>
        new SweepRun(s, ViTConfig.FromPreset(CheckSettings(s)), new CliContext(stdout, stderr, interactive, cancellation) { Verbosity = s.Verbosity }).Run();

    /// <summary>The data of a sweep: training and validation images and the model's input.</summary>
    private sealed record SweepData(IImageSource Train, IImageSource? Validation, int Channels, int Height, int Width);

    /// <summary>One <c>vit sweep</c> run, step by step: check, read the data, search, save the best model, report.</summary>
    private sealed class SweepRun(SweepSettings s, ViTConfig config, CliContext context)
    {
        // -v: information and trials (normal), the stop reason and what was saved (minimal), the settings (detailed);
        // with --json they go to stderr. The best trial is the result: on stdout even with -v quiet (--json: in the JSON).
        private readonly TextWriter log = context.Log(Verbosity.Normal, s.Json);
        private readonly TextWriter summary = context.Log(Verbosity.Minimal, s.Json);
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly CultureInfo inv = CultureInfo.InvariantCulture;

        public int Run()
        {
            context.Log(Verbosity.Detailed, s.Json).WriteLine("settings: " + s.ToString().Replace(nameof(SweepSettings) + " ", "", StringComparison.Ordinal));
            CheckOutputs();
            var data = ReadData();
            var metric = ParseMetric(s.Metric)!.Value;
            var strategy = s.Strategy.Equals("random", StringComparison.OrdinalIgnoreCase)
                ? SearchStrategy.Random
                : SearchStrategy.SuccessiveHalving(s.MinEpochs, s.Eta);
            DescribeSweep(data, strategy);

            var ml = new MLContext(s.Seed);
            var (experiment, keyedTrain) = CreateExperiment(ml, data, metric, strategy);
            var display = SweepDisplay.Create(context.Interactive && !s.Json && s.Verbosity >= Verbosity.Normal, log);
            experiment.SetProgress(display);
            using var result = display.Run(() => experiment.Run(context.Cancellation));
            WriteLeaderboard(result);
            var best = SaveBest(ml, result, keyedTrain);
            if (s.Json) WriteJson(data, metric, strategy, result);

            if (best is null) return ExitCodes.Failure;
            if (result.StopReason == ExperimentStopReason.Cancelled)
            {
                context.Error.WriteLine($"vit sweep: cancelled; the best model so far was saved to {s.Out}.");
                return ExitCodes.Failure;
            }
            return ExitCodes.Ok;
        }

        private void CheckOutputs()
        {
            OutputChecks.CheckFile(s.Out, s.OutOption);
            OutputChecks.CheckNotInput(s.Out, s.OutOption, (s.Data, "--data"), (s.Validation, "--validation"), (s.Leaderboard, "--leaderboard"));
            if (s.Leaderboard is not null) OutputChecks.CheckFile(s.Leaderboard, "--leaderboard");
            OutputChecks.CheckNotInput(s.Leaderboard, "--leaderboard", (s.Data, "--data"), (s.Validation, "--validation"));
            OutputChecks.CheckOutsideInputs(s.Out, s.OutOption, (s.Data, "--data"), (s.Validation, "--validation"));
            OutputChecks.CheckOutsideInputs(s.Leaderboard, "--leaderboard", (s.Data, "--data"), (s.Validation, "--validation"));
        }

        private SweepData ReadData()
        {
            var train = TrainCommand.LoadTraining(s.Data, s.SkipBadImages, s.Limit, s.Seed, context.Error);
            var (channels, height, width) = TrainCommand.InputGeometry(train, config.Name, s.ImageSize, s.Channels, checkpoint: null);
            IImageSource? valid = null;
            if (s.Validation is not null)
            {
                valid = TrainCommand.LoadTraining(s.Validation, s.SkipBadImages, s.Limit, s.Seed, context.Error);
                TrainChecks.CheckClasses(valid, "the validation data", train.ClassNames);
            }
            return new SweepData(train, valid, channels, height, width);
        }

        private void DescribeSweep(SweepData data, SearchStrategy strategy)
        {
            log.WriteLine($"data: {data.Train.Count} images, {data.Train.ClassNames.Length} classes from {s.Data}, model input {data.Channels}x{data.Height}x{data.Width}" +
                (data.Validation is null ? string.Format(inv, " ({0:0.#}% held out for validation)", s.ValidationFraction * 100) : $"; validation: {data.Validation.Count} images from {s.Validation}"));
            log.WriteLine(string.Format(inv, "sweep: {0}, metric {1}, budget {2:0.#} s{3}, up to {4} epochs per trial, base preset {5}, batch {6}, {7}",
                strategy is SuccessiveHalvingStrategy h ? $"successive halving (rungs {string.Join("/", h.Rungs(s.Epochs))} epochs, eta {h.ReductionFactor})" : "random search",
                s.Metric, s.TimeBudgetSeconds, s.Trials is int t ? $", at most {t} trials" : "", s.Epochs, config.Name, s.Batch, s.Device));
        }

        /// <summary>The experiment over the keyed data. The label map is fitted apart and left out of the zip (as vit train does), so scoring needs only the Image column.</summary>
        private (VisionTransformerExperiment Experiment, IDataView KeyedTrain) CreateExperiment(MLContext ml, SweepData data, ExperimentMetric metric, SearchStrategy strategy)
        {
            var trainView = data.Train.ToDataView(ml);
            var labels = VisionTransformerPipeline.FitLabels(ml, trainView, data.Train.ClassNames);
            var keyedTrain = labels.Transform(trainView);
            var keyedValid = data.Validation is null ? null : labels.Transform(data.Validation.ToDataView(ml));
            var options = new VisionTransformerOptions
            {
                Preset = config.Name,
                Epochs = s.Epochs,
                BatchSize = s.Batch,
                Seed = s.Seed,
                Device = s.Device,
                Threads = s.Threads,
                ProgressEverySteps = 0,
            };
            var experiment = new VisionTransformerExperiment(ml, options)
                .SetPreprocessing(ImagePreprocessing.Estimator(ml, data.Channels, data.Height, data.Width))
                .SetMetric(metric)
                .SetStrategy(strategy)
                .SetTimeBudget(TimeSpan.FromSeconds(s.TimeBudgetSeconds))
                .SetSeed(s.Seed);
            experiment = keyedValid is null ? experiment.SetDataset(keyedTrain, s.ValidationFraction) : experiment.SetDataset(keyedTrain, keyedValid);
            if (s.Trials is int maxTrials) experiment.SetMaxTrials(maxTrials);
            return (experiment, keyedTrain);
        }

        private void WriteLeaderboard(ExperimentResult result)
        {
            if (s.Leaderboard is not null)
            {
                VitMlNet.IO.AtomicFile.Write(s.Leaderboard, stream => { using var writer = new StreamWriter(stream); result.WriteLeaderboardCsv(writer); });
                summary.WriteLine($"leaderboard: {s.Leaderboard}");
            }
            var board = result.Leaderboard;
            string counts = string.Format(inv, "{0} trials: {1} completed, {2} stopped, {3} failed", board.Count,
                board.Count(t => t.Status == TrialStatus.Completed), board.Count(t => t.Status == TrialStatus.Stopped), board.Count(t => t.Status == TrialStatus.Failed));
            summary.WriteLine(string.Format(inv, "stopped by {0} after {1:0.#} s; {2}", StopText(result.StopReason), clock.Elapsed.TotalSeconds, counts));
        }

        /// <summary>Saves the best trial's model with the same contract as <c>vit train</c>'s zip; null (and an error line) when no trial finished.</summary>
        private TrialResult? SaveBest(MLContext ml, ExperimentResult result, IDataView keyedTrain)
        {
            var best = result.BestTrial;
            if (best is null)
            {
                string why = result.Leaderboard.FirstOrDefault(t => t.Status == TrialStatus.Failed)?.Reason is string reason ? " (e.g. " + reason + ")" : "";
                context.Error.WriteLine($"vit sweep: error: no trial finished an epoch within the budget{why}; nothing saved.");
                return null;
            }
            var zip = ScoringChain.WithLabelNames(ml, result.Model!, keyedTrain);
            // No input schema: ML.NET's binary saver cannot store an image column (as vit train).
            VitMlNet.IO.AtomicFile.Write(s.Out, stream => ml.Model.Save(zip, null, stream));
            (s.Json ? summary : context.Out).WriteLine(string.Format(inv, "best: trial {0}, {1} {2:F4} after {3} epochs ({4:0.#} s): {5}", best.TrialId, s.Metric, best.Metric,
                best.Epochs, best.Seconds, best.Summary));
            summary.WriteLine($"saved {s.Out} ({new FileInfo(s.Out).Length / 1024.0:F0} KiB)");
            return best;
        }

        private void WriteJson(SweepData data, ExperimentMetric metric, SearchStrategy strategy, ExperimentResult result) =>
            context.Out.WriteLine(CliJson.Serialize(new
            {
                model = result.BestTrial is null ? null : Path.GetFullPath(s.Out),
                leaderboard = s.Leaderboard is null ? null : Path.GetFullPath(s.Leaderboard),
                data = s.Data,
                validation = s.Validation,
                validationFraction = s.Validation is null ? s.ValidationFraction : (double?)null,
                classes = data.Train.ClassNames,
                strategy = strategy is SuccessiveHalvingStrategy ? "halving" : "random",
                metric = s.Metric,
                higherIsBetter = metric.IsHigherBetter(),
                stopReason = StopText(result.StopReason),
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
                best = result.BestTrial is null ? null : TrialJson(result.BestTrial),
                trials = result.Leaderboard.Select(TrialJson),
            }));
    }

    private static object TrialJson(TrialResult t) => new
    {
        trial = t.TrialId,
        status = t.Status.ToString(),
        reason = t.Reason,
        metric = CliJson.Number(t.Metric),
        microAccuracy = CliJson.Number(t.MicroAccuracy),
        macroAccuracy = CliJson.Number(t.MacroAccuracy),
        logLoss = CliJson.Number(t.LogLoss),
        epochs = t.Epochs,
        seconds = Math.Round(t.Seconds, 2),
        parameters = t.Parameters.Values.ToDictionary(v => v.Key, v => v.Value),
    };

    private static string StopText(ExperimentStopReason reason) => reason switch
    {
        ExperimentStopReason.TrialLimit => "trial limit",
        ExperimentStopReason.TimeBudget => "time budget",
        ExperimentStopReason.Cancelled => "cancellation",
        _ => "repeated failures",
    };

    /// <summary>The metric named by <c>--metric</c>, or null (<see cref="CheckSettings"/> refuses it).</summary>
    private static ExperimentMetric? ParseMetric(string metric) => metric.ToLowerInvariant() switch
    {
        "accuracy" or "micro-accuracy" => ExperimentMetric.MicroAccuracy,
        "macro-accuracy" => ExperimentMetric.MacroAccuracy,
        "log-loss" or "logloss" => ExperimentMetric.LogLoss,
        _ => null,
    };

    /// <summary>Checks the settings; returns the preset's canonical name.</summary>
    private static string CheckSettings(SweepSettings s)
    {
        var e = new List<string>();
        string? preset = ViTConfig.PresetNames.FirstOrDefault(p => string.Equals(p, s.Preset, StringComparison.OrdinalIgnoreCase));
        if (preset is null) e.Add($"unknown preset '{s.Preset}'; known presets: {string.Join(", ", ViTConfig.PresetNames)}");
        if (!(s.TimeBudgetSeconds > 0) || !(s.TimeBudgetSeconds <= TrainChecks.MaxBudgetSeconds)) e.Add($"--time-budget must be a positive number of seconds of at most a year (got {s.TimeBudgetSeconds})");
        if (s.Trials is < 1) e.Add($"--trials must be at least 1 (got {s.Trials})");
        if (!s.Strategy.Equals("random", StringComparison.OrdinalIgnoreCase) && !s.Strategy.Equals("halving", StringComparison.OrdinalIgnoreCase))
            e.Add($"--strategy must be random or halving (got '{s.Strategy}')");
        if (ParseMetric(s.Metric) is null) e.Add($"--metric must be accuracy, macro-accuracy or log-loss (got '{s.Metric}')");
        if (!(s.ValidationFraction > 0 && s.ValidationFraction < 1)) e.Add($"--validation-fraction must be between 0 and 1 (got {s.ValidationFraction})");
        if (s.Epochs < 1) e.Add($"--epochs must be positive (got {s.Epochs})");
        if (s.MinEpochs < 1) e.Add($"--min-epochs must be positive (got {s.MinEpochs})");
        if (s.Eta < 2) e.Add($"--eta must be at least 2 (got {s.Eta})");
        if (s.Batch < 1) e.Add($"--batch must be positive (got {s.Batch})");
        if (s.ImageSize is <= 0) e.Add($"--image-size must be positive (got {s.ImageSize})");
        if (s.Channels is not (null or 1 or 3)) e.Add($"--channels must be 1 or 3 (got {s.Channels})");
        if (s.Threads is <= 0) e.Add($"--threads must be positive (got {s.Threads})");
        if (s.Limit is <= 0) e.Add($"--limit must be positive (got {s.Limit})");
        if (string.IsNullOrWhiteSpace(s.Out)) e.Add($"{s.OutOption} must name a file");
        if (e.Count > 0) throw new UsageException(string.Join("; ", e) + ".");
        return preset!;
    }

    /// <summary>Shows the trials while the sweep runs: a live table on a terminal, one line per finished run otherwise.</summary>
    private abstract class SweepDisplay : IProgress<TrialResult>
    {
        public static SweepDisplay Create(bool interactive, TextWriter log) => interactive ? new LiveSweepDisplay() : new PlainSweepDisplay(log);

        public abstract T Run<T>(Func<T> sweep);

        public abstract void Report(TrialResult value);
    }

    private sealed class PlainSweepDisplay(TextWriter log) : SweepDisplay
    {
        public override T Run<T>(Func<T> sweep) => sweep();

        public override void Report(TrialResult value)
        {
            log.WriteLine(value.Status == TrialStatus.Running
                ? string.Format(CultureInfo.InvariantCulture, "trial {0} running to {1} epochs: {2}", value.TrialId, value.Options?.Epochs, value.Summary)
                : value.ToString());
            log.Flush();
        }
    }

    /// <summary>A Spectre.Console live table: one row per trial, updated as it runs, is promoted, stops or fails.</summary>
    private sealed class LiveSweepDisplay : SweepDisplay
    {
        private readonly Table table = new Table().NoBorder();
        private readonly Dictionary<int, int> rows = new();
        private LiveDisplayContext? context;

        public LiveSweepDisplay()
        {
            foreach (var h in new[] { "trial", "status", "metric", "epochs", "sec" })
                table.AddColumn(new TableColumn($"[bold]{h}[/]").RightAligned().Padding(0, 0, 1, 0));
            table.AddColumn(new TableColumn("[bold]parameters / reason[/]").Padding(0, 0, 1, 0));
        }

        public override T Run<T>(Func<T> sweep) =>
            AnsiConsole.Live(table).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).Cropping(VerticalOverflowCropping.Top)
                .Start(ctx =>
                {
                    context = ctx;
                    return sweep();
                });

        public override void Report(TrialResult t)
        {
            var inv = CultureInfo.InvariantCulture;
            string status = t.Status switch
            {
                TrialStatus.Running => "[yellow]running[/]",
                TrialStatus.Completed => "[green]completed[/]",
                TrialStatus.Stopped => "[grey]stopped[/]",
                _ => "[red]failed[/]",
            };
            var cells = new[]
            {
                t.TrialId.ToString(inv),
                status,
                double.IsFinite(t.Metric) ? t.Metric.ToString("F4", inv) : "",
                t.Status == TrialStatus.Running && t.Options is not null ? $"{t.Epochs}→{t.Options.Epochs}" : t.Epochs.ToString(inv),
                t.Seconds.ToString("F0", inv),
                Markup.Escape(t.Reason is null ? t.Summary : t.Summary + " — " + t.Reason),
            };
            if (rows.TryGetValue(t.TrialId, out int row))
            {
                for (int c = 0; c < cells.Length; c++) table.UpdateCell(row, c, cells[c]);
            }
            else
            {
                rows[t.TrialId] = table.Rows.Count;
                table.AddRow(cells);
            }
            context?.Refresh();
        }
    }
}
