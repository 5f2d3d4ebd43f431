using SkiaSharp;

namespace VitMlNet.Reporting;

/// <summary>Horizontal anchoring of drawn text.</summary>
internal enum TextAnchor
{
    Start,
    Middle,
    End,
}

/// <summary>
/// Text measuring and drawing for the charts. Uses a system sans-serif typeface when one loads (the file named by
/// <c>VITMLNET_REPORT_FONT</c>, then DejaVu Sans / Liberation Sans / Arial / Noto Sans / Helvetica by family or well-known
/// path, then SkiaSharp's default typeface); when none has glyphs, falls back to <see cref="BuiltInFont"/>.
/// </summary>
internal sealed class ChartText
{
    /// <summary>Environment variable naming a .ttf/.otf file to draw report text with.</summary>
    internal const string FontVariable = "VITMLNET_REPORT_FONT";

    private static readonly string[] Families = ["DejaVu Sans", "Liberation Sans", "Arial", "Noto Sans", "Helvetica", "Segoe UI"];

    private static readonly string[] RegularFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
        "C:/Windows/Fonts/arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
    ];

    private static readonly Lazy<(SKTypeface? Regular, SKTypeface? Bold, string Description)> System = new(ResolveSystemTypefaces);

    /// <summary>Makes <see cref="Create"/> use the built-in font on this thread (tests of the fallback).</summary>
    [ThreadStatic]
    internal static bool ForceBuiltInFont;

    private readonly SKTypeface? _regular;
    private readonly SKTypeface? _bold;

    private ChartText(SKTypeface? regular, SKTypeface? bold, string description)
    {
        _regular = regular;
        _bold = bold;
        Description = description;
    }

    /// <summary>Which font draws the text, e.g. "DejaVu Sans" or "built-in 5x7 pixel font".</summary>
    internal string Description { get; }

    /// <summary>Whether the built-in pixel font is used.</summary>
    internal bool UsesBuiltInFont => _regular is null;

    /// <summary>The text renderer for this process (or the built-in one when <see cref="ForceBuiltInFont"/> is set).</summary>
    internal static ChartText Create()
    {
        if (ForceBuiltInFont)
        {
            return new ChartText(null, null, BuiltInDescription);
        }

        var (regular, bold, description) = System.Value;
        return new ChartText(regular, bold, description);
    }

    private const string BuiltInDescription = "built-in 5x7 pixel font";

    private static (SKTypeface?, SKTypeface?, string) ResolveSystemTypefaces()
    {
        SKTypeface? regular = null;
        string? path = Environment.GetEnvironmentVariable(FontVariable);
        if (!string.IsNullOrWhiteSpace(path) && File.Exists(path))
        {
            regular = Usable(SKTypeface.FromFile(path));
        }

        foreach (string family in regular is null ? Families : [])
        {
            var candidate = SKTypeface.FromFamilyName(family);
            if (candidate is not null && string.Equals(candidate.FamilyName, family, StringComparison.OrdinalIgnoreCase))
            {
                regular = Usable(candidate);
                if (regular is not null)
                {
                    break;
                }
            }
        }

        foreach (string file in regular is null ? RegularFiles : [])
        {
            if (File.Exists(file))
            {
                regular = Usable(SKTypeface.FromFile(file));
                if (regular is not null)
                {
                    break;
                }
            }
        }

        regular ??= Usable(SKTypeface.Default);
        if (regular is null)
        {
            return (null, null, BuiltInDescription);
        }

        SKTypeface? bold = Usable(SKTypeface.FromFamilyName(regular.FamilyName, SKFontStyle.Bold));
        if (bold is not null && (bold.FontWeight < (int)SKFontStyleWeight.SemiBold
            || !string.Equals(bold.FamilyName, regular.FamilyName, StringComparison.OrdinalIgnoreCase)))
        {
            bold = null;
        }

        if (bold is null && regular.FamilyName.StartsWith("DejaVu Sans", StringComparison.Ordinal))
        {
            foreach (string file in RegularFiles)
            {
                string boldFile = file.Replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", StringComparison.Ordinal);
                if (boldFile != file && File.Exists(boldFile))
                {
                    bold = Usable(SKTypeface.FromFile(boldFile));
                    break;
                }
            }
        }

        return (regular, bold, regular.FamilyName);
    }

    /// <summary>The typeface when it has glyphs for plain Latin text; else null.</summary>
    private static SKTypeface? Usable(SKTypeface? typeface) =>
        typeface is not null && typeface.GlyphCount > 0 && typeface.ContainsGlyphs("Aa0%") ? typeface : null;

    private SKFont Font(float size, bool bold)
    {
        var font = new SKFont(bold && _bold is not null ? _bold : _regular, size)
        {
            Edging = SKFontEdging.Antialias,
            Subpixel = true,
            Hinting = SKFontHinting.Slight,
            Embolden = bold && _bold is null,
        };
        return font;
    }

    /// <summary>Pixel size of one built-in font unit for a text size.</summary>
    private static float Unit(float size) => MathF.Max(1f, MathF.Round(size / 9f));

    /// <summary>Advance width of <paramref name="text"/> in pixels.</summary>
    internal float Measure(string text, float size, bool bold = false)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        if (_regular is null)
        {
            return ((text.Length * BuiltInFont.Advance) - 1) * Unit(size);
        }

        using var font = Font(size, bold);
        int count = font.CountGlyphs(text);
        Span<ushort> glyphs = count <= 256 ? stackalloc ushort[count] : new ushort[count];
        font.GetGlyphs(text, glyphs);
        return font.MeasureText(glyphs, null);
    }

    /// <summary>
    /// <paramref name="text"/> when it fits <paramref name="maxWidth"/>, else its longest prefix that fits with "…" appended.
    /// </summary>
    internal string Fit(string text, float size, float maxWidth, bool bold = false)
    {
        if (Measure(text, size, bold) <= maxWidth)
        {
            return text;
        }

        string ellipsis = _regular is null ? ".." : "\u2026";
        for (int n = text.Length - 1; n > 0; n--)
        {
            string candidate = text[..n].TrimEnd() + ellipsis;
            if (Measure(candidate, size, bold) <= maxWidth)
            {
                return candidate;
            }
        }

        return ellipsis;
    }

    /// <summary>
    /// Draws one line of text whose cap height is vertically centred on <paramref name="centerY"/>, anchored at
    /// <paramref name="x"/>; rotated by <paramref name="degrees"/> (clockwise) about the anchor point.
    /// </summary>
    internal void Draw(SKCanvas canvas, string text, float x, float centerY, float size, SKColor color,
        TextAnchor anchor = TextAnchor.Start, bool bold = false, float degrees = 0)
    {
        if (text.Length == 0)
        {
            return;
        }

        float width = Measure(text, size, bold);
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
        if (_regular is null)
        {
            DrawBuiltIn(canvas, text, offset, size, paint, bold);
        }
        else
        {
            using var font = Font(size, bold);
            font.GetFontMetrics(out var metrics);
            float capHeight = metrics.CapHeight > 0 ? metrics.CapHeight : size * 0.72f;
            canvas.DrawText(text, offset, capHeight / 2, font, paint);
        }

        canvas.RestoreToCount(saved);
    }

    private static void DrawBuiltIn(SKCanvas canvas, string text, float left, float size, SKPaint paint, bool bold)
    {
        float unit = Unit(size);
        float top = -BuiltInFont.CapRows * unit / 2;
        paint.IsAntialias = false;
        for (int i = 0; i < text.Length; i++)
        {
            string[] rows = BuiltInFont.GlyphRows(text[i]);
            float glyphLeft = left + (i * BuiltInFont.Advance * unit);
            for (int r = 0; r < rows.Length; r++)
            {
                for (int c = 0; c < BuiltInFont.GlyphWidth; c++)
                {
                    if (rows[r][c] == '#')
                    {
                        float px = glyphLeft + (c * unit);
                        float py = top + (r * unit);
                        canvas.DrawRect(px, py, bold ? unit * 1.5f : unit, unit, paint);
                    }
                }
            }
        }
    }
}
