namespace VitMlNet.Training;

/// <summary>Learning rate as a function of the global step: optional linear warmup, then constant or cosine decay.</summary>
/// <param name="kind">Constant or cosine after the warmup.</param>
/// <param name="peak">The rate after warmup.</param>
/// <param name="min">The rate cosine decay ends at (at most <paramref name="peak"/>).</param>
/// <param name="warmupSteps">Steps of linear warmup.</param>
/// <param name="totalSteps">Steps of the whole schedule.</param>
internal sealed class LearningRateSchedule(VitLearningRateSchedule kind, double peak, double min, long warmupSteps, long totalSteps)
{
    private readonly double min = Math.Min(min, peak);
    private readonly long totalSteps = Math.Max(1, totalSteps);
    private readonly bool cosine = kind == VitLearningRateSchedule.WarmupCosine;

    /// <summary>Learning rate for the 0-based global <paramref name="step"/>.</summary>
    public double At(long step) => At(step, 0);

    /// <summary>
    /// Learning rate for the 0-based global <paramref name="step"/> when a time budget runs too: after warmup the
    /// cosine progress is the larger of the step fraction and <paramref name="timeProgress"/> (the share of the
    /// post-warmup time budget spent, clamped to [0, 1]), so the decay ends when either the steps or the time run out.
    /// </summary>
    public double At(long step, double timeProgress)
    {
        if (step < WarmupSteps) return peak * (step + 1) / WarmupSteps;
        if (!cosine) return peak;
        double progress = Math.Clamp((double)(step - WarmupSteps) / Math.Max(1, totalSteps - WarmupSteps), 0, 1);
        progress = Math.Max(progress, Math.Clamp(timeProgress, 0, 1));
        return min + (peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Steps of linear warmup.</summary>
    public long WarmupSteps { get; } = Math.Max(0, warmupSteps);
}
