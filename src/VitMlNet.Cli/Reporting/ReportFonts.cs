using System.Collections.Concurrent;
using System.Text;
using ScottPlot;
using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>
/// The typefaces of all report text: DejaVu Sans Book and Bold, shipped inside this assembly (subset to Latin, Greek,
/// Cyrillic and common symbols; see <c>Reporting/Fonts/LICENSE.txt</c>), so that charts carry the same text on every
/// machine, whether or not it has fonts installed. Text with a character the shipped font lacks is drawn with a system
/// typeface that has every character of it; when there is none, the missing characters become '?', so that no chart
/// shows missing-glyph boxes.
/// </summary>
internal static class ReportFonts
{
    /// <summary>The font name under which ScottPlot finds the shipped typefaces (see <see cref="UseInScottPlot"/>).</summary>
    internal const string FamilyName = "VitMlNet DejaVu Sans";

    private static readonly Lazy<(SKTypeface Regular, SKTypeface Bold)> Shipped = new(Load);
    private static readonly ConcurrentDictionary<(int CodePoint, bool Bold), SKTypeface?> SystemFallback = new();
    private static readonly object Registration = new();
    private static bool _registered;

    /// <summary>DejaVu Sans Book, from this assembly.</summary>
    internal static SKTypeface Regular => Shipped.Value.Regular;

    /// <summary>DejaVu Sans Bold, from this assembly.</summary>
    internal static SKTypeface Bold => Shipped.Value.Bold;

    /// <summary>
    /// The typeface to draw <paramref name="text"/> with and the text to draw: the shipped typeface and the text itself when
    /// it has every glyph; else a system typeface with every glyph; else the shipped typeface and the text with each
    /// character it lacks replaced by '?'.
    /// </summary>
    internal static (SKTypeface Typeface, string Text) ForText(string text, bool bold = false)
    {
        var typeface = Choose(text, bold);
        return (typeface, Drawable(typeface, text));
    }

    /// <summary>
    /// One typeface for several texts drawn in one style (e.g. an axis's tick labels), chosen as for their concatenation
    /// by <see cref="ForText"/>, and the texts to draw with it.
    /// </summary>
    internal static (SKTypeface Typeface, string[] Texts) ForTexts(IReadOnlyList<string> texts, bool bold = false)
    {
        var typeface = Choose(string.Concat(texts), bold);
        return (typeface, texts.Select(t => Drawable(typeface, t)).ToArray());
    }

    private static SKTypeface Choose(string text, bool bold)
    {
        var shipped = bold ? Bold : Regular;
        int missing = FirstMissing(shipped, text);
        if (missing < 0)
        {
            return shipped;
        }

        var fallback = SystemFallback.GetOrAdd((missing, bold), static key => MatchCharacter(key.CodePoint, key.Bold));
        return fallback is not null && FirstMissing(fallback, text) < 0 ? fallback : shipped;
    }

    /// <summary><paramref name="text"/> with each character that <paramref name="typeface"/> lacks replaced by '?'.</summary>
    private static string Drawable(SKTypeface typeface, string text)
    {
        return FirstMissing(typeface, text) < 0
            ? text
            : string.Concat(text.EnumerateRunes().Select(rune => Drawable(typeface, rune) ? rune.ToString() : "?"));
    }

    /// <summary>
    /// Lets ScottPlot resolve <see cref="FamilyName"/> (any <c>FontName</c> set to it, e.g. legend entries) to the shipped
    /// typefaces. Adds one resolver to <c>ScottPlot.Fonts.FontResolvers</c>, once per process; other names resolve as before.
    /// </summary>
    internal static void UseInScottPlot()
    {
        lock (Registration)
        {
            if (!_registered)
            {
                ScottPlot.Fonts.FontResolvers.Insert(0, new ShippedFontResolver());
                _registered = true;
            }
        }
    }

    /// <summary>
    /// Sets a ScottPlot label's font, size and colour: the typeface <see cref="ForText"/> picks for the label's own text
    /// (which becomes the drawable text), or for <paramref name="text"/> when given (e.g. all tick labels of an axis).
    /// </summary>
    internal static void Apply(LabelStyle style, float size, SKColor color, bool bold = false, string? text = null)
    {
        var (typeface, shown) = ForText(text ?? style.Text, bold);
        if (text is null)
        {
            style.Text = shown;
        }

        style.FontName = FamilyName;
        style.Font = typeface;
        style.Bold = bold;
        style.FontSize = size;
        style.ForeColor = ScottPlot.Color.FromSKColor(color);
    }

    private static (SKTypeface, SKTypeface) Load() => (FromResource("DejaVuSans.ttf"), FromResource("DejaVuSans-Bold.ttf"));

    private static SKTypeface FromResource(string file)
    {
        string name = "VitMlNet.Cli.Reporting.Fonts." + file;
        using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The font resource {name} is missing from {typeof(ReportFonts).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        using var data = SKData.CreateCopy(copy.ToArray());
        var typeface = SKTypeface.FromData(data);
        if (typeface is null || typeface.GlyphCount == 0 || FirstMissing(typeface, "Aa0%") >= 0)
        {
            throw new InvalidOperationException($"SkiaSharp could not load the font resource {name}.");
        }

        return typeface;
    }

    private static SKTypeface? MatchCharacter(int codePoint, bool bold)
    {
        var style = bold ? SKFontStyle.Bold : SKFontStyle.Normal;
        return SKFontManager.Default.MatchCharacter(null, style.Weight, style.Width, style.Slant, null, codePoint);
    }

    /// <summary>The first code point of <paramref name="text"/> that <paramref name="typeface"/> cannot draw, or -1.</summary>
    private static int FirstMissing(SKTypeface typeface, string text) =>
        text.EnumerateRunes().Where(rune => !Drawable(typeface, rune)).Select(rune => rune.Value).DefaultIfEmpty(-1).First();

    /// <summary>Whether the typeface has a glyph for the character (control characters draw nothing and count as drawable).</summary>
    private static bool Drawable(SKTypeface typeface, Rune rune) => Rune.IsControl(rune) || typeface.GetGlyph(rune.Value) != 0;

    /// <summary>ScottPlot font resolver for <see cref="FamilyName"/>: semi-bold and heavier get the bold face.</summary>
    private sealed class ShippedFontResolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            fontName == FamilyName ? (weight >= FontWeight.SemiBold ? Bold : Regular) : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            fontName == FamilyName ? (bold ? Bold : Regular) : null;
    }
}
