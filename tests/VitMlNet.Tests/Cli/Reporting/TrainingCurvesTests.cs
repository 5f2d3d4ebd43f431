using SkiaSharp;
using VitMlNet.Cli.Reporting;
using VitMlNet.Training;

namespace VitMlNet.Tests.Cli.Reporting;

public sealed class TrainingCurvesTests
{
    [Fact]
    public void Write_WithValidation_IsAFixedSizeNonBlankPng()
    {
        using var folder = new ReportFolder();
        string path = folder.File(TrainingCurves.DefaultFileName);

        var size = TrainingCurves.Write(path, ReportTestData.Epochs());

        Assert.Equal(new PixelSize(TrainingCurves.Width, TrainingCurves.Height), size);
        using var png = Png.Load(path, size);
        Png.AssertNotBlank(png);
        // Both series are drawn: the train blue and the validation orange appear.
        Assert.True(Png.Count(png, p => p.Blue > 150 && p.Red < 80 && p.Green is > 90 and < 150) > 200, "no train (blue) line");
        Assert.True(Png.Count(png, p => p.Red > 230 && p.Green is > 100 and < 150 && p.Blue < 60) > 200, "no validation (orange) line");
        // Text is drawn: the title at the top left, tick labels left of each panel and under it.
        Assert.True(Png.DarkPixels(png, new SKRectI(20, 10, 220, 44)) > 150, "no title text");
        Assert.True(Png.Count(png, new SKRectI(0, 60, 48, TrainingCurves.Height - 40), IsText) > 80, "no loss tick labels");
        Assert.True(Png.Count(png, new SKRectI(40, TrainingCurves.Height - 45, TrainingCurves.Width / 2, TrainingCurves.Height), IsText) > 150,
            "no epoch tick labels or axis label");
    }

    private static bool IsText(SKColor p) => p.Red < 140 && p.Green < 140 && p.Blue < 140;

    [Fact]
    public void Write_CurvesGoWhereTheValuesAre()
    {
        using var folder = new ReportFolder();
        // Train loss falls from 2 to 0; its blue line starts near the top left of the loss panel and ends near the bottom right.
        var points = Enumerable.Range(1, 10).Select(e => new EpochPoint(e, 2.0 * (10 - e) / 9, 0.5)).ToList();

        var size = TrainingCurves.Write(folder.File("curves_falling.png"), points);

        using var png = Png.Load(folder.File("curves_falling.png"), size);
        static bool Blue(SKColor p) => p.Blue > 150 && p.Red < 80 && p.Green is > 90 and < 150;
        int half = TrainingCurves.Width / 2, middle = TrainingCurves.Height / 2;
        Assert.True(Png.Count(png, new SKRectI(0, 0, half / 3, middle), Blue) > 30, "loss does not start high on the left");
        Assert.True(Png.Count(png, new SKRectI(2 * half / 3, middle, half, TrainingCurves.Height), Blue) > 30, "loss does not end low on the right");
        Assert.True(Png.Count(png, new SKRectI(0, middle + 60, half / 3, TrainingCurves.Height), Blue) < 10, "loss is low on the left");
    }

    [Fact]
    public void Write_TrainOnlySingleEpoch_Works()
    {
        using var folder = new ReportFolder();
        string path = folder.File("curves_single.png");

        var size = TrainingCurves.Write(path, [new EpochPoint(1, 2.1, 0.31)], "One epoch");

        using var png = Png.Load(path, size);
        Png.AssertNotBlank(png);
        Assert.Equal(0, Png.Count(png, p => p.Red > 230 && p.Green is > 100 and < 150 && p.Blue < 60));
    }

    [Fact]
    public void Write_NonFiniteLoss_LeavesAGapInsteadOfFailing()
    {
        using var folder = new ReportFolder();
        var points = ReportTestData.Epochs(8);
        points[4] = points[4] with { TrainLoss = double.NaN, ValidationLoss = double.PositiveInfinity };

        var size = TrainingCurves.Write(folder.File("curves_gap.png"), points);

        using var png = Png.Load(folder.File("curves_gap.png"), size);
        Png.AssertNotBlank(png);
    }

    [Fact]
    public void Write_IsDeterministic()
    {
        using var folder = new ReportFolder();
        TrainingCurves.Write(folder.File("a.png"), ReportTestData.Epochs());
        TrainingCurves.Write(folder.File("b.png"), ReportTestData.Epochs());

        Assert.Equal(File.ReadAllBytes(folder.File("a.png")), File.ReadAllBytes(folder.File("b.png")));
    }

    [Fact]
    public void Write_EmptyList_Throws()
    {
        using var folder = new ReportFolder();
        var e = Assert.Throws<ArgumentException>(() => TrainingCurves.Write(folder.File("x.png"), []));
        Assert.Equal("points", e.ParamName);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(folder.File("x.png")));
    }

    [Fact]
    public void Write_EpochsNotIncreasing_ThrowsNamingThePoint()
    {
        using var folder = new ReportFolder();
        var e = Assert.Throws<ArgumentException>(() => TrainingCurves.Write(folder.File("x.png"),
            [new EpochPoint(1, 1, 0.5), new EpochPoint(3, 1, 0.5), new EpochPoint(2, 1, 0.5)]));
        Assert.Contains("points[2]", e.Message, StringComparison.Ordinal);
        Assert.Contains("increase", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_AccuracyInPercent_ThrowsNamingTheField()
    {
        using var folder = new ReportFolder();
        var e = Assert.Throws<ArgumentException>(() => TrainingCurves.Write(folder.File("x.png"),
            [new EpochPoint(1, 1, 0.5, 0.9, 91.5)]));
        Assert.Contains("points[0].ValidationAccuracy", e.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_EmptyPath_Throws() =>
        Assert.Throws<ArgumentException>(() => TrainingCurves.Write(" ", ReportTestData.Epochs()));

    [Fact]
    public void EpochPoint_From_CopiesTheSummary()
    {
        var point = EpochPoint.From(new EpochSummary(4, 0.5, 0.8, 0.6, 0.75, 1e-3, 100, 12));
        Assert.Equal(new EpochPoint(4, 0.5, 0.8, 0.6, 0.75), point);
    }
}
