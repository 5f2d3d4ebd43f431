using System.Globalization;

namespace VitMlNet.Training;

/// <summary>
/// Training stopped because the loss or the weights stopped being finite numbers (NaN or infinity), typically from a
/// learning rate far too high. Nothing is returned for such a run; a checkpoint, when one is written, keeps the last
/// epoch whose weights were finite.
/// </summary>
internal sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for a non-finite value seen in <paramref name="epoch"/>.</summary>
    /// <param name="epoch">The epoch (1-based).</param>
    /// <param name="step">The step within the epoch (1-based), or 0 when the weights were checked at the epoch's end.</param>
    /// <param name="what">What was not finite ("the loss is NaN", "weight 'x' holds NaN values").</param>
    /// <param name="learningRate">The learning rate at that moment.</param>
    public TrainingDivergedException(int epoch, int step, string what, double learningRate)
        : base(string.Format(CultureInfo.InvariantCulture,
            "Training diverged: {0} at epoch {1}{2} (learning rate {3:0.###e+00}); nothing was saved from this run. Lower the learning rate.",
            what, epoch, step > 0 ? $", step {step}" : "", learningRate))
    {
        Epoch = epoch;
        Step = step;
    }

    /// <summary>The epoch in which the non-finite value appeared (1-based).</summary>
    public int Epoch { get; }

    /// <summary>The step within <see cref="Epoch"/> (1-based), or 0 when found by the end-of-epoch weight check.</summary>
    public int Step { get; }
}
