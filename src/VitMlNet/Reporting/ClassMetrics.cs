namespace VitMlNet.Reporting;

/// <summary>Precision and recall of one class, for the per-class table of <see cref="ReportIndex"/>.</summary>
/// <param name="ClassName">Class name.</param>
/// <param name="Precision">Precision in [0, 1], or NaN when the class was never predicted.</param>
/// <param name="Recall">Recall in [0, 1], or NaN when the class has no samples.</param>
/// <param name="Support">Number of samples of the class, when known.</param>
public sealed record ClassMetrics(string ClassName, double Precision, double Recall, long? Support = null)
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
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(classNames);
        int n = counts.Length;
        if (n == 0)
        {
            throw new ArgumentException("counts: the matrix is empty; it needs one row and column per class.", nameof(counts));
        }

        if (classNames.Count != n)
        {
            throw new ArgumentException(
                $"classNames: {classNames.Count} class names for a {n}x{n} matrix; there must be one name per row/column.", nameof(classNames));
        }

        for (int r = 0; r < n; r++)
        {
            if (counts[r] is null || counts[r].Length != n)
            {
                throw new ArgumentException(
                    $"counts: row {r} has {counts[r]?.Length ?? 0} columns but the matrix has {n} rows; it must be square (actual x predicted).",
                    nameof(counts));
            }

            int negative = Array.FindIndex(counts[r], v => v < 0);
            if (negative >= 0)
            {
                throw new ArgumentException($"counts[{r}][{negative}] is {counts[r][negative]}; counts cannot be negative.", nameof(counts));
            }
        }

        var result = new ClassMetrics[n];
        for (int k = 0; k < n; k++)
        {
            long support = counts[k].Sum();
            long predicted = 0;
            for (int r = 0; r < n; r++)
            {
                predicted += counts[r][k];
            }

            double tp = counts[k][k];
            result[k] = new ClassMetrics(classNames[k], predicted == 0 ? double.NaN : tp / predicted,
                support == 0 ? double.NaN : tp / support, support);
        }

        return result;
    }
}
