using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
using VitMlNet.Training;

namespace VitMlNet.Experiments;

/// <summary>Runs one experiment: data once, then trials by random search or successive halving, tracking the best model.</summary>
internal sealed class ExperimentRunner(ExperimentSettings s)
{
    private readonly List<TrialState> trials = new();
    private readonly Random sampler = new(s.Seed);
    private readonly Stopwatch clock = new();
    private ExperimentData? data;
    private string? workDirectory;
    private CancellationToken userToken;
    private CancellationToken budgetToken;
    private long evaluations;
    private int consecutiveFailures;
    private VisionTransformerTransformer? best;
    private double bestMetric = double.NaN;

    public ExperimentResult Run(CancellationToken cancellationToken)
    {
        clock.Start();
        using var user = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, s.BaseOptions.CancellationToken);
        using var budget = new CancellationTokenSource();
        if (s.TimeBudget is TimeSpan limit) budget.CancelAfter(limit);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(user.Token, budget.Token);
        userToken = user.Token;
        budgetToken = budget.Token;

        var o = s.BaseOptions;
        try
        {
            data = ExperimentData.Prepare(s.Ml, s.Preprocessing, s.Train, s.Validation, s.ValidationFraction, s.Folds, s.Seed, o, either.Token);
        }
        catch (OperationCanceledException) when (either.IsCancellationRequested)
        {
            return new ExperimentResult(s.Metric, Array.Empty<TrialResult>(), null, null, Array.Empty<string>(), StopReason() ?? ExperimentStopReason.Cancelled, clock.Elapsed);
        }

