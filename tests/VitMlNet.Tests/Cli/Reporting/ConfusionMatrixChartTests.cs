using SkiaSharp;
using VitMlNet.Cli.Reporting;

namespace VitMlNet.Tests.Cli.Reporting;

public sealed class ConfusionMatrixChartTests
{
    [Fact]
    public void Write_TenClasses_IsAFixedSizeNonBlankPngWithADarkDiagonal()
    {
        using var folder = new ReportFolder();
        string path = folder.File(ConfusionMatrixChart.DefaultFileName);
        var counts = ReportTestData.Confusion();

        var size = ConfusionMatrixChart.Write(path, counts, ReportTestData.FashionClasses);

        Assert.Equal(new PixelSize(ConfusionMatrixChart.Width, ConfusionMatrixChart.Height), size);
        using var png = Png.Load(path, size);
        Png.AssertNotBlank(png);
        // Row-normalized colour: a diagonal cell (≈ 95% of its row) is dark blue, an off-diagonal one (≈ 0%) near white.
        // Sampled just inside each cell's top-left corner, away from the count text.
        var diagonal = CellCorner(png, 1, 1, 10);
        var offDiagonal = CellCorner(png, 1, 8, 10);
        Assert.True(diagonal.Blue > 80 && diagonal.Red < 40, $"diagonal cell colour {diagonal}");
        Assert.True(offDiagonal.Red > 230 && offDiagonal.Blue > 240, $"off-diagonal cell colour {offDiagonal}");
        // Text is drawn: the title, the class names left of and under the matrix, the counts in the cells.
        Assert.True(Png.DarkPixels(png, new SKRectI(200, 15, 860, 55)) > 800, "no title text");
        Assert.True(Png.DarkPixels(png, new SKRectI(100, 70, 208, 700)) > 600, "no class names left of the matrix");
        Assert.True(Png.DarkPixels(png, new SKRectI(150, 712, 860, 780)) > 600, "no class names under the matrix");
        // Cell (0, 1), a light one, holds "33" and "3.3%" in dark text (the matrix starts at (214, 64) with 64-pixel cells).
        Assert.True(Png.DarkPixels(png, new SKRectI(280, 66, 340, 126)) > 40, "no count in cell (0, 1)");
    }

    [Fact]
    public void Write_ClassNamesWithCharactersOutsideTheShippedFont_Render()
    {
        using var folder = new ReportFolder();
        string[] names = ["\u732b cat", "\u72ac dog", "\u9ce5 bird"];

        var size = ConfusionMatrixChart.Write(folder.File("cm_cjk.png"), ReportTestData.Confusion(3, 30), names, "\u6df7\u540c\u884c\u5217");

        using var png = Png.Load(folder.File("cm_cjk.png"), size);
        Png.AssertNotBlank(png);
        Assert.True(Png.DarkPixels(png, new SKRectI(100, 70, 208, 700)) > 100, "no class names left of the matrix");
    }

    /// <summary>The matrix occupies a 640-pixel square whose left/top edges are found as the first non-white pixels.</summary>
    private static SKColor CellCorner(SKBitmap png, int row, int column, int classes)
    {
        // The darkest (diagonal) cell (0, 0) marks where the matrix starts: scan the middle of the first row band.
        int left = 0, top = 0;
        for (int x = 150; x < png.Width; x++)
        {
            var p = png.GetPixel(x, 100);
            if (p.Red < 100 && p.Blue > 80)
            {
                left = x;
                break;
            }
        }

        for (int y = 60; y < png.Height; y++)
        {
            var p = png.GetPixel(left + 3, y);
            if (p.Red < 100 && p.Blue > 80)
            {
                top = y;
                break;
            }
        }

        Assert.True(left > 0 && top > 0, "matrix not found");
        float cell = 640f / classes;
        return png.GetPixel(left + (int)(column * cell) + 4, top + (int)(row * cell) + 4);
    }

