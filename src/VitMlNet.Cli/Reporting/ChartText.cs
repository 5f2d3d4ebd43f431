using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>Horizontal anchoring of drawn text.</summary>
internal enum TextAnchor
{
    Start,
    Middle,
    End,
}

/// <summary>
/// Text measuring and drawing with SkiaSharp for the image composites (<see cref="PredictionGrid"/>,
/// <see cref="AttentionMapChart"/>), in the shipped DejaVu Sans of <see cref="ReportFonts"/>.
/// </summary>
internal static class ChartText
{
    private static SKFont Font(SKTypeface typeface, float size) => new(typeface, size)
    {
        Edging = SKFontEdging.Antialias,
        Subpixel = true,
        Hinting = SKFontHinting.Slight,
    };

    /// <summary>Advance width of <paramref name="text"/> in pixels.</summary>
    internal static float Measure(string text, float size, bool bold = false)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        var (typeface, shown) = ReportFonts.ForText(text, bold);
        using var font = Font(typeface, size);
        return font.MeasureText(shown);
    }

    /// <summary>
    /// <paramref name="text"/> when it fits <paramref name="maxWidth"/>, else its longest prefix that fits with "…" appended.
    /// </summary>
    internal static string Fit(string text, float size, float maxWidth, bool bold = false)
    {
        if (Measure(text, size, bold) <= maxWidth)
        {
            return text;
        }

        for (int n = text.Length - 1; n > 0; n--)
        {
            if (char.IsLowSurrogate(text[n]))
            {
                continue;
            }

            string candidate = text[..n].TrimEnd() + "\u2026";
            if (Measure(candidate, size, bold) <= maxWidth)
            {
                return candidate;
            }
        }

        return "\u2026";
    }

    /// <summary>
    /// Draws one line of text whose cap height is vertically centred on <paramref name="centerY"/>, anchored at
    /// <paramref name="x"/>; rotated by <paramref name="degrees"/> (clockwise) about the anchor point.
    /// </summary>
    internal static void Draw(SKCanvas canvas, string text, float x, float centerY, float size, SKColor color,
        TextAnchor anchor = TextAnchor.Start, bool bold = false, float degrees = 0)
    {
        if (text.Length == 0)
        {
            return;
        }

        var (typeface, shown) = ReportFonts.ForText(text, bold);
        using var font = Font(typeface, size);
        float width = font.MeasureText(shown);
        float offset = anchor switch
        {
            TextAnchor.Middle => -width / 2,
            TextAnchor.End => -width,
            _ => 0,
        };

        int saved = canvas.Save();
        canvas.Translate(x, centerY);
        if (degrees != 0)
        {
            canvas.RotateDegrees(degrees);
        }

        using var paint = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
        font.GetFontMetrics(out var metrics);
        float capHeight = metrics.CapHeight > 0 ? metrics.CapHeight : size * 0.72f;
        canvas.DrawText(shown, offset, capHeight / 2, font, paint);
        canvas.RestoreToCount(saved);
    }
}
