using SkiaSharp;
using VitMlNet.Reporting;

namespace VitMlNet.Tests.Reporting;

public sealed class ChartTextTests
{
    [Fact]
    public void BuiltInFont_HasWellFormedGlyphsForPrintableAscii()
    {
        for (char c = ' '; c <= '~'; c++)
        {
            string[] rows = BuiltInFont.GlyphRows(c);
            Assert.InRange(rows.Length, BuiltInFont.CapRows, BuiltInFont.CapRows + 2);
            Assert.All(rows, r => Assert.Matches("^[.#]{5}$", r));
            Assert.Equal(c == ' ', rows.All(r => !r.Contains('#')));
        }

        Assert.Equal(BuiltInFont.GlyphRows('?'), BuiltInFont.GlyphRows('\u4e2d'));
        Assert.Equal(BuiltInFont.GlyphRows('-'), BuiltInFont.GlyphRows('\u2014'));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Draw_PutsInkWhereTheTextIs(bool builtIn)
    {
        ChartText.ForceBuiltInFont = builtIn;
        try
        {
            var text = ChartText.Create();
            Assert.Equal(builtIn, text.UsesBuiltInFont);
            using var bitmap = new SKBitmap(200, 40);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(SKColors.White);
                text.Draw(canvas, "Accuracy 91%", 10, 20, 14, SKColors.Black);
            }

            float width = text.Measure("Accuracy 91%", 14);
            Assert.InRange(width, 50, 180);
            Assert.True(Png.DarkPixels(bitmap, new SKRectI(10, 10, 10 + (int)width, 30)) > 40);
            Assert.Equal(0, Png.DarkPixels(bitmap, new SKRectI(12 + (int)width, 0, 200, 40)));
            Assert.Equal(0, Png.DarkPixels(bitmap, new SKRectI(0, 0, 8, 40)));

            string fitted = text.Fit("a very long class name indeed", 14, 80);
            Assert.True(text.Measure(fitted, 14) <= 80);
            Assert.NotEqual("a very long class name indeed", fitted);
        }
        finally
        {
            ChartText.ForceBuiltInFont = false;
        }
    }

    [Fact]
    public void Charts_RenderWithTheBuiltInFont()
    {
        using var folder = new ReportFolder();
        ChartText.ForceBuiltInFont = true;
        try
        {
            var curves = TrainingCurves.Write(folder.File("fallback_curves.png"), ReportTestData.Epochs());
            var matrix = ConfusionMatrixChart.Write(folder.File("fallback_confusion.png"), ReportTestData.Confusion(), ReportTestData.FashionClasses);
            using var a = Png.Load(folder.File("fallback_curves.png"), curves);
            using var b = Png.Load(folder.File("fallback_confusion.png"), matrix);
            Png.AssertNotBlank(a);
            Png.AssertNotBlank(b);
        }
        finally
        {
            ChartText.ForceBuiltInFont = false;
        }
    }
}
