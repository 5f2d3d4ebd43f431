using ScottPlot;
using ScottPlot.TickGenerators;
using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>
/// Loss and accuracy per epoch, training and validation, as a two-panel ScottPlot line chart (loss left, accuracy right), with the
/// best validation accuracy marked.
/// </summary>
internal static class TrainingCurves
{
    /// <summary>File name the CLI's report uses.</summary>
    public const string DefaultFileName = "training_curves.png";

    /// <summary>Width of the written PNG.</summary>
    public const int Width = 1400;

    /// <summary>Height of the written PNG.</summary>
    public const int Height = 540;

    private const float HeaderHeight = 48;

    /// <summary>Draws the curves of <paramref name="points"/> and writes them as a PNG.</summary>
    /// <param name="path">PNG file to write (its folder is created).</param>
    /// <param name="points">One point per epoch, in increasing epoch order.</param>
    /// <param name="title">Chart title; "Training curves" when null.</param>
    /// <returns>The pixel size of the PNG (<see cref="Width"/>×<see cref="Height"/>).</returns>
    /// <exception cref="ArgumentException">No points, epochs not increasing, or an accuracy outside [0, 1].</exception>
    public static PixelSize Write(string path, IReadOnlyList<EpochPoint> points, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Validate(points);

        var epochs = points.Select(p => (double)p.Epoch).ToArray();
        var trainLoss = points.Select(p => p.TrainLoss).ToArray();
        var validationLoss = points.Select(p => p.ValidationLoss ?? double.NaN).ToArray();
        var trainAccuracy = points.Select(p => p.TrainAccuracy * 100).ToArray();
        var validationAccuracy = points.Select(p => (p.ValidationAccuracy ?? double.NaN) * 100).ToArray();

        using var loss = Panel("Loss", "Loss", epochs, trainLoss, validationLoss, percent: false);
        using var accuracy = Panel("Accuracy", "Accuracy (%)", epochs, trainAccuracy, validationAccuracy, percent: true);
        using var chart = new ChartCanvas(Width, Height);
        ChartText.Draw(chart.Canvas, ChartText.Fit(title ?? "Training curves", ChartStyle.TitleSize, Width - 56, bold: true), 28,
            (HeaderHeight / 2) + 4, ChartStyle.TitleSize, ChartStyle.Ink, bold: true);
        float half = Width / 2f;
        loss.Render(chart.Canvas, new PixelRect(0, half, Height, HeaderHeight));
        accuracy.Render(chart.Canvas, new PixelRect(half, Width, Height, HeaderHeight));
        return chart.Save(path);
    }

