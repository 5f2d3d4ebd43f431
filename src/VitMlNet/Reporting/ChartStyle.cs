using System.Globalization;
using SkiaSharp;

namespace VitMlNet.Reporting;

/// <summary>Shared colours, axis ticks and colormaps of the report charts.</summary>
internal static class ChartStyle
{
    internal static readonly SKColor Ink = new(0x22, 0x22, 0x22);
    internal static readonly SKColor MutedInk = new(0x5f, 0x63, 0x68);
    internal static readonly SKColor Axis = new(0x8a, 0x8f, 0x96);
    internal static readonly SKColor Grid = new(0xe6, 0xe8, 0xeb);
    internal static readonly SKColor Train = new(0x1f, 0x77, 0xb4);
    internal static readonly SKColor Validation = new(0xff, 0x7f, 0x0e);
    internal static readonly SKColor Wrong = new(0xd6, 0x27, 0x28);
    internal static readonly SKColor Right = new(0x2c, 0xa0, 0x2c);

    internal const float TitleSize = 20;
    internal const float PanelTitleSize = 16;
    internal const float LabelSize = 14;
    internal const float TickSize = 12;

    internal static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static SKPaint Stroke(SKColor color, float width, bool antialias = true) =>
        new() { Color = color, StrokeWidth = width, Style = SKPaintStyle.Stroke, IsAntialias = antialias };

    internal static SKPaint Fill(SKColor color, bool antialias = true) =>
        new() { Color = color, Style = SKPaintStyle.Fill, IsAntialias = antialias };

    /// <summary>Axis ticks at a "nice" step (1, 2, 2.5 or 5 × 10^k) covering [min, max]; about <paramref name="target"/> of them.</summary>
    internal static AxisTicks NiceTicks(double min, double max, int target = 6, bool integer = false)
    {
        if (!(max > min))
        {
            double pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.1 : 1;
            (min, max) = (min - pad, max + pad);
        }

        double raw = (max - min) / Math.Max(1, target - 1);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / magnitude;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
        double step = nice * magnitude;
        if (integer)
        {
            step = Math.Max(1, Math.Round(step));
        }

        double lo = Math.Floor((min / step) + 1e-9) * step;
        double hi = Math.Ceiling((max / step) - 1e-9) * step;
        int count = (int)Math.Round((hi - lo) / step) + 1;
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = lo + (i * step);
        }

        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        if (Math.Abs((step / Math.Pow(10, -decimals)) - Math.Round(step / Math.Pow(10, -decimals))) > 1e-6)
        {
            decimals++;
        }

        return new AxisTicks(lo, hi, values, Math.Min(decimals, 6));
    }

    /// <summary>Jet colormap (blue → cyan → yellow → red) at <paramref name="v"/> in [0, 1].</summary>
    internal static (float R, float G, float B) Jet(float v)
    {
        v = Math.Clamp(v, 0f, 1f);
        static float Channel(float x) => Math.Clamp(1.5f - MathF.Abs(x), 0f, 1f);
        return (Channel((4 * v) - 3), Channel((4 * v) - 2), Channel((4 * v) - 1));
    }

    private static readonly byte[] BluesStops =
    [
        0xf7, 0xfb, 0xff, 0xde, 0xeb, 0xf7, 0xc6, 0xdb, 0xef, 0x9e, 0xca, 0xe1, 0x6b, 0xae, 0xd6,
        0x42, 0x92, 0xc6, 0x21, 0x71, 0xb5, 0x08, 0x51, 0x9c, 0x08, 0x30, 0x6b,
    ];

    /// <summary>Sequential white → dark blue colormap (like matplotlib's "Blues") at <paramref name="v"/> in [0, 1].</summary>
    internal static SKColor Blues(double v)
    {
        byte[] stops = BluesStops;
        int n = (stops.Length / 3) - 1;
        double t = Math.Clamp(double.IsFinite(v) ? v : 0, 0, 1) * n;
        int i = Math.Min((int)t, n - 1);
        double f = t - i;
        byte Mix(int c) => (byte)Math.Round(stops[(i * 3) + c] + ((stops[((i + 1) * 3) + c] - stops[(i * 3) + c]) * f));
        return new SKColor(Mix(0), Mix(1), Mix(2));
    }

    /// <summary>Formats a count with thousands separators ("12,345").</summary>
    internal static string Count(long value) => value.ToString("N0", Invariant);
}

/// <summary>Tick values of one axis and the axis range they span.</summary>
internal sealed record AxisTicks(double Min, double Max, double[] Values, int Decimals)
{
    internal string Label(double value, string suffix = "") =>
        value.ToString("F" + Decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + suffix;
}
