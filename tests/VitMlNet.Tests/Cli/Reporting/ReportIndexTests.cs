using System.Globalization;
using VitMlNet.Cli.Reporting;

namespace VitMlNet.Tests.Cli.Reporting;

public sealed class ReportIndexTests
{
    [Fact]
    public void Write_ListsThePngsAndEscapedMetrics()
    {
        using var folder = new ReportFolder();
        TrainingCurves.Write(folder.File(TrainingCurves.DefaultFileName), ReportTestData.Epochs());
        var counts = ReportTestData.Confusion();
        ConfusionMatrixChart.Write(folder.File(ConfusionMatrixChart.DefaultFileName), counts, ReportTestData.FashionClasses);
        PredictionGrid.Write(folder.File(PredictionGrid.DefaultFileName), ReportTestData.Predictions(36));
        AttentionMapChart.Write(folder.File(AttentionMapChart.DefaultFileName), ReportTestData.AttentionSamples(6));
        var perClass = ClassMetrics.FromConfusionMatrix(counts, ReportTestData.FashionClasses).ToList();
        perClass.Add(new ClassMetrics("<b>Tom & \"Jerry\"</b>", 0.5, double.NaN));

        string path = ReportIndex.Write(folder.Root, new Dictionary<string, string>
        {
            ["Accuracy"] = "91.23 %",
            ["Model <script>alert(1)</script>"] = "a&b",
        }, perClass, title: "Fashion-MNIST <ViT>");

        Assert.Equal(Path.Combine(Path.GetFullPath(folder.Root), ReportIndex.FileName), path);
        string html = File.ReadAllText(path);
        foreach (string png in new[] { TrainingCurves.DefaultFileName, ConfusionMatrixChart.DefaultFileName, PredictionGrid.DefaultFileName,
            AttentionMapChart.DefaultFileName })
        {
            Assert.Contains($"<img src=\"{png}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("<td>Accuracy</td><td class=\"num\">91.23 %</td>", html, StringComparison.Ordinal);
        Assert.Contains("Model &lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains(">a&amp;b<", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<title>Fashion-MNIST &lt;ViT&gt;</title>", html, StringComparison.Ordinal);
        Assert.Contains("<td>T-shirt/top</td>", html, StringComparison.Ordinal);
        Assert.Contains("n/a", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_NumericMetrics_UseTheInvariantCulture()
    {
        using var folder = new ReportFolder();
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            string path = ReportIndex.Write(folder.Root, new Dictionary<string, double>
            {
                ["Accuracy"] = 0.9123,
                ["Learning rate"] = 3e-4,
                ["Images"] = 60000,
                ["Loss"] = double.NaN,
            }, images: []);

            string html = File.ReadAllText(path);
            Assert.Contains(">0.9123<", html, StringComparison.Ordinal);
            Assert.Contains(">0.0003<", html, StringComparison.Ordinal);
            Assert.Contains(">60000<", html, StringComparison.Ordinal);
            Assert.Contains(">NaN<", html, StringComparison.Ordinal);
            Assert.Contains("No charts.", html, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Write_ExplicitImages_KeepTheirOrderAndAreUrlEncoded()
    {
        using var folder = new ReportFolder();
        File.WriteAllBytes(folder.File("b chart.png"), [1]);
        File.WriteAllBytes(folder.File("a.png"), [1]);

        string html = File.ReadAllText(ReportIndex.Write(folder.Root, new Dictionary<string, string>(), images: ["b chart.png", "a.png"]));

        Assert.True(html.IndexOf("b%20chart.png", StringComparison.Ordinal) < html.IndexOf("src=\"a.png\"", StringComparison.Ordinal));
        Assert.Contains("No metrics.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_BadInput_ThrowsNamingTheProblem()
    {
        using var report = new ReportFolder();
        var folder = new { Root = report.File("bad-input") };
        Directory.CreateDirectory(folder.Root);
        var none = new Dictionary<string, string>();

        var missing = Assert.Throws<ArgumentException>(() => ReportIndex.Write(folder.Root, none, images: ["nope.png"]));
        Assert.Equal("images", missing.ParamName);
        Assert.Contains("'nope.png' does not exist", missing.Message, StringComparison.Ordinal);

        var outside = Assert.Throws<ArgumentException>(() => ReportIndex.Write(folder.Root, none, images: ["../x.png"]));
        Assert.Contains("outside the report folder", outside.Message, StringComparison.Ordinal);

        var name = Assert.Throws<ArgumentException>(() => ReportIndex.Write(folder.Root, [new KeyValuePair<string, string>(" ", "1")]));
        Assert.Contains("metrics[0]", name.Message, StringComparison.Ordinal);

        var cls = Assert.Throws<ArgumentException>(() => ReportIndex.Write(folder.Root, none, [new ClassMetrics("", 1, 1)]));
        Assert.Contains("perClass[0]", cls.Message, StringComparison.Ordinal);

        Assert.False(File.Exists(Path.Combine(folder.Root, ReportIndex.FileName)));
    }

    [Fact]
    public void ClassMetrics_FromConfusionMatrix_ComputesPrecisionRecallAndSupport()
    {
        long[][] counts = [[8, 2, 0], [1, 9, 0], [0, 0, 0]];

        var metrics = ClassMetrics.FromConfusionMatrix(counts, ["a", "b", "c"]);

        Assert.Equal(8.0 / 9, metrics[0].Precision, 12);
        Assert.Equal(0.8, metrics[0].Recall, 12);
        Assert.Equal(10, metrics[0].Support);
        Assert.Equal(9.0 / 11, metrics[1].Precision, 12);
        Assert.Equal(2 * (8.0 / 9) * 0.8 / ((8.0 / 9) + 0.8), metrics[0].F1, 12);
        Assert.True(double.IsNaN(metrics[2].Precision) && double.IsNaN(metrics[2].Recall));
        Assert.Contains("2 class names", Assert.Throws<ArgumentException>(() => ClassMetrics.FromConfusionMatrix(counts, ["a", "b"])).Message,
            StringComparison.Ordinal);
    }
}
