using VitMlNet.Training;

namespace VitMlNet.Experiments;

/// <summary>Where a trial stands.</summary>
public enum TrialStatus
{
    /// <summary>Training is under way (only in progress reports sent when a trial or a promoted rung starts).</summary>
    Running,

    /// <summary>Trained for the full epoch budget (or until early stopping).</summary>
    Completed,

    /// <summary>Stopped before the full budget: not promoted by successive halving, or cut by the time budget or cancellation; <see cref="TrialResult.Reason"/> says which.</summary>
    Stopped,

    /// <summary>Not trained or training threw; <see cref="TrialResult.Reason"/> says why (e.g. a patch size that does not divide the image).</summary>
    Failed,
}

/// <summary>
/// One trial of a <see cref="VisionTransformerExperiment"/>: the sampled values, the options they gave, the validation
/// metrics and what happened. Successive halving reports a trial again after every rung; the latest report supersedes
/// earlier ones with the same <see cref="TrialId"/>.
/// </summary>
public sealed record TrialResult
{
    /// <summary>1-based trial number, in the order trials were sampled.</summary>
    public required int TrialId { get; init; }

    /// <summary>The values drawn from the search space.</summary>
    public required TrialParameters Parameters { get; init; }

    /// <summary>The options the trial trained with (a copy; <see cref="VisionTransformerOptions.Epochs"/> is the epoch budget of its last run). Null when applying the parameters failed.</summary>
    public VisionTransformerOptions? Options { get; init; }

    /// <summary>Status.</summary>
    public required TrialStatus Status { get; init; }

    /// <summary>Why a trial failed or stopped early; null for completed trials.</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// The optimized metric on the validation data (the mean over folds with cross-validation); for successive halving, the
    /// best over the trial's rungs, whose model is the one kept. NaN when the trial failed or has not been evaluated.
    /// </summary>
    public double Metric { get; init; } = double.NaN;

    /// <summary>Validation micro-accuracy of the model behind <see cref="Metric"/> (mean over folds). NaN when not evaluated.</summary>
    public double MicroAccuracy { get; init; } = double.NaN;

    /// <summary>Validation macro-accuracy of the model behind <see cref="Metric"/> (mean over folds). NaN when not evaluated.</summary>
    public double MacroAccuracy { get; init; } = double.NaN;

    /// <summary>Validation log-loss of the model behind <see cref="Metric"/> (mean over folds). NaN when not evaluated.</summary>
    public double LogLoss { get; init; } = double.NaN;

    /// <summary>With cross-validation, the metric of each fold (for the model behind <see cref="Metric"/>); otherwise empty.</summary>
    public IReadOnlyList<double> FoldMetrics { get; init; } = Array.Empty<double>();

    /// <summary>Epochs trained so far (for successive halving, including earlier rungs; with cross-validation, per fold).</summary>
    public int Epochs { get; init; }

    /// <summary>Wall-clock seconds spent on the trial (training and evaluation, all rungs and folds).</summary>
    public double Seconds { get; init; }

    /// <summary>Per-epoch figures of the trial's latest run (the first fold's, with cross-validation).</summary>
    public IReadOnlyList<EpochSummary> History { get; init; } = Array.Empty<EpochSummary>();

    /// <summary>A compact summary of the sampled values, e.g. <c>LearningRate=1.2e-3 Depth=4 PatchSize=4</c>.</summary>
    public string Summary => Parameters.ToString();

    /// <summary>A one-line description.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        FormattableString.Invariant($"trial {TrialId} {Status} metric={Metric:F4} epochs={Epochs} seconds={Seconds:F1} {Summary}") +
        (Reason is null ? "" : $" ({Reason})");
}
