using System.Globalization;
using Microsoft.ML;

namespace VitMlNet.Experiments;

/// <summary>Why an experiment stopped.</summary>
internal enum ExperimentStopReason
{
    /// <summary>It ran the maximum number of trials (and, for successive halving, every promotion they earned).</summary>
    TrialLimit,

    /// <summary>The time budget ran out; the trial in progress was stopped.</summary>
    TimeBudget,

    /// <summary>The cancellation token fired; the trials finished so far are returned.</summary>
    Cancelled,

    /// <summary>
    /// Too many trials in a row failed (see <see cref="VisionTransformerExperiment.MaxConsecutiveFailures"/>): the search space
    /// or the base options most likely cannot fit the data; the leaderboard's reasons say why.
    /// </summary>
    ConsecutiveFailures,
}

/// <summary>
/// The outcome of a <see cref="VisionTransformerExperiment"/>: the leaderboard, best first, and the best model as an
/// ML.NET <see cref="ITransformer"/> (the fitted preprocessing followed by the trained <see cref="VisionTransformerTransformer"/>)
/// that <c>mlContext.Model.Save</c>, <c>Load</c> and <c>PredictionEngine</c> take like any trained pipeline.
/// Dispose it to release the model's ONNX Runtime session.
/// </summary>
public sealed class ExperimentResult : IDisposable
{
    internal ExperimentResult(ExperimentMetric metric, IReadOnlyList<TrialResult> leaderboard, ITransformer? model,
        VisionTransformerTransformer? transformer, IReadOnlyList<string> classNames, ExperimentStopReason stopReason, TimeSpan elapsed)
    {
        Metric = metric;
        Leaderboard = leaderboard;
        Model = model;
        VisionTransformer = transformer;
        ClassNames = classNames;
        StopReason = stopReason;
        Elapsed = elapsed;
    }

    /// <summary>The optimized metric.</summary>
    public ExperimentMetric Metric { get; }

    /// <summary>
    /// Every trial, best first: by <see cref="TrialResult.Metric"/> in the metric's direction (ties: the one reached first),
    /// failed and unevaluated trials last in trial order.
    /// </summary>
    public IReadOnlyList<TrialResult> Leaderboard { get; }

    /// <summary>The top of the leaderboard when it has a model, else null (no trial was evaluated).</summary>
    public TrialResult? BestTrial => Model is null ? null : Leaderboard[0];

    /// <summary>
    /// The best trial's model: the preprocessing transformer (when the experiment had a preprocessing estimator) followed by
    /// the trained <see cref="VisionTransformerTransformer"/>; evaluating it on the validation data reproduces
    /// <see cref="BestTrial"/>'s metric (with cross-validation, it is the best fold's model). Null when no trial was evaluated.
    /// </summary>
    public ITransformer? Model { get; }

    /// <summary>The trained transformer inside <see cref="Model"/> (its architecture, class names and training history).</summary>
    public VisionTransformerTransformer? VisionTransformer { get; }

    /// <summary>Class names in key order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Why the experiment stopped.</summary>
    internal ExperimentStopReason StopReason { get; }

    /// <summary>Wall-clock time of the whole experiment, data loading included.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>
    /// Writes the leaderboard as CSV (invariant culture, RFC 4180 quoting): rank, trial, status, metric, micro_accuracy,
    /// macro_accuracy, log_loss, epochs, seconds, parameters, reason.
    /// </summary>
    /// <param name="writer">The destination.</param>
    public void WriteLeaderboardCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine("rank,trial,status,metric,micro_accuracy,macro_accuracy,log_loss,epochs,seconds,parameters,reason");
        int rank = 0;
        foreach (var t in Leaderboard)
        {
            rank++;
            writer.WriteLine(string.Join(",",
                rank.ToString(CultureInfo.InvariantCulture), t.TrialId.ToString(CultureInfo.InvariantCulture), t.Status.ToString(),
                Number(t.Metric), Number(t.MicroAccuracy), Number(t.MacroAccuracy), Number(t.LogLoss),
                t.Epochs.ToString(CultureInfo.InvariantCulture), t.Seconds.ToString("0.###", CultureInfo.InvariantCulture),
                Quote(t.Summary), Quote(t.Reason ?? "")));
        }
    }

    /// <inheritdoc />
    public void Dispose() => VisionTransformer?.Dispose();

    private static string Number(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) =>
        s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0 ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
