using VitMlNet.Modeling;

namespace VitMlNet.Training;

/// <summary>The outcome of a training run.</summary>
internal sealed class TrainingResult(VisionTransformer model, IReadOnlyList<EpochSummary> history, int bestEpoch, bool cancelled,
    bool earlyStopped, bool timeBudgetSpent = false) : IDisposable
{

    /// <summary>The trained model (eval mode): best-validation weights when kept, EMA weights when enabled, else the last.</summary>
    public VisionTransformer Model { get; } = model;

    /// <summary>One summary per completed epoch.</summary>
    public IReadOnlyList<EpochSummary> History { get; } = history;

    /// <summary>Epoch whose weights were returned (1-based; 0 when cancelled before the first epoch ended).</summary>
    public int BestEpoch { get; } = bestEpoch;

    /// <summary>Whether the cancellation token stopped training.</summary>
    public bool Cancelled { get; } = cancelled;

    /// <summary>Whether early stopping ended training.</summary>
    public bool EarlyStopped { get; } = earlyStopped;

    /// <summary>Whether <see cref="VisionTransformerOptions.TimeBudget"/> ended training (the last epoch may be partial).</summary>
    public bool TimeBudgetSpent { get; } = timeBudgetSpent;

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