    [Fact]
    public void Write_IntMatrixLongMatrixAndMlNetCounts_GiveTheSamePicture()
    {
        using var folder = new ReportFolder();
        var jagged = ReportTestData.Confusion(classes: 4, perClass: 50);
        var grid = new int[4, 4];
        for (int r = 0; r < 4; r++)
        {
            for (int c = 0; c < 4; c++)
            {
                grid[r, c] = (int)jagged[r][c];
            }
        }

        IReadOnlyList<IReadOnlyList<double>> mlnet = jagged.Select(row => (IReadOnlyList<double>)row.Select(v => (double)v).ToList()).ToList();
        string[] names = ["cat", "dog", "bird", "fish"];

        ConfusionMatrixChart.Write(folder.File("cm_long.png"), jagged, names);
        ConfusionMatrixChart.Write(folder.File("cm_int.png"), grid, names);
        ConfusionMatrixChart.Write(folder.File("cm_mlnet.png"), mlnet, names);

        byte[] expected = File.ReadAllBytes(folder.File("cm_long.png"));
        Assert.Equal(expected, File.ReadAllBytes(folder.File("cm_int.png")));
        Assert.Equal(expected, File.ReadAllBytes(folder.File("cm_mlnet.png")));
    }

    [Fact]
    public void Write_HundredClassesAndAllZeroMatrix_StillRender()
    {
        using var folder = new ReportFolder();
        var names = Enumerable.Range(0, 100).Select(i => $"class_{i:D3}").ToArray();

        var many = ConfusionMatrixChart.Write(folder.File("cm_100.png"), ReportTestData.Confusion(100, 100), names);
        var zero = ConfusionMatrixChart.Write(folder.File("cm_zero.png"), new int[2, 2], ["a", "b"]);

        using (var png = Png.Load(folder.File("cm_100.png"), many))
        {
            Png.AssertNotBlank(png);
        }

        using (var png = Png.Load(folder.File("cm_zero.png"), zero))
        {
            Png.AssertNotBlank(png);
        }
    }

    [Fact]
    public void Write_IsDeterministic()
    {
        using var folder = new ReportFolder();
        ConfusionMatrixChart.Write(folder.File("a.png"), ReportTestData.Confusion(), ReportTestData.FashionClasses);
        ConfusionMatrixChart.Write(folder.File("b.png"), ReportTestData.Confusion(), ReportTestData.FashionClasses);
        Assert.Equal(File.ReadAllBytes(folder.File("a.png")), File.ReadAllBytes(folder.File("b.png")));
    }

    [Fact]
    public void Write_BadInput_ThrowsNamingTheProblem()
    {
        using var folder = new ReportFolder();
        string path = folder.File("x.png");

        var empty = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Write(path, Array.Empty<long[]>(), []));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);

        var names = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Write(path, new int[3, 3], ["a", "b"]));
        Assert.Equal("classNames", names.ParamName);
        Assert.Contains("2 class names for a 3x3 matrix", names.Message, StringComparison.Ordinal);

        var ragged = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Write(path, [[1, 2], [3]], ["a", "b"]));
        Assert.Contains("row 1 has 1 columns", ragged.Message, StringComparison.Ordinal);
        Assert.Contains("square", ragged.Message, StringComparison.Ordinal);

        var rectangular = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Write(path, new int[2, 3], ["a", "b"]));
        Assert.Contains("square", rectangular.Message, StringComparison.Ordinal);

        var negative = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Write(path, new[,] { { 1, -2 }, { 0, 1 } }, ["a", "b"]));
        Assert.Contains("counts[0][1] is -2", negative.Message, StringComparison.Ordinal);

        IReadOnlyList<IReadOnlyList<double>> fractional = [[1, 0.5], [0, 1]];
        var fraction = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Write(path, fractional, ["a", "b"]));
        Assert.Contains("counts[0][1] is 0.5", fraction.Message, StringComparison.Ordinal);

        Assert.False(File.Exists(path));
    }
}
