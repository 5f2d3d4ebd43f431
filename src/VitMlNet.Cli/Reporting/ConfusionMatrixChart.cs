using ScottPlot;
using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>
/// A confusion-matrix heat map drawn with ScottPlot: actual classes in rows, predicted classes in columns, counts in the cells, each row's
/// colour normalized by the row's total (so the diagonal shows per-class recall), and the accuracy in the title.
/// </summary>
internal static class ConfusionMatrixChart
{
    /// <summary>File name the CLI's report uses.</summary>
    public const string DefaultFileName = "confusion_matrix.png";

    /// <summary>Width of the written PNG.</summary>
    public const int Width = 980;

    /// <summary>Height of the written PNG.</summary>
    public const int Height = 900;

    private const int MatrixLeft = 214;
    private const int MatrixTop = 64;
    private const int MatrixSize = 640;
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
        var rows = Enumerable.Range(0, counts.GetLength(0))
            .Select(r => Enumerable.Range(0, counts.GetLength(1)).Select(c => (long)counts[r, c]).ToArray()).ToArray();
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
        var shares = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            rowTotals[r] = counts[r].Sum();
            total += rowTotals[r];
            correct += counts[r][r];
            for (int c = 0; c < n; c++)
            {
                shares[r, c] = rowTotals[r] == 0 ? 0 : (double)counts[r][c] / rowTotals[r];
            }
        }

        string accuracy = total == 0
            ? "accuracy n/a (no samples)"
            : string.Create(ChartStyle.Invariant, $"accuracy {100.0 * correct / total:F2}% ({ChartStyle.Count(correct)} of {ChartStyle.Count(total)})");

        using var plot = new Plot();
        plot.Layout.Fixed(new PixelPadding(MatrixLeft, Width - MatrixLeft - MatrixSize, Height - MatrixTop - MatrixSize, MatrixTop));

        // Row 0 of the heat map is drawn at the top; cell (r, c) is centred on (c, n - 1 - r).
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues().Reversed();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        for (int r = 0; r < n; r++)
        {
            if (rowTotals[r] == 0)
            {
                // A class without samples: a light gray row instead of "0% of nothing".
                var empty = plot.Add.Rectangle(-0.5, n - 0.5, n - 1.5 - r, n - 0.5 - r);
                empty.FillColor = ChartStyle.ToColor(new SKColor(0xf2, 0xf2, 0xf2));
                empty.LineWidth = 0;
            }
        }

        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.HideGrid();

        float cell = MatrixSize / (float)n;
        if (cell >= 6)
        {
            float width = cell >= 20 ? 1.5f : 1f;
            for (int i = 1; i < n; i++)
            {
                plot.Add.VerticalLine(i - 0.5, width, Colors.White);
                plot.Add.HorizontalLine(i - 0.5, width, Colors.White);
            }
        }

        AddCellText(plot, counts, rowTotals, cell);

        var bar = plot.Add.ColorBar(heatmap);
        bar.Width = 18;
        bar.Axis.SetTicks([0, 0.25, 0.5, 0.75, 1], ["0%", "25%", "50%", "75%", "100%"]);
        bar.Label = "Share of the row (recall on the diagonal)";

        plot.Title(ChartText.Fit($"{title} \u2014 {accuracy}", ChartStyle.TitleSize, Width - 56, bold: true));
        plot.XLabel("Predicted class");
        plot.YLabel("Actual class");
        ChartStyle.Apply(plot);
        ReportFonts.Apply(plot.Axes.Title.Label, ChartStyle.TitleSize, ChartStyle.Ink, bold: true);
        ReportFonts.Apply(plot.Axes.Bottom.Label, ChartStyle.LabelSize, ChartStyle.Ink, bold: true);
        ReportFonts.Apply(plot.Axes.Left.Label, ChartStyle.LabelSize, ChartStyle.Ink, bold: true);
        StyleColorBar(bar);
        SetClassTicks(plot, names, cell);

        using var chart = new ChartCanvas(Width, Height);
        plot.Render(chart.Canvas, new PixelRect(0, Width, Height, 0));
        return chart.Save(path);
    }

    /// <summary>Counts (bold on the diagonal) and, when cells are large enough, the row share below each count.</summary>
    private static void AddCellText(Plot plot, long[][] counts, long[] rowTotals, float cell)
    {
        int n = counts.Length;
        float size = Math.Clamp(cell * 0.3f, 8f, 16f);
        long max = counts.Max(row => row.Max());
        if (cell < 16 || ChartText.Measure(ChartStyle.Count(max), size, bold: true) > cell - 6)
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
                string count = ChartStyle.Count(counts[r][c]);
                if (counts[r][c] == 0)
                {
                    AddText(plot, count, c, n - 1 - r, 0, size, new SKColor(0xb0, 0xb4, 0xba), bold: false);
                }
                else if (percent && rowTotals[r] > 0)
                {
                    AddText(plot, count, c, n - 1 - r, -(small * 0.55f), size, color, bold: r == c);
                    var muted = share > 0.5 ? new SKColor(255, 255, 255, 210) : ChartStyle.MutedInk;
                    AddText(plot, string.Create(ChartStyle.Invariant, $"{share * 100:F1}%"), c, n - 1 - r, size * 0.75f, small, muted, bold: false);
                }
                else
                {
                    AddText(plot, count, c, n - 1 - r, 0, size, color, bold: r == c);
                }
            }
        }
    }

    private static void AddText(Plot plot, string text, double x, double y, float offsetY, float size, SKColor color, bool bold)
    {
        var label = plot.Add.Text(text, x, y);
        label.LabelAlignment = Alignment.MiddleCenter;
        label.OffsetY = offsetY;
        ReportFonts.Apply(label.LabelStyle, size, color, bold);
    }

    /// <summary>Class names as tick labels, every k-th one when cells are small; bottom labels turn 45° when any is wider than its cell.</summary>
    private static void SetClassTicks(Plot plot, IReadOnlyList<string> names, float cell)
    {
        int n = names.Count;
        float size = Math.Clamp(cell * 0.55f, 8f, 13f);
        int every = Math.Max(1, (int)MathF.Ceiling((size + 2) / cell));
        var (_, drawable) = ReportFonts.ForTexts(names);
        var labels = drawable.Select(name => ChartText.Fit(name, size, LabelRoom - 14)).ToArray();
        bool horizontal = labels.All(l => ChartText.Measure(l, size) <= (cell * every) - 4);
        var indexes = Enumerable.Range(0, (n + every - 1) / every).Select(i => i * every).ToArray();

        plot.Axes.Left.SetTicks(indexes.Select(i => (double)(n - 1 - i)).ToArray(), indexes.Select(i => labels[i]).ToArray());
        plot.Axes.Bottom.SetTicks(indexes.Select(i => (double)i).ToArray(), indexes.Select(i => labels[i]).ToArray());
        string all = string.Concat(labels);
        ReportFonts.Apply(plot.Axes.Left.TickLabelStyle, size, ChartStyle.Ink, text: all);
        ReportFonts.Apply(plot.Axes.Bottom.TickLabelStyle, size, ChartStyle.Ink, text: all);
        if (!horizontal)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.TickLabelStyle.OffsetX = -2;
            plot.Axes.Bottom.TickLabelStyle.OffsetY = 4;
            float longest = labels.Max(l => ChartText.Measure(l, size));
            plot.Axes.Bottom.Label.OffsetY = longest * 0.7071f;
        }
    }

    private static void StyleColorBar(ScottPlot.Panels.ColorBar bar)
    {
        var axis = bar.Axis;
        axis.FrameLineStyle.Color = ChartStyle.ToColor(ChartStyle.Axis);
        axis.MajorTickStyle.Color = ChartStyle.ToColor(ChartStyle.Axis);
        axis.MajorTickStyle.Length = 4;
        axis.MinorTickStyle.Length = 0;
        ReportFonts.Apply(axis.TickLabelStyle, ChartStyle.TickSize, ChartStyle.MutedInk);
        ReportFonts.Apply(axis.Label, ChartStyle.TickSize, ChartStyle.MutedInk);
    }
}
