using SkiaSharp;
using VitMlNet.Cli.Reporting;

namespace VitMlNet.Tests.Cli.Reporting;

public sealed class PredictionGridTests
{
    private static bool IsWrongRed(SKColor p) => p.Red > 190 && p.Green < 70 && p.Blue < 70;

    [Fact]
    public void Write_GrayImages_IsANonBlankGridWithWrongOnesInRed()
    {
        using var folder = new ReportFolder();
        string path = folder.File(PredictionGrid.DefaultFileName);
        var samples = ReportTestData.Predictions(36);

        var size = PredictionGrid.Write(path, samples);

        using var png = Png.Load(path, size);
        Png.AssertNotBlank(png);
        Assert.True(Png.Count(png, IsWrongRed) > 7 * 4 * 112, "wrong predictions should be framed in red");
        // Text is drawn: the title and the first image's caption ("T-shirt/top / T-shirt/top", "p = 0.860").
        Assert.True(Png.DarkPixels(png, new SKRectI(20, 8, 480, 34)) > 400, "no title text");
        Assert.True(Png.Count(png, new SKRectI(20, 64, 190, 100), p => p.Red < 140 && p.Green < 140 && p.Blue < 140) > 150,
            "no caption over the first image");
    }

    [Fact]
    public void Write_AllCorrect_HasNoRed()
    {
        using var folder = new ReportFolder();
        var samples = ReportTestData.Predictions(6).Select(s => s with { Predicted = s.Actual }).ToList();

        var size = PredictionGrid.Write(folder.File("pred_correct.png"), samples);

        using var png = Png.Load(folder.File("pred_correct.png"), size);
        Assert.Equal(0, Png.Count(png, IsWrongRed));
    }

    [Fact]
    public void Write_RgbImages_AreUpscaledNearestNeighbour()
    {
        using var folder = new ReportFolder();
        // A 32x32 RGB image with one unique-coloured 2x2 block: at scale 4 it must become exactly one 8x8 block.
        var pixels = ReportTestData.Picture(3, 32, 32, seed: 1);
        var samples = ReportTestData.Predictions(3, channels: 3, size: 32);
        for (int y = 10; y < 12; y++)
        {
            for (int x = 5; x < 7; x++)
            {
                pixels[(y * 32) + x] = 12;
                pixels[1024 + (y * 32) + x] = 201;
                pixels[2048 + (y * 32) + x] = 99;
            }
        }

        samples[0] = samples[0] with { Pixels = pixels };

        var size = PredictionGrid.Write(folder.File("pred_rgb.png"), samples, scale: 4);

        using var png = Png.Load(folder.File("pred_rgb.png"), size);
        Assert.Equal(64, Png.Count(png, p => p.Red == 12 && p.Green == 201 && p.Blue == 99));
    }

    [Fact]
    public void Write_MaxImages_DrawsOnlyTheFirstOnes()
    {
        using var folder = new ReportFolder();
        var samples = ReportTestData.Predictions(50);

        var limited = PredictionGrid.Write(folder.File("pred_9_of_50.png"), samples, maxImages: 9);
        var exact = PredictionGrid.Write(folder.File("pred_9.png"), samples.Take(9).ToList(), maxImages: 9);

        Assert.Equal(exact, limited);
        Assert.Equal(File.ReadAllBytes(folder.File("pred_9.png")), File.ReadAllBytes(folder.File("pred_9_of_50.png")));
    }

    [Fact]
    public void Write_LargeImages_AreScaledDownToTheCap()
    {
        using var folder = new ReportFolder();
        var samples = ReportTestData.Predictions(2, channels: 3, size: 300);

        var size = PredictionGrid.Write(folder.File("pred_large.png"), samples, scale: 4, columns: 2);

        Assert.True(size.Width < 2 * (PredictionGrid.MaxImageSide + 60), $"width {size.Width}");
        using var png = Png.Load(folder.File("pred_large.png"), size);
        Png.AssertNotBlank(png);
    }

    [Fact]
    public void Write_BadInput_ThrowsNamingTheProblem()
    {
        using var folder = new ReportFolder();
        string path = folder.File("x.png");
        var samples = ReportTestData.Predictions(3);

        var empty = Assert.Throws<ArgumentException>(() => PredictionGrid.Write(path, []));
        Assert.Equal("samples", empty.ParamName);
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);

        var mismatch = samples.ToList();
        mismatch[1] = mismatch[1] with { Pixels = new byte[(28 * 28) + 1] };
        var size = Assert.Throws<ArgumentException>(() => PredictionGrid.Write(path, mismatch));
        Assert.Contains("samples[1]", size.Message, StringComparison.Ordinal);
        Assert.Contains("785 bytes", size.Message, StringComparison.Ordinal);

        var probability = samples.ToList();
        probability[2] = probability[2] with { Probability = 1.5 };
        var p = Assert.Throws<ArgumentException>(() => PredictionGrid.Write(path, probability));
        Assert.Contains("samples[2].Probability", p.Message, StringComparison.Ordinal);

        var label = samples.ToList();
        label[0] = label[0] with { Actual = "" };
        Assert.Contains("samples[0]", Assert.Throws<ArgumentException>(() => PredictionGrid.Write(path, label)).Message, StringComparison.Ordinal);

        Assert.Equal("scale", Assert.Throws<ArgumentException>(() => PredictionGrid.Write(path, samples, scale: 0)).ParamName);
        Assert.Equal("maxImages", Assert.Throws<ArgumentException>(() => PredictionGrid.Write(path, samples, maxImages: 0)).ParamName);
        Assert.False(File.Exists(path));
    }
}