    private static void Validate(IReadOnlyList<EpochPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            throw new ArgumentException("points: the list of epochs is empty; at least one epoch is needed.", nameof(points));
        }

        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i] ?? throw new ArgumentException($"points[{i}] is null.", nameof(points));
            if (i > 0 && p.Epoch <= points[i - 1].Epoch)
            {
                throw new ArgumentException(
                    $"points[{i}]: epoch {p.Epoch} does not follow epoch {points[i - 1].Epoch}; epochs must increase.", nameof(points));
            }

            CheckAccuracy(p.TrainAccuracy, i, nameof(EpochPoint.TrainAccuracy));
            CheckAccuracy(p.ValidationAccuracy ?? double.NaN, i, nameof(EpochPoint.ValidationAccuracy));
        }

        static void CheckAccuracy(double value, int index, string name)
        {
            if (value is < 0 or > 1)
            {
                throw new ArgumentException(
                    $"points[{index}].{name} is {value}; accuracies are fractions in [0, 1].", nameof(points));
            }
        }
    }

    /// <summary>One panel: train and validation series (gaps at non-finite values), legend, and on the accuracy panel the best validation epoch.</summary>
    private static Plot Panel(string panelTitle, string yLabel, double[] x, double[] train, double[] validation, bool percent)
    {
        var plot = new Plot();
        bool hasValidation = validation.Any(double.IsFinite);
        var finite = train.Concat(validation).Where(double.IsFinite).ToArray();

        AddSeries(plot, x, train, ChartStyle.Train, "Train");
        if (hasValidation)
        {
            AddSeries(plot, x, validation, ChartStyle.Validation, "Validation");
        }

        if (percent && hasValidation)
        {
            // The first epoch with the highest finite validation accuracy.
            int best = Enumerable.Range(0, validation.Length).Where(i => double.IsFinite(validation[i]))
                .MaxBy(i => validation[i]);
            var line = plot.Add.VerticalLine(x[best], 1.2f, ChartStyle.ToColor(ChartStyle.Axis), LinePattern.Dashed);
            line.LegendText = string.Create(ChartStyle.Invariant, $"best validation {validation[best]:F2}% (epoch {x[best]:F0})");
        }

        double xPad = x.Length == 1 ? 0.5 : Math.Max(0.3, (x[^1] - x[0]) * 0.025);
        double lo = 0, hi = 1;
        if (finite.Length > 0)
        {
            lo = finite.Min();
            hi = finite.Max();
            double pad = hi - lo > 1e-6 * Math.Max(1, Math.Abs(hi)) ? (hi - lo) * 0.06 : Math.Max(Math.Abs(hi) * 0.1, percent ? 5 : 0.1);
            // Widen to whole steps of about 5 ticks, so that the frame starts and ends on a labelled grid line.
            double step = NiceStep((hi - lo + (2 * pad)) / 5);
            (lo, hi) = (Math.Floor((lo - pad) / step) * step, Math.Ceiling((hi + pad) / step) * step);
            if (percent)
            {
                (lo, hi) = (Math.Max(lo, 0), Math.Min(hi, 100));
            }
        }
        else
        {
            var note = plot.Add.Text("no finite values", (x[0] + x[^1]) / 2, 0.5);
            note.LabelAlignment = Alignment.MiddleCenter;
            ReportFonts.Apply(note.LabelStyle, ChartStyle.LabelSize, ChartStyle.MutedInk);
        }

        plot.Axes.SetLimits(x[0] - xPad, x[^1] + xPad, lo, hi);
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true, TargetTickCount = Math.Min(14, x.Length + 1) };
        plot.Axes.Left.TickGenerator = new EvenDecimals();
        plot.Title(panelTitle);
        plot.XLabel("Epoch");
        plot.YLabel(yLabel);
        ChartStyle.Apply(plot);
        plot.ShowLegend(percent ? Alignment.LowerRight : Alignment.UpperRight);
        return plot;
    }

    /// <summary>Adds one series as lines with round markers, one scatter per run of finite values; only the first carries the legend entry.</summary>
    private static void AddSeries(Plot plot, double[] x, double[] y, SKColor color, string label)
    {
        bool labelled = false;
        int i = 0;
        while (i < y.Length)
        {
            if (!double.IsFinite(y[i]))
            {
                i++;
                continue;
            }

            int start = i;
            while (i < y.Length && double.IsFinite(y[i]))
            {
                i++;
            }

            var scatter = plot.Add.Scatter(x[start..i], y[start..i], ChartStyle.ToColor(color));
            scatter.LineWidth = 2.2f;
            scatter.MarkerShape = x.Length <= 60 ? MarkerShape.FilledCircle : MarkerShape.None;
            scatter.MarkerSize = 7.5f;
            scatter.MarkerLineColor = Colors.White;
            scatter.MarkerLineWidth = 1.2f;
            if (!labelled)
            {
                scatter.LegendText = label;
                labelled = true;
            }
        }
    }

    /// <summary>1, 2 or 5 × 10^k, the smallest at least <paramref name="raw"/>.</summary>
    private static double NiceStep(double raw)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / magnitude;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
    }

    /// <summary>ScottPlot's automatic ticks (about 8), all labelled with the same number of decimals ("0.0, 0.5, 1.0").</summary>
    private sealed class EvenDecimals : ITickGenerator
    {
        private readonly NumericAutomatic _inner = new() { TargetTickCount = 8 };

        public Tick[] Ticks { get; private set; } = [];

        public int MaxTickCount { get => _inner.MaxTickCount; set => _inner.MaxTickCount = value; }

        public void Regenerate(CoordinateRange range, Edge edge, PixelLength size, Paint paint, LabelStyle labelStyle)
        {
            _inner.Regenerate(range, edge, size, paint, labelStyle);
            var major = _inner.Ticks.Where(t => t.IsMajor).ToArray();
            int decimals = major.Length == 0 ? 0 : major.Max(t => Decimals(t.Position));
            string format = "F" + decimals.ToString(ChartStyle.Invariant);
            Ticks = major.Select(t => Tick.Major(t.Position, t.Position.ToString(format, ChartStyle.Invariant))).ToArray();
        }

        private static int Decimals(double value)
        {
            for (int d = 0; d < 6; d++)
            {
                if (Math.Abs((value * Math.Pow(10, d)) - Math.Round(value * Math.Pow(10, d))) < 1e-6)
                {
                    return d;
                }
            }

            return 6;
        }
    }
}
