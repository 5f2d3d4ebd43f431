using SkiaSharp;

namespace VitMlNet.Reporting;

/// <summary>
/// A confusion-matrix heat map: actual classes in rows, predicted classes in columns, counts in the cells, each row's
/// colour normalized by the row's total (so the diagonal shows per-class recall), and the accuracy in the title.
/// </summary>
public static class ConfusionMatrixChart
{
    /// <summary>File name the CLI's report uses.</summary>
    public const string DefaultFileName = "confusion_matrix.png";

    /// <summary>Width of the written PNG.</summary>
    public const int Width = 980;

    /// <summary>Height of the written PNG.</summary>
    public const int Height = 900;

    private const float MatrixLeft = 214;
    private const float MatrixTop = 78;
    private const float MatrixSize = 640;
    private const float LabelRoom = 160;

    /// <summary>Draws the matrix of <paramref name="counts"/> and writes it as a PNG.</summary>
    /// <param name="path">PNG file to write (its folder is created).</param>
    /// <param name="counts">Counts [actual, predicted], square, one row and column per class, none negative.</param>
    /// <param name="classNames">Class names, one per row/column.</param>
    /// <param name="title">Title before the accuracy; "Confusion matrix" when null.</param>
    /// <returns>The pixel size of the PNG (<see cref="Width"/>×<see cref="Height"/>).</returns>
    /// <exception cref="ArgumentException">The matrix is empty or not square, its size differs from the class count, or a count is negative.</exception>
    public static PixelSize Write(string path, int[,] counts, IReadOnlyList<string> classNames, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var rows = new long[counts.GetLength(0)][];
        for (int r = 0; r < rows.Length; r++)
        {
            rows[r] = new long[counts.GetLength(1)];
            for (int c = 0; c < rows[r].Length; c++)
            {
                rows[r][c] = counts[r, c];
            }
        }

        return Write(path, rows, classNames, title);
    }

    /// <summary>Draws the matrix of <paramref name="counts"/> and writes it as a PNG.</summary>
    /// <param name="path">PNG file to write (its folder is created).</param>
    /// <param name="counts">Counts [actual][predicted], square, one row and column per class, none negative.</param>
    /// <param name="classNames">Class names, one per row/column.</param>
    /// <param name="title">Title before the accuracy; "Confusion matrix" when null.</param>
    /// <returns>The pixel size of the PNG (<see cref="Width"/>×<see cref="Height"/>).</returns>
    /// <exception cref="ArgumentException">The matrix is empty or not square, its size differs from the class count, or a count is negative.</exception>
    public static PixelSize Write(string path, long[][] counts, IReadOnlyList<string> classNames, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Validate(counts, classNames);
        return Draw(path, counts, classNames, title ?? "Confusion matrix");
    }

    /// <summary>
    /// Draws an ML.NET-style matrix (<c>MulticlassClassificationMetrics.ConfusionMatrix.Counts</c>: rows actual, columns
    /// predicted, whole-number counts stored as doubles) and writes it as a PNG.
    /// </summary>
    /// <param name="path">PNG file to write (its folder is created).</param>
    /// <param name="counts">Counts [actual][predicted], square, whole and not negative.</param>
    /// <param name="classNames">Class names, one per row/column.</param>
    /// <param name="title">Title before the accuracy; "Confusion matrix" when null.</param>
    /// <returns>The pixel size of the PNG (<see cref="Width"/>×<see cref="Height"/>).</returns>
    /// <exception cref="ArgumentException">The matrix is empty or not square, its size differs from the class count, or a count is negative or fractional.</exception>
    public static PixelSize Write(string path, IReadOnlyList<IReadOnlyList<double>> counts, IReadOnlyList<string> classNames, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var rows = new long[counts.Count][];
        for (int r = 0; r < rows.Length; r++)
        {
            var row = counts[r] ?? throw new ArgumentException($"counts[{r}] is null.", nameof(counts));
            rows[r] = new long[row.Count];
            for (int c = 0; c < row.Count; c++)
            {
                double v = row[c];
                if (!double.IsFinite(v) || v < 0 || v != Math.Floor(v) || v > long.MaxValue)
                {
                    throw new ArgumentException($"counts[{r}][{c}] is {v}; counts must be whole numbers, not negative.", nameof(counts));
                }

                rows[r][c] = (long)v;
            }
        }

        return Write(path, rows, classNames, title);
    }

    /// <summary>Checks a square, non-negative confusion matrix with one class name per row (shared with <see cref="ClassMetrics"/>).</summary>
    internal static void Validate(long[][] counts, IReadOnlyList<string> classNames)
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
            var row = counts[r] ?? throw new ArgumentException($"counts[{r}] is null.", nameof(counts));
            if (row.Length != n)
            {
                throw new ArgumentException(
                    $"counts: row {r} has {row.Length} columns but the matrix has {n} rows; it must be square (actual x predicted).", nameof(counts));
            }

