using SkiaSharp;
using VitMlNet.Cli.Reporting;

namespace VitMlNet.Tests.Cli.Reporting;

public sealed class ChartTextTests
{
    [Fact]
    public void ShippedFonts_AreDejaVuSansRegularAndBold()
    {
        Assert.Equal("DejaVu Sans", ReportFonts.Regular.FamilyName);
        Assert.Equal("DejaVu Sans", ReportFonts.Bold.FamilyName);
        Assert.True(ReportFonts.Bold.FontWeight >= (int)SKFontStyleWeight.Bold, $"bold weight {ReportFonts.Bold.FontWeight}");
        Assert.True(ReportFonts.Regular.FontWeight < (int)SKFontStyleWeight.SemiBold, $"regular weight {ReportFonts.Regular.FontWeight}");

        // Everything the charts write themselves, and typical class names, has glyphs in the shipped faces.
        const string text = "Accuracy (%) \u2014 T-shirt/top Ankle boot p = 0.97 \u2026 Kr\u00e4he \u00e9t\u00e9 \u0394\u03b1 \u0416\u0443\u043a";
        Assert.Equal((ReportFonts.Regular, text), ReportFonts.ForText(text));
        Assert.Equal((ReportFonts.Bold, text), ReportFonts.ForText(text, bold: true));
    }

    [Fact]
    public void ForText_CharacterMissingFromTheShippedFont_UsesAFontWithItOrAQuestionMark()
    {
        const string text = "\u732b cat";
        var (typeface, shown) = ReportFonts.ForText(text);
        if (ReferenceEquals(typeface, ReportFonts.Regular))
        {
            Assert.Equal("? cat", shown);
        }
        else
        {
            Assert.Equal(text, shown);
            Assert.NotEqual(0, typeface.GetGlyph('\u732b'));
            Assert.NotEqual(0, typeface.GetGlyph('c'));
        }
    }

    [Fact]
    public void ForText_CharacterInAnInstalledFont_IsDrawnWithThatFont()
    {
        // U+2600 (sun) is not in the shipped subset; full DejaVu Sans and most other font packages have it.
        var installed = SKFontManager.Default.MatchCharacter('\u2600');
        var (typeface, shown) = ReportFonts.ForText("\u2600 sunny");
        if (installed is null || installed.GetGlyph('\u2600') == 0 || installed.GetGlyph('s') == 0)
        {
            Assert.Equal("? sunny", shown);
            return;
        }

        Assert.NotSame(ReportFonts.Regular, typeface);
        Assert.Equal("\u2600 sunny", shown);
    }

    [Fact]
    public void ForTexts_PicksOneTypefaceForAllTexts()
    {
        var (typeface, texts) = ReportFonts.ForTexts(["\u732b cat", "dog"]);
        Assert.Equal(ReferenceEquals(typeface, ReportFonts.Regular) ? ["? cat", "dog"] : new[] { "\u732b cat", "dog" }, texts);
        var (bold, plain) = ReportFonts.ForTexts(["cat", "dog"], bold: true);
        Assert.Same(ReportFonts.Bold, bold);
        Assert.Equal(["cat", "dog"], plain);
    }

    [Fact]
    public void ScottPlot_ResolvesTheShippedFamilyName()
    {
        ReportFonts.UseInScottPlot();
        ReportFonts.UseInScottPlot();
        Assert.Single(ScottPlot.Fonts.FontResolvers, r => r.CreateTypeface(ReportFonts.FamilyName, false, false) is not null);
        Assert.Same(ReportFonts.Regular, ScottPlot.Fonts.GetTypeface(ReportFonts.FamilyName, bold: false, italic: false));
        Assert.Same(ReportFonts.Bold, ScottPlot.Fonts.GetTypeface(ReportFonts.FamilyName, bold: true, italic: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Draw_PutsInkWhereTheTextIs(bool bold)
    {
        using var bitmap = new SKBitmap(200, 40);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            ChartText.Draw(canvas, "Accuracy 91%", 10, 20, 14, SKColors.Black, bold: bold);
        }

        float width = ChartText.Measure("Accuracy 91%", 14, bold);
        Assert.InRange(width, 70, 130);
        Assert.True(Png.DarkPixels(bitmap, new SKRectI(10, 10, 10 + (int)width, 30)) > 60);
        Assert.Equal(0, Png.DarkPixels(bitmap, new SKRectI(12 + (int)width, 0, 200, 40)));
        Assert.Equal(0, Png.DarkPixels(bitmap, new SKRectI(0, 0, 8, 40)));
        Assert.Equal(0, Png.DarkPixels(bitmap, new SKRectI(0, 0, 200, 8)));

        string fitted = ChartText.Fit("a very long class name indeed", 14, 80, bold);
        Assert.True(ChartText.Measure(fitted, 14, bold) <= 80);
        Assert.EndsWith("\u2026", fitted, StringComparison.Ordinal);
        Assert.StartsWith("a very", fitted, StringComparison.Ordinal);
    }
}