        try
        {
            ExperimentStopReason reason = s.Strategy is SuccessiveHalvingStrategy halving ? RunHalving(halving) : RunRandom();
            var leaderboard = Leaderboard();
            ITransformer? model = best is null ? null : ScoringChain.Append(data.Preprocessing, best);
            var result = new ExperimentResult(s.Metric, leaderboard, model, best, data.ClassNames, reason, clock.Elapsed);
            best = null;
            return result;
        }
        finally
        {
            best?.Dispose();
            data.Dispose();
            // Best effort: a temporary folder left behind is harmless.
            IO.AtomicFile.TryDeleteFolder(workDirectory);
        }
    }

    private ExperimentStopReason? StopReason() =>
        userToken.IsCancellationRequested ? ExperimentStopReason.Cancelled
        : budgetToken.IsCancellationRequested ? ExperimentStopReason.TimeBudget
        : consecutiveFailures >= VisionTransformerExperiment.MaxConsecutiveFailures ? ExperimentStopReason.ConsecutiveFailures
        : null;

    private ExperimentStopReason RunRandom()
    {
        int epochs = s.BaseOptions.Epochs;
        for (int id = 1; ; id++)
        {
            if (StopReason() is ExperimentStopReason stop) return stop;
            if (s.MaxTrials is int most && id > most) return ExperimentStopReason.TrialLimit;
            var trial = NewTrial(id);
            if (trial.Status == TrialStatus.Failed) continue;
            RunTrial(trial, epochs, isLastRung: true);
        }
    }

    private ExperimentStopReason RunHalving(SuccessiveHalvingStrategy h)
    {
        var rungs = h.Rungs(s.BaseOptions.Epochs);
        var finished = Enumerable.Range(0, rungs.Count).Select(_ => new List<(TrialState Trial, double Metric, long Sequence)>()).ToArray();
        var promoted = Enumerable.Range(0, rungs.Count).Select(_ => new HashSet<int>()).ToArray();
        int nextId = 1;
        ExperimentStopReason reason;
        while (true)
        {
            if (StopReason() is ExperimentStopReason stop)
            {
                reason = stop;
                break;
            }

            // ASHA: promote the best not-yet-promoted trial in the top 1/η of the highest rung that has one, else start a new trial.
            TrialState? trial = null;
            int rung = 0;
            for (int k = rungs.Count - 2; k >= 0 && trial is null; k--)
            {
                var ranked = finished[k].OrderBy(r => r.Metric, MetricOrder()).ThenBy(r => r.Sequence).ToList();
                foreach (var r in ranked.Take(ranked.Count / h.ReductionFactor))
                {
                    if (promoted[k].Add(r.Trial.Id))
                    {
                        trial = r.Trial;
                        rung = k + 1;
                        break;
                    }
                }
            }
            if (trial is null)
            {
                if (s.MaxTrials is int most && nextId > most)
                {
                    reason = ExperimentStopReason.TrialLimit;
                    break;
                }
                trial = NewTrial(nextId++);
                if (trial.Status == TrialStatus.Failed) continue;
            }

            var outcome = RunTrial(trial, rungs[rung], isLastRung: rung == rungs.Count - 1, halvingRung: rung);
            if (outcome is RunOutcome.Evaluated { Interrupted: false } e)
            {
                finished[rung].Add((trial, e.Metric, e.Sequence));
                if (e.EarlyStopped) promoted[rung].Add(trial.Id);
            }
        }

        foreach (var t in trials.Where(t => t.AwaitingPromotion))
        {
            t.AwaitingPromotion = false;
            t.Reason = string.Format(CultureInfo.InvariantCulture, "not promoted: outside the top 1/{0} after {1} epochs", h.ReductionFactor, t.Epochs);
            t.DeleteCheckpoints();
        }
        return reason;
    }

    private IComparer<double> MetricOrder() => s.Metric.IsHigherBetter()
        ? Comparer<double>.Create((a, b) => b.CompareTo(a))
        : Comparer<double>.Default;

    private TrialState NewTrial(int id)
    {
        var context = data!.Context;
        var parameters = s.SearchSpace.Sample(sampler, context);
        var trial = new TrialState(id, parameters);
        trials.Add(trial);
        try
        {
            var options = TrialOptions(s.SearchSpace.Apply(s.BaseOptions, parameters, context));
            options.Architecture = options.ResolveArchitecture().WithInput(data.Channels, data.Height, data.Width, data.ClassNames.Length);
            trial.Options = options;
            var errors = options.GetErrors();
            if (errors.Count > 0) return Fail(trial, string.Join("; ", errors));
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            // The space's apply actions and AfterApply hook are user code: any exception fails this trial only.
            return Fail(trial, "the sampled values could not be applied: " + e.Message);
        }
        return trial;
    }

    private TrialState Fail(TrialState trial, string reason)
    {
        trial.Status = TrialStatus.Failed;
        trial.Reason = reason;
        trial.AwaitingPromotion = false;
        trial.DeleteCheckpoints();
        consecutiveFailures++;
        s.Progress?.Report(trial.ToResult());
        return trial;
    }

    /// <summary>Trains <paramref name="trial"/> to <paramref name="epochs"/> on every fold, evaluates it and updates the best model.</summary>
    private RunOutcome RunTrial(TrialState trial, int epochs, bool isLastRung, int? halvingRung = null)
    {
        var started = Stopwatch.StartNew();
        trial.Status = TrialStatus.Running;
        trial.Reason = null;
        trial.AwaitingPromotion = false;
        trial.Target = epochs;
        s.Progress?.Report(trial.ToResult());

        using var run = CancellationTokenSource.CreateLinkedTokenSource(userToken, budgetToken);
        RunOutcome outcome;
        try
        {
            outcome = Train(trial, epochs, halvingRung is not null, run.Token);
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            outcome = new RunOutcome.NotEvaluated();
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            trial.Seconds += started.Elapsed.TotalSeconds;
            string prefix = halvingRung is > 0 ? string.Format(CultureInfo.InvariantCulture, "training to {0} epochs failed: ", epochs) : "";
            Fail(trial, prefix + e.Message);
            return new RunOutcome.NotEvaluated();
        }
        trial.Seconds += started.Elapsed.TotalSeconds;

        if (outcome is not RunOutcome.Evaluated e2)
        {
            // Stopped before the first epoch ended: keep what earlier rungs gave, if anything.
            trial.Status = TrialStatus.Stopped;
            trial.Reason = InterruptedReason(trial.Epochs, epochs);
            trial.DeleteCheckpoints();
            if (double.IsNaN(trial.Metric)) trials.Remove(trial);
            else s.Progress?.Report(trial.ToResult());
            return outcome;
        }

        consecutiveFailures = 0;
        trial.Epochs = e2.Epochs;
        trial.History = e2.History;
        if (e2.Interrupted)
        {
            trial.Status = TrialStatus.Stopped;
            trial.Reason = InterruptedReason(e2.Epochs, epochs);
            trial.DeleteCheckpoints();
        }
        else if (isLastRung || e2.EarlyStopped)
        {
            trial.Status = TrialStatus.Completed;
            trial.Reason = e2.EarlyStopped ? string.Format(CultureInfo.InvariantCulture, "early stopping after {0} of {1} epochs", e2.Epochs, epochs) : null;
            trial.DeleteCheckpoints();
        }
        else
        {
            trial.Status = TrialStatus.Stopped;
            trial.AwaitingPromotion = true;
            trial.Reason = string.Format(CultureInfo.InvariantCulture, "after {0} epochs, awaiting promotion", e2.Epochs);
        }
        s.Progress?.Report(trial.ToResult());
        return outcome;
    }

    private string InterruptedReason(int done, int target) => string.Format(CultureInfo.InvariantCulture, "{0} after {1} of {2} epochs",
        userToken.IsCancellationRequested ? "cancelled" : "time budget reached", done, target);

    private RunOutcome Train(TrialState trial, int epochs, bool checkpoints, CancellationToken token)
    {
        var d = data!;
        var o = trial.Options!.Clone();
        o.Epochs = epochs;
        o.CancellationToken = token;
        o.Progress = s.BaseOptions.Progress;
        var fits = new List<FoldFit>();
        try
        {
            for (int f = 0; f < d.Folds.Count; f++)
            {
                var fold = d.Folds[f];
                string? directory = checkpoints ? trial.CheckpointDirectory(WorkDirectory(), f) : null;
                o.CheckpointDirectory = directory;
                o.ResumeFromCheckpoint = directory is not null;
                // A run resuming its checkpoint keeps the trial's architecture; a fresh one starts from the options'.
                bool resuming = directory is not null && Checkpoint.Exists(directory);
                var (result, config) = ViTTrainingEngine.Run(o, resuming ? trial.Config ?? o.Architecture! : o.Architecture!,
                    fold.Train, fold.Validation, fromInitialModel: !resuming);
                trial.Config = config;
                using (result)
                {
                    if (result.History.Count == 0) return new RunOutcome.NotEvaluated();
                    var stored = TrialOptions(o);
                    var transformer = VisionTransformerTransformer.Create(result.Model, d.ClassNames, stored, result.History, d.SchemaView, fold.Train);
                    fits.Add(new FoldFit(transformer, Evaluate(transformer, fold.EvaluationView, o), result.History, result.Cancelled, result.EarlyStopped));
                    // A fold cut short leaves the later folds untrained: the mean would not be comparable.
                    if (result.Cancelled && f < d.Folds.Count - 1) return new RunOutcome.NotEvaluated();
                }
            }
            return Record(trial, fits);
        }
        finally
        {
            foreach (var fit in fits) fit.Transformer?.Dispose();
        }
    }

    /// <summary>
    /// A copy of <paramref name="options"/> as a trial stores it: the experiment holds the data (no teacher column,
    /// validation data or fraction), and a single run's checkpoints, progress and cancellation are left out.
    /// </summary>
    internal static VisionTransformerOptions TrialOptions(VisionTransformerOptions options)
    {
        var o = options.Clone();
        o.TeacherColumnName = null;
        o.ValidationData = null;
        o.ValidationFraction = 0;
        o.CheckpointDirectory = null;
        o.ResumeFromCheckpoint = false;
        o.Progress = null;
        o.CancellationToken = default;
        return o;
    }

    private MulticlassClassificationMetrics Evaluate(VisionTransformerTransformer transformer, IDataView view, VisionTransformerOptions o) =>
        s.Ml.MulticlassClassification.Evaluate(transformer.Transform(view), o.LabelColumnName, o.ScoreColumnName, o.PredictedLabelColumnName);

    /// <summary>Updates the trial with a finished run and keeps the best fold's transformer when it is the best model so far.</summary>
    private RunOutcome Record(TrialState trial, List<FoldFit> fits)
    {
        var m = s.Metric;
        var values = fits.Select(f => m.Select(f.Metrics)).ToArray();
        double value = values.Average();
        long sequence = ++evaluations;
        if (m.IsBetter(value, trial.Metric))
        {
            trial.Metric = value;
            trial.MicroAccuracy = fits.Average(f => f.Metrics.MicroAccuracy);
            trial.MacroAccuracy = fits.Average(f => f.Metrics.MacroAccuracy);
            trial.LogLoss = fits.Average(f => f.Metrics.LogLoss);
            trial.FoldMetrics = fits.Count > 1 ? values : Array.Empty<double>();
            trial.Sequence = sequence;
            if (m.IsBetter(value, bestMetric))
            {
                // The best fold (the first of equals) gives the kept model.
                int keep = Enumerable.Range(0, values.Length).Aggregate((k, i) => m.IsBetter(values[i], values[k]) ? i : k);
                best?.Dispose();
                best = fits[keep].Transformer;
                fits[keep] = fits[keep] with { Transformer = null };
                bestMetric = value;
            }
        }
        return new RunOutcome.Evaluated(value, sequence, fits.Max(f => f.History.Count), fits[0].History,
            fits.Any(f => f.Cancelled), fits.Any(f => f.EarlyStopped));
    }

    private List<TrialResult> Leaderboard()
    {
        var order = MetricOrder();
        var evaluated = trials.Where(t => !double.IsNaN(t.Metric)).OrderBy(t => t.Metric, order).ThenBy(t => t.Sequence);
        var rest = trials.Where(t => double.IsNaN(t.Metric)).OrderBy(t => t.Id);
        return evaluated.Concat(rest).Select(t => t.ToResult()).ToList();
    }

    private string WorkDirectory() =>
        workDirectory ??= Path.Combine(Path.GetTempPath(), "vit-experiment-" + Guid.NewGuid().ToString("N"));

    private sealed record FoldFit(VisionTransformerTransformer? Transformer, MulticlassClassificationMetrics Metrics,
        IReadOnlyList<EpochSummary> History, bool Cancelled, bool EarlyStopped);
}

