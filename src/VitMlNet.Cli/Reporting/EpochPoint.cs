using VitMlNet.Training;

namespace VitMlNet.Cli.Reporting;

/// <summary>Figures of one epoch for <see cref="TrainingCurves"/>.</summary>
/// <param name="Epoch">Epoch number (1-based in the trainer; must increase from point to point).</param>
/// <param name="TrainLoss">Mean training loss. NaN or infinity (a diverged run) leaves a gap in the curve.</param>
/// <param name="TrainAccuracy">Training accuracy as a fraction in [0, 1]; NaN leaves a gap.</param>
/// <param name="ValidationLoss">Validation loss, or null without validation.</param>
/// <param name="ValidationAccuracy">Validation accuracy as a fraction in [0, 1], or null without validation.</param>
internal sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss = null, double? ValidationAccuracy = null)
{
    /// <summary>The point of a trainer's epoch summary.</summary>
    /// <param name="summary">A summary from <see cref="TrainingResult.History"/>.</param>
    /// <returns>The epoch's losses and accuracies.</returns>
    public static EpochPoint From(EpochSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new EpochPoint(summary.Epoch, summary.Loss, summary.TrainAccuracy, summary.ValidationLoss, summary.ValidationAccuracy);
    }
}
