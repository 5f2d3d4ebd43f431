namespace VitMlNet.Training;

/// <summary>Learning rate as a function of the global step: optional linear warmup, then constant or cosine decay.</summary>
internal sealed class LearningRateSchedule
{
    private readonly double peak;
    private readonly double min;
    private readonly long warmupSteps;
    private readonly long totalSteps;
    private readonly bool cosine;

    /// <summary>Creates a schedule over <paramref name="totalSteps"/> steps.</summary>
    public LearningRateSchedule(VisionTransformerLearningRateSchedule kind, double peak, double min, long warmupSteps, long totalSteps)
    {
        this.peak = peak;
        this.min = Math.Min(min, peak);
        this.warmupSteps = Math.Max(0, warmupSteps);
        this.totalSteps = Math.Max(1, totalSteps);
        cosine = kind == VisionTransformerLearningRateSchedule.WarmupCosine;
    }

    /// <summary>Learning rate for the 0-based global <paramref name="step"/>.</summary>
    public double At(long step) => At(step, 0);

    /// <summary>
    /// Learning rate for the 0-based global <paramref name="step"/> when a time budget runs too: after warmup the
    /// cosine progress is the larger of the step fraction and <paramref name="timeProgress"/> (the share of the
    /// post-warmup time budget spent, clamped to [0, 1]), so the decay ends when either the steps or the time run out.
    /// </summary>
    public double At(long step, double timeProgress)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        if (!cosine) return peak;
        double progress = Math.Clamp((double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps), 0, 1);
        progress = Math.Max(progress, Math.Clamp(timeProgress, 0, 1));
        return min + (peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Steps of linear warmup.</summary>
    public long WarmupSteps => warmupSteps;
}
