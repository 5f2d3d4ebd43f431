using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>Shared colours, text sizes and the ScottPlot look of the report charts.</summary>
internal static class ChartStyle
{
    internal static readonly SKColor Ink = new(0x22, 0x22, 0x22);
    internal static readonly SKColor MutedInk = new(0x5f, 0x63, 0x68);
    internal static readonly SKColor Axis = new(0x8a, 0x8f, 0x96);
    internal static readonly SKColor Grid = new(0xe6, 0xe8, 0xeb);
    internal static readonly SKColor Train = new(0x1f, 0x77, 0xb4);
    internal static readonly SKColor Validation = new(0xff, 0x7f, 0x0e);
    internal static readonly SKColor Wrong = new(0xd6, 0x27, 0x28);

    internal const float TitleSize = 20;
    internal const float PanelTitleSize = 16;
    internal const float LabelSize = 14;
    internal const float TickSize = 12;

    internal static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static SKPaint Stroke(SKColor color, float width, bool antialias = true) =>
        new() { Color = color, StrokeWidth = width, Style = SKPaintStyle.Stroke, IsAntialias = antialias };

    internal static SKPaint Fill(SKColor color, bool antialias = true) =>
        new() { Color = color, Style = SKPaintStyle.Fill, IsAntialias = antialias };

    /// <summary>Jet colormap (blue → cyan → yellow → red) at <paramref name="v"/> in [0, 1].</summary>
    internal static (float R, float G, float B) Jet(float v)
    {
        v = Math.Clamp(v, 0f, 1f);
        static float Channel(float x) => Math.Clamp(1.5f - MathF.Abs(x), 0f, 1f);
        return (Channel((4 * v) - 3), Channel((4 * v) - 2), Channel((4 * v) - 1));
    }

    /// <summary>Formats a count with thousands separators ("12,345").</summary>
    internal static string Count(long value) => value.ToString("N0", Invariant);

    /// <summary>The ScottPlot colour of a SkiaSharp colour.</summary>
    internal static Color ToColor(SKColor color) => Color.FromSKColor(color);

    /// <summary>
    /// Gives a ScottPlot plot the report look: white background, light grid, gray frame and ticks, and every title, axis
    /// label, tick label and legend entry in the shipped DejaVu Sans (<see cref="ReportFonts"/>; axis labels regular, the
    /// title bold). Call it after the titles and labels are set (their text picks the typeface); the plot then renders into
    /// a part of a canvas without clearing the rest.
    /// </summary>
    internal static void Apply(Plot plot)
    {
        ReportFonts.UseInScottPlot();
        plot.RenderManager.ClearCanvasBeforeEachRender = false;
        plot.FigureBackground.Color = Colors.White;
        plot.DataBackground.Color = Colors.White;
        plot.Grid.MajorLineColor = ToColor(Grid);
        plot.Grid.MajorLineWidth = 1;
        plot.Grid.MinorLineWidth = 0;
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.FrameLineStyle.Color = ToColor(Axis);
            axis.FrameLineStyle.Width = 1;
            axis.MajorTickStyle.Color = ToColor(Axis);
            axis.MajorTickStyle.Length = 5;
            axis.MajorTickStyle.Width = 1;
            axis.MinorTickStyle.Length = 0;
            ReportFonts.Apply(axis.TickLabelStyle, TickSize, MutedInk);
            ReportFonts.Apply(axis.Label, LabelSize, Ink);
        }

        ReportFonts.Apply(plot.Axes.Title.Label, PanelTitleSize, Ink, bold: true);
        plot.Legend.FontName = ReportFonts.FamilyName;
        plot.Legend.FontSize = TickSize + 1;
        plot.Legend.FontColor = ToColor(Ink);
        plot.Legend.OutlineColor = ToColor(new SKColor(0xd0, 0xd4, 0xd9));
        plot.Legend.ShadowColor = Colors.Transparent;
    }
}