            for (int c = 0; c < n; c++)
            {
                if (row[c] < 0)
                {
                    throw new ArgumentException($"counts[{r}][{c}] is {row[c]}; counts cannot be negative.", nameof(counts));
                }
            }

            if (classNames[r] is null)
            {
                throw new ArgumentException($"classNames[{r}] is null.", nameof(classNames));
            }
        }
    }

    private static PixelSize Draw(string path, long[][] counts, IReadOnlyList<string> names, string title)
    {
        int n = counts.Length;
        long total = 0, correct = 0;
        var rowTotals = new long[n];
        for (int r = 0; r < n; r++)
        {
            rowTotals[r] = counts[r].Sum();
            total += rowTotals[r];
            correct += counts[r][r];
        }

        using var chart = new ChartCanvas(Width, Height);
        var canvas = chart.Canvas;
        var text = chart.Text;

        string accuracy = total == 0
            ? "accuracy n/a (no samples)"
            : string.Create(ChartStyle.Invariant, $"accuracy {100.0 * correct / total:F2}% ({ChartStyle.Count(correct)} of {ChartStyle.Count(total)})");
        string heading = text.Fit($"{title} \u2014 {accuracy}", ChartStyle.TitleSize, Width - 56, bold: true);
        text.Draw(canvas, heading, 28, 28, ChartStyle.TitleSize, ChartStyle.Ink, bold: true);
        text.Draw(canvas, "Rows: actual class; columns: predicted class; colour: share of the row (recall on the diagonal).",
            28, 54, ChartStyle.TickSize, ChartStyle.MutedInk);

        float cell = MatrixSize / n;
        float right = MatrixLeft + MatrixSize, bottom = MatrixTop + MatrixSize;

        // Cells.
        using (var fill = ChartStyle.Fill(SKColors.White, antialias: false))
        {
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < n; c++)
                {
                    double share = rowTotals[r] == 0 ? 0 : (double)counts[r][c] / rowTotals[r];
                    fill.Color = rowTotals[r] == 0 ? new SKColor(0xf2, 0xf2, 0xf2) : ChartStyle.Blues(share);
                    canvas.DrawRect(Edge(MatrixLeft, cell, c), Edge(MatrixTop, cell, r),
                        Edge(MatrixLeft, cell, c + 1) - Edge(MatrixLeft, cell, c), Edge(MatrixTop, cell, r + 1) - Edge(MatrixTop, cell, r), fill);
                }
            }
        }

        if (cell >= 6)
        {
            using var separator = ChartStyle.Stroke(SKColors.White, cell >= 20 ? 1.5f : 1f, antialias: false);
            for (int i = 1; i < n; i++)
            {
                canvas.DrawLine(Edge(MatrixLeft, cell, i), MatrixTop, Edge(MatrixLeft, cell, i), bottom, separator);
                canvas.DrawLine(MatrixLeft, Edge(MatrixTop, cell, i), right, Edge(MatrixTop, cell, i), separator);
            }
        }

        using (var frame = ChartStyle.Stroke(ChartStyle.Axis, 1, antialias: false))
        {
            canvas.DrawRect(MatrixLeft - 0.5f, MatrixTop - 0.5f, MatrixSize + 1, MatrixSize + 1, frame);
        }

        DrawCellText(chart, counts, rowTotals, cell);
        DrawClassLabels(chart, names, cell);
        DrawColorBar(chart, new SKRect(right + 28, MatrixTop, right + 46, bottom));
        return chart.Save(path);
    }

    /// <summary>Pixel edge i of a row/column band, rounded so that neighbouring cells meet exactly.</summary>
    private static float Edge(float origin, float cell, int i) => MathF.Round(origin + (i * cell));

    private static void DrawCellText(ChartCanvas chart, long[][] counts, long[] rowTotals, float cell)
    {
        int n = counts.Length;
        float size = Math.Clamp(cell * 0.3f, 8f, 16f);
        long max = counts.Max(row => row.Max());
        if (cell < 16 || chart.Text.Measure(ChartStyle.Count(max), size, bold: true) > cell - 6)
        {
            return;
        }

        bool percent = cell >= 56;
        float small = Math.Clamp(cell * 0.18f, 9f, 12f);
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                double share = rowTotals[r] == 0 ? 0 : (double)counts[r][c] / rowTotals[r];
                var color = share > 0.5 ? SKColors.White : ChartStyle.Ink;
                float cx = MatrixLeft + ((c + 0.5f) * cell), cy = MatrixTop + ((r + 0.5f) * cell);
                string count = ChartStyle.Count(counts[r][c]);
                if (counts[r][c] == 0)
                {
                    chart.Text.Draw(chart.Canvas, count, cx, cy, size, new SKColor(0xb0, 0xb4, 0xba), TextAnchor.Middle);
                }
                else if (percent && rowTotals[r] > 0)
                {
                    chart.Text.Draw(chart.Canvas, count, cx, cy - (small * 0.55f), size, color, TextAnchor.Middle, bold: r == c);
                    var muted = share > 0.5 ? new SKColor(255, 255, 255, 210) : ChartStyle.MutedInk;
                    chart.Text.Draw(chart.Canvas, string.Create(ChartStyle.Invariant, $"{share * 100:F1}%"), cx, cy + (size * 0.75f),
                        small, muted, TextAnchor.Middle);
                }
                else
                {
                    chart.Text.Draw(chart.Canvas, count, cx, cy, size, color, TextAnchor.Middle, bold: r == c);
                }
            }
        }
    }

    private static void DrawClassLabels(ChartCanvas chart, IReadOnlyList<string> names, float cell)
    {
        var canvas = chart.Canvas;
        var text = chart.Text;
        int n = names.Count;
        float size = Math.Clamp(cell * 0.55f, 8f, 13f);
        int every = Math.Max(1, (int)MathF.Ceiling((size + 2) / cell));
        float bottom = MatrixTop + MatrixSize;

        var labels = names.Select(name => text.Fit(name, size, LabelRoom - 14)).ToArray();
        bool horizontal = labels.All(l => text.Measure(l, size) <= cell * every - 4);
        using var tick = ChartStyle.Stroke(ChartStyle.Axis, 1, antialias: false);
        for (int i = 0; i < n; i += every)
        {
            float mid = MathF.Round(MatrixLeft + ((i + 0.5f) * cell)) + 0.5f;
            float midY = MathF.Round(MatrixTop + ((i + 0.5f) * cell)) + 0.5f;
            canvas.DrawLine(MatrixLeft - 5, midY, MatrixLeft, midY, tick);
            canvas.DrawLine(mid, bottom, mid, bottom + 5, tick);
            text.Draw(canvas, labels[i], MatrixLeft - 9, midY, size, ChartStyle.Ink, TextAnchor.End);
            if (horizontal)
            {
                text.Draw(canvas, labels[i], mid, bottom + 18, size, ChartStyle.Ink, TextAnchor.Middle);
            }
            else
            {
                text.Draw(canvas, labels[i], mid + 3, bottom + 12, size, ChartStyle.Ink, TextAnchor.End, degrees: -45);
            }
        }

        float longest = labels.Max(l => text.Measure(l, size));
        float xLabelY = horizontal ? bottom + 46 : bottom + 12 + (longest * 0.7071f) + (size * 0.7071f) + 26;
        text.Draw(canvas, "Predicted class", MatrixLeft + (MatrixSize / 2), Math.Min(xLabelY, Height - 20), ChartStyle.LabelSize,
            ChartStyle.Ink, TextAnchor.Middle, bold: true);
        text.Draw(canvas, "Actual class", Math.Max(24, MatrixLeft - 9 - longest - 22), MatrixTop + (MatrixSize / 2), ChartStyle.LabelSize,
            ChartStyle.Ink, TextAnchor.Middle, bold: true, degrees: -90);
    }

    private static void DrawColorBar(ChartCanvas chart, SKRect bar)
    {
        var canvas = chart.Canvas;
        using (var fill = ChartStyle.Fill(SKColors.White, antialias: false))
        {
            for (int y = (int)bar.Top; y < (int)bar.Bottom; y++)
            {
                fill.Color = ChartStyle.Blues((bar.Bottom - y - 0.5) / bar.Height);
                canvas.DrawRect(bar.Left, y, bar.Width, 1, fill);
            }
        }

        using var frame = ChartStyle.Stroke(ChartStyle.Axis, 1, antialias: false);
        canvas.DrawRect(bar.Left - 0.5f, bar.Top - 0.5f, bar.Width + 1, bar.Height + 1, frame);
        for (int i = 0; i <= 4; i++)
        {
            float y = MathF.Round(bar.Bottom - (i * bar.Height / 4)) + 0.5f;
            canvas.DrawLine(bar.Right, y, bar.Right + 4, y, frame);
            chart.Text.Draw(canvas, string.Create(ChartStyle.Invariant, $"{i * 25}%"), bar.Right + 8, y, ChartStyle.TickSize,
                ChartStyle.MutedInk);
        }
    }
}