/// <summary>What a trial's run produced.</summary>
internal abstract record RunOutcome
{
    /// <summary>Stopped before any epoch ended (or a cross-validation fold was cut short): nothing to evaluate.</summary>
    public sealed record NotEvaluated : RunOutcome;

    /// <summary>Trained and evaluated; <paramref name="Interrupted"/> when the time budget or cancellation cut it short.</summary>
    public sealed record Evaluated(double Metric, long Sequence, int Epochs, IReadOnlyList<EpochSummary> History, bool Interrupted, bool EarlyStopped) : RunOutcome;
}

/// <summary>The mutable state of one trial while the experiment runs.</summary>
internal sealed class TrialState(int id, TrialParameters parameters)
{
    private string? checkpointRoot;

    public int Id { get; } = id;

    public TrialParameters Parameters { get; } = parameters;

    public VisionTransformerOptions? Options { get; set; }

    /// <summary>The architecture trained (fixed after the first run so that resumed rungs match their checkpoints).</summary>
    public ViTConfig? Config { get; set; }

    public TrialStatus Status { get; set; } = TrialStatus.Running;

    public string? Reason { get; set; }

    public bool AwaitingPromotion { get; set; }

    public int Target { get; set; }

    public double Metric { get; set; } = double.NaN;

    public double MicroAccuracy { get; set; } = double.NaN;

