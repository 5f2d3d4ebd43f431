namespace VitMlNet.Experiments;

/// <summary>The validation metric an experiment optimizes (ML.NET's <c>MulticlassClassificationMetrics</c>).</summary>
public enum ExperimentMetric
{
    /// <summary>Micro-accuracy: the share of correctly classified images. Higher is better.</summary>
    MicroAccuracy,

    /// <summary>Macro-accuracy: the mean of per-class accuracies (robust to class imbalance). Higher is better.</summary>
    MacroAccuracy,

    /// <summary>Log-loss: the mean negative log-probability of the true class. Lower is better.</summary>
    LogLoss,
}

/// <summary>Direction and comparison helpers for <see cref="ExperimentMetric"/>.</summary>
internal static class ExperimentMetricExtensions
{
    /// <summary>Whether a larger value of <paramref name="metric"/> is better.</summary>
    /// <param name="metric">The metric.</param>
    /// <returns>True for the accuracies, false for log-loss.</returns>
    public static bool IsHigherBetter(this ExperimentMetric metric) => metric switch
    {
        ExperimentMetric.MicroAccuracy or ExperimentMetric.MacroAccuracy => true,
        ExperimentMetric.LogLoss => false,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
    };

    /// <summary>
    /// Whether <paramref name="candidate"/> is strictly better than <paramref name="incumbent"/>; a finite value beats NaN
    /// (a failed trial) and NaN never beats anything.
    /// </summary>
    /// <param name="metric">The metric, which gives the direction.</param>
    /// <param name="candidate">The new value.</param>
    /// <param name="incumbent">The value to beat.</param>
    /// <returns>True when the candidate is better.</returns>
    public static bool IsBetter(this ExperimentMetric metric, double candidate, double incumbent)
    {
        if (double.IsNaN(candidate)) return false;
        if (double.IsNaN(incumbent)) return true;
        return metric.IsHigherBetter() ? candidate > incumbent : candidate < incumbent;
    }

    /// <summary>The metric's value in ML.NET's multiclass metrics.</summary>
    /// <param name="metric">The metric.</param>
    /// <param name="metrics">Metrics from <c>MulticlassClassification.Evaluate</c>.</param>
    /// <returns>The selected value.</returns>
    public static double Select(this ExperimentMetric metric, Microsoft.ML.Data.MulticlassClassificationMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metric switch
        {
            ExperimentMetric.MicroAccuracy => metrics.MicroAccuracy,
            ExperimentMetric.MacroAccuracy => metrics.MacroAccuracy,
            ExperimentMetric.LogLoss => metrics.LogLoss,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
        };
    }
}
