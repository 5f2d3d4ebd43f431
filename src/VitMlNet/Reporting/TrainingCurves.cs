using SkiaSharp;

namespace VitMlNet.Reporting;

/// <summary>
/// Loss and accuracy per epoch, training and validation, as a two-panel line chart (loss left, accuracy right), with the
/// best validation accuracy marked.
/// </summary>
public static class TrainingCurves
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

        using var chart = new ChartCanvas(Width, Height);
        var canvas = chart.Canvas;
        chart.Text.Draw(canvas, title ?? "Training curves", 28, HeaderHeight / 2 + 4, ChartStyle.TitleSize, ChartStyle.Ink, bold: true);

        var epochs = points.Select(p => (double)p.Epoch).ToArray();
        var trainLoss = points.Select(p => p.TrainLoss).ToArray();
        var validationLoss = points.Select(p => p.ValidationLoss ?? double.NaN).ToArray();
        var trainAccuracy = points.Select(p => p.TrainAccuracy * 100).ToArray();
        var validationAccuracy = points.Select(p => (p.ValidationAccuracy ?? double.NaN) * 100).ToArray();

        float half = Width / 2f;
        DrawPanel(chart, new SKRect(0, HeaderHeight, half, Height), "Loss", "Loss", "", epochs, trainLoss, validationLoss, markBest: false);
        DrawPanel(chart, new SKRect(half, HeaderHeight, Width, Height), "Accuracy", "Accuracy (%)", "%", epochs, trainAccuracy,
            validationAccuracy, markBest: true);
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

    private static void DrawPanel(ChartCanvas chart, SKRect panel, string panelTitle, string yLabel, string unit,
        double[] x, double[] train, double[] validation, bool markBest)
    {
        var canvas = chart.Canvas;
        var text = chart.Text;
        var plot = new SKRect(panel.Left + 84, panel.Top + 44, panel.Right - 36, panel.Bottom - 62);
        bool hasValidation = validation.Any(double.IsFinite);

        text.Draw(canvas, panelTitle, plot.Left, panel.Top + 20, ChartStyle.PanelTitleSize, ChartStyle.Ink, bold: true);
        DrawLegend(chart, plot.Right, panel.Top + 20, hasValidation);

        var finite = train.Concat(validation).Where(double.IsFinite).ToArray();
        var xTicks = ChartStyle.NiceTicks(x[0], x[^1], target: Math.Min(10, x.Length + 1), integer: true);
        double xPad = x.Length == 1 ? 0.5 : Math.Max(0.3, (x[^1] - x[0]) * 0.025);
        double xMin = x[0] - xPad, xMax = x[^1] + xPad;
        var xValues = xTicks.Values.Where(v => v >= xMin - 1e-9 && v <= xMax + 1e-9).ToArray();

        AxisTicks yTicks;
        if (finite.Length == 0)
        {
            yTicks = ChartStyle.NiceTicks(0, 1);
        }
        else
        {
            double lo = finite.Min(), hi = finite.Max();
            double pad = hi - lo > 1e-6 * Math.Max(1, Math.Abs(hi)) ? (hi - lo) * 0.05 : Math.Max(Math.Abs(hi) * 0.1, unit == "%" ? 5 : 0.1);
            yTicks = ChartStyle.NiceTicks(lo - pad, hi + pad, target: 6);
            if (unit == "%")
            {
                yTicks = ChartStyle.NiceTicks(Math.Max(0, yTicks.Min), Math.Min(100, yTicks.Max), target: 6);
            }
        }

        float X(double v) => plot.Left + (float)((v - xMin) / (xMax - xMin) * plot.Width);
        float Y(double v) => plot.Bottom - (float)((v - yTicks.Min) / (yTicks.Max - yTicks.Min) * plot.Height);

        using (var grid = ChartStyle.Stroke(ChartStyle.Grid, 1, antialias: false))
        using (var tick = ChartStyle.Stroke(ChartStyle.Axis, 1, antialias: false))
        {
            foreach (double v in yTicks.Values)
            {
                float y = MathF.Round(Y(v)) + 0.5f;
                canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
                canvas.DrawLine(plot.Left - 5, y, plot.Left, y, tick);
                text.Draw(canvas, yTicks.Label(v), plot.Left - 9, y, ChartStyle.TickSize, ChartStyle.MutedInk, TextAnchor.End);
            }

            foreach (double v in xValues)
            {
                float xx = MathF.Round(X(v)) + 0.5f;
                canvas.DrawLine(xx, plot.Top, xx, plot.Bottom, grid);
                canvas.DrawLine(xx, plot.Bottom, xx, plot.Bottom + 5, tick);
                text.Draw(canvas, xTicks.Label(v), xx, plot.Bottom + 17, ChartStyle.TickSize, ChartStyle.MutedInk, TextAnchor.Middle);
            }

            canvas.DrawRect(plot.Left + 0.5f, plot.Top + 0.5f, plot.Width - 1, plot.Height - 1, tick);
        }

        text.Draw(canvas, "Epoch", plot.MidX, plot.Bottom + 42, ChartStyle.LabelSize, ChartStyle.Ink, TextAnchor.Middle);
        text.Draw(canvas, yLabel, panel.Left + 22, plot.MidY, ChartStyle.LabelSize, ChartStyle.Ink, TextAnchor.Middle, degrees: -90);

        if (finite.Length == 0)
        {
            text.Draw(canvas, "no finite values", plot.MidX, plot.MidY, ChartStyle.LabelSize, ChartStyle.MutedInk, TextAnchor.Middle);
            return;
        }

        canvas.Save();
        canvas.ClipRect(plot);
        if (markBest && hasValidation)
        {
            int best = 0;
            for (int i = 1; i < validation.Length; i++)
            {
                if (double.IsFinite(validation[i]) && (!double.IsFinite(validation[best]) || validation[i] > validation[best]))
                {
                    best = i;
                }
            }

            using var dashed = ChartStyle.Stroke(ChartStyle.Axis, 1.2f);
            using var effect = SKPathEffect.CreateDash([5, 4], 0);
            dashed.PathEffect = effect;
            float bx = X(x[best]);
            canvas.DrawLine(bx, plot.Top, bx, plot.Bottom, dashed);
            string label = string.Create(ChartStyle.Invariant, $"best validation {validation[best]:F2}% (epoch {x[best]:F0})");
            float width = text.Measure(label, ChartStyle.TickSize);
            bool right = bx + 8 + width < plot.Right - 4;
            float lx = right ? bx + 8 : bx - 8;
            using (var background = ChartStyle.Fill(new SKColor(255, 255, 255, 220)))
            {
                canvas.DrawRect(right ? lx - 3 : lx - width - 3, plot.Top + 8, width + 6, 20, background);
            }

            text.Draw(canvas, label, lx, plot.Top + 18, ChartStyle.TickSize, ChartStyle.MutedInk, right ? TextAnchor.Start : TextAnchor.End);
        }

        DrawSeries(canvas, x, train, X, Y, ChartStyle.Train);
        DrawSeries(canvas, x, validation, X, Y, ChartStyle.Validation);
        canvas.Restore();
    }

    private static void DrawSeries(SKCanvas canvas, double[] x, double[] y, Func<double, float> toX, Func<double, float> toY, SKColor color)
    {
        using var path = new SKPath();
        bool open = false;
        for (int i = 0; i < x.Length; i++)
        {
            if (!double.IsFinite(y[i]))
            {
                open = false;
                continue;
            }

            if (open)
            {
                path.LineTo(toX(x[i]), toY(y[i]));
            }
            else
            {
                path.MoveTo(toX(x[i]), toY(y[i]));
                open = true;
            }
        }

        using var line = ChartStyle.Stroke(color, 2.2f);
        line.StrokeJoin = SKStrokeJoin.Round;
        line.StrokeCap = SKStrokeCap.Round;
        canvas.DrawPath(path, line);

        if (x.Length <= 60)
        {
            using var fill = ChartStyle.Fill(color);
            using var ring = ChartStyle.Stroke(SKColors.White, 1.2f);
            for (int i = 0; i < x.Length; i++)
            {
                if (double.IsFinite(y[i]))
                {
                    canvas.DrawCircle(toX(x[i]), toY(y[i]), 3.6f, fill);
                    canvas.DrawCircle(toX(x[i]), toY(y[i]), 3.6f, ring);
                }
            }
        }
    }

    private static void DrawLegend(ChartCanvas chart, float right, float centerY, bool hasValidation)
    {
        var entries = hasValidation
            ? new[] { ("Train", ChartStyle.Train), ("Validation", ChartStyle.Validation) }
            : [("Train", ChartStyle.Train)];
        float x = right;
        using var fill = ChartStyle.Fill(SKColors.White);
        for (int i = entries.Length - 1; i >= 0; i--)
        {
            var (label, color) = entries[i];
            float width = chart.Text.Measure(label, ChartStyle.TickSize + 1);
            chart.Text.Draw(chart.Canvas, label, x, centerY, ChartStyle.TickSize + 1, ChartStyle.Ink, TextAnchor.End);
            x -= width + 8;
            using var line = ChartStyle.Stroke(color, 2.2f);
            chart.Canvas.DrawLine(x - 22, centerY, x, centerY, line);
            fill.Color = color;
            chart.Canvas.DrawCircle(x - 11, centerY, 3.6f, fill);
            x -= 22 + 18;
        }
    }
}