    public double MacroAccuracy { get; set; } = double.NaN;

    public double LogLoss { get; set; } = double.NaN;

    public IReadOnlyList<double> FoldMetrics { get; set; } = Array.Empty<double>();

    public long Sequence { get; set; } = long.MaxValue;

    public int Epochs { get; set; }

    public double Seconds { get; set; }

    public IReadOnlyList<EpochSummary> History { get; set; } = Array.Empty<EpochSummary>();

    public string CheckpointDirectory(string workDirectory, int fold)
    {
        checkpointRoot ??= Path.Combine(workDirectory, "trial-" + Id.ToString(CultureInfo.InvariantCulture));
        return Path.Combine(checkpointRoot, "fold-" + fold.ToString(CultureInfo.InvariantCulture));
    }

    public void DeleteCheckpoints() => IO.AtomicFile.TryDeleteFolder(checkpointRoot);

    public TrialResult ToResult()
    {
        VisionTransformerOptions? options = null;
        if (Options is not null)
        {
            options = Options.Clone();
            if (Config is not null) options.Architecture = Config;
            if (Target > 0) options.Epochs = Target;
        }
        return new TrialResult
        {
            TrialId = Id,
            Parameters = Parameters,
            Options = options,
            Status = Status,
            Reason = Reason,
            Metric = Metric,
            MicroAccuracy = MicroAccuracy,
            MacroAccuracy = MacroAccuracy,
            LogLoss = LogLoss,
            FoldMetrics = FoldMetrics,
            Epochs = Epochs,
            Seconds = Seconds,
            History = History,
        };
    }
}
