using VitMlNet.Cli.Reporting;

namespace VitMlNet.Tests.Cli.Reporting;

public sealed class AttentionMapChartTests
{
    [Fact]
    public void Write_RgbImages_IsANonBlankPictureWithHotSpots()
    {
        using var folder = new ReportFolder();
        string path = folder.File(AttentionMapChart.DefaultFileName);

        var size = AttentionMapChart.Write(path, ReportTestData.AttentionSamples(6));

        using var png = Png.Load(path, size);
        Png.AssertNotBlank(png);
        // Jet's hot end (red) and cold end (blue) both show in the overlays.
        Assert.True(Png.Count(png, p => p.Red > 150 && p.Green < 90 && p.Blue < 90) > 500, "no hot (red) attention");
        Assert.True(Png.Count(png, p => p.Blue > 150 && p.Red < 90) > 500, "no cold (blue) attention");
    }

    [Fact]
    public void Write_GrayImagesWrappedIntoBands_Works()
    {
        using var folder = new ReportFolder();
        var samples = ReportTestData.AttentionSamples(5, channels: 1, size: 28, grid: 7);

        var one = AttentionMapChart.Write(folder.File("attention_gray.png"), samples, columns: 5);
        var two = AttentionMapChart.Write(folder.File("attention_bands.png"), samples, columns: 3);

        Assert.True(two.Height > one.Height && two.Width < one.Width, $"{one} vs {two}");
        using var png = Png.Load(folder.File("attention_bands.png"), two);
        Png.AssertNotBlank(png);
    }

    [Fact]
    public void Write_IsDeterministic()
    {
        using var folder = new ReportFolder();
        AttentionMapChart.Write(folder.File("a.png"), ReportTestData.AttentionSamples(3));
        AttentionMapChart.Write(folder.File("b.png"), ReportTestData.AttentionSamples(3));
        Assert.Equal(File.ReadAllBytes(folder.File("a.png")), File.ReadAllBytes(folder.File("b.png")));
    }

    [Fact]
    public void Upsample_ScalesToTheMaximumAndKeepsThePeakInPlace()
    {
        var map = new float[4];
        map[3] = 2; // bottom-right patch of a 2x2 grid

        var up = AttentionMapChart.Upsample(map, rows: 2, cols: 2, width: 8, height: 8);

        Assert.Equal(1f, up.Max());
        Assert.Equal(1f, up[(7 * 8) + 7]);
        Assert.Equal(0f, up[0]);
        Assert.All(AttentionMapChart.Upsample(new float[9], 3, 3, 6, 6), v => Assert.Equal(0f, v));
        Assert.All(AttentionMapChart.Upsample([5, 5, 5, 5], 2, 2, 6, 6), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void Write_BadInput_ThrowsNamingTheProblem()
    {
        using var folder = new ReportFolder();
        string path = folder.File("x.png");
        var samples = ReportTestData.AttentionSamples(2);

        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, [])).Message, StringComparison.Ordinal);

        var length = samples.ToList();
        length[1] = length[1] with { Attention = new float[63] };
        var e = Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, length));
        Assert.Contains("samples[1]: the attention map has 63 values, but a 8x8 patch grid needs 64", e.Message, StringComparison.Ordinal);

        var negative = samples.ToList();
        var values = (float[])negative[0].Attention.Clone();
        values[5] = -0.1f;
        negative[0] = negative[0] with { Attention = values };
        Assert.Contains("attention value 5", Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, negative)).Message,
            StringComparison.Ordinal);

        var nan = samples.ToList();
        var nanValues = (float[])nan[0].Attention.Clone();
        nanValues[0] = float.NaN;
        nan[0] = nan[0] with { Attention = nanValues };
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, nan)).Message, StringComparison.Ordinal);

        var pixels = samples.ToList();
        pixels[0] = pixels[0] with { Pixels = new byte[10] };
        Assert.Contains("samples[0]: the pixel array has 10 bytes",
            Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, pixels)).Message, StringComparison.Ordinal);

        var grid = samples.ToList();
        grid[0] = grid[0] with { GridRows = 0 };
        Assert.Contains("attention grid", Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, grid)).Message, StringComparison.Ordinal);

        Assert.Equal("alpha", Assert.Throws<ArgumentException>(() => AttentionMapChart.Write(path, samples, alpha: 1.5f)).ParamName);
        Assert.False(File.Exists(path));
    }
}
