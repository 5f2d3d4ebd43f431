using System.Diagnostics;

namespace VitMlNet.Training;

/// <summary>
/// Training wall clock across resumes, and the optional time budget: whether it is spent, and how far the
/// post-warmup part of it has run (the time progress that <see cref="LearningRateSchedule.At(long, double)"/> takes).
/// </summary>
/// <param name="budget">The time budget, if any.</param>
/// <param name="state">The clock starts at its recorded seconds (0 for a fresh run).</param>
internal sealed class TrainingClock(TimeSpan? budget, CheckpointState state)
{
    private readonly Stopwatch watch = Stopwatch.StartNew();
    private readonly double offsetSeconds = state.Seconds;
    private readonly double? budgetSeconds = budget?.TotalSeconds;

    /// <summary>Training time so far, including the time before a resume.</summary>
    public TimeSpan Elapsed => TimeSpan.FromSeconds(Seconds);

    /// <summary>Training seconds so far, including the time before a resume.</summary>
    public double Seconds => offsetSeconds + watch.Elapsed.TotalSeconds;

    /// <summary>When warmup ended (training seconds), once it has.</summary>
    public double? WarmupEndSeconds { get; private set; } = state.WarmupEndSeconds;

    /// <summary>Whether a budget is set and spent.</summary>
    public bool Spent => budgetSeconds is double b && Seconds >= b;

    /// <summary>
    /// Share of the post-warmup budget spent before 0-based global step <paramref name="step"/> (0 without a budget or
    /// during warmup; the first step after warmup marks the warmup's end).
    /// </summary>
    public double Progress(long step, long warmupSteps)
    {
        if (budgetSeconds is not double budget || step < warmupSteps) return 0;
        double now = Seconds;
        WarmupEndSeconds ??= now;
        double span = budget - WarmupEndSeconds.Value;
        return span <= 0 ? 1 : Math.Clamp((now - WarmupEndSeconds.Value) / span, 0, 1);
    }

    /// <summary>Records the clock into <paramref name="state"/> (for checkpoints).</summary>
    public void SaveTo(CheckpointState state)
    {
        state.Seconds = Seconds;
        state.WarmupEndSeconds = WarmupEndSeconds;
    }
}
