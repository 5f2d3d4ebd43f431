namespace VitMlNet.Cli.Reporting;

/// <summary>Precision and recall of one class, for the per-class table of <see cref="ReportIndex"/>.</summary>
/// <param name="ClassName">Class name.</param>
/// <param name="Precision">Precision in [0, 1], or NaN when the class was never predicted.</param>
/// <param name="Recall">Recall in [0, 1], or NaN when the class has no samples.</param>
/// <param name="Support">Number of samples of the class, when known.</param>
internal sealed record ClassMetrics(string ClassName, double Precision, double Recall, long? Support = null)
{
    /// <summary>Harmonic mean of precision and recall (0 when both are 0, NaN when either is NaN).</summary>
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

    /// <summary>Per-class precision, recall and support of a confusion matrix (rows actual, columns predicted).</summary>
    /// <param name="counts">Counts [actual][predicted], square, not negative.</param>
    /// <param name="classNames">Class names, one per row/column.</param>
    /// <returns>One entry per class, in class order.</returns>
    /// <exception cref="ArgumentException">The matrix is empty or not square, its size differs from the class count, or a count is negative.</exception>
    public static IReadOnlyList<ClassMetrics> FromConfusionMatrix(long[][] counts, IReadOnlyList<string> classNames)
    {
        ConfusionMatrixChart.Validate(counts, classNames);
        int n = counts.Length;
        var result = new ClassMetrics[n];
        for (int k = 0; k < n; k++)
        {
            long support = counts[k].Sum();
            long predicted = counts.Sum(row => row[k]);
            double tp = counts[k][k];
            result[k] = new ClassMetrics(classNames[k], predicted == 0 ? double.NaN : tp / predicted,
                support == 0 ? double.NaN : tp / support, support);
        }

        return result;
    }
}
