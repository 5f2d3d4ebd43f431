using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>An output (<c>--out</c>, <c>--report</c>, <c>--checkpoint</c>, <c>--leaderboard</c>, export-images'
/// folder) that lies inside a data folder, or is a file a CSV list names, is refused before anything is read or
/// written, also when a link leads there.</summary>
[Collection("Robustness")]
public sealed class OutputInsideInputTests : IDisposable
{
    private readonly CliFixture f;
    private readonly string dir;
    private readonly string data;
    private readonly string image;
    private readonly byte[] imageBytes;

    public OutputInsideInputTests(CliFixture fixture)
    {
        f = fixture;
        dir = Robust.TempFolder("inside");
        // A private copy of the training folder: on a build that writes into it, the shared data stays intact.
        data = Path.Combine(dir, "train");
        foreach (var row in f.Train.Rows)
        {
            string to = Path.Combine(data, row.Label, Path.GetFileName(row.ImagePath));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(row.ImagePath, to);
        }
        image = Directory.GetFiles(Directory.GetDirectories(data).Order(StringComparer.Ordinal).First()).Order(StringComparer.Ordinal).First();
        imageBytes = File.ReadAllBytes(image);
    }

    public void Dispose() => Directory.Delete(dir, true);

    private static void AssertRefused(CliResult r, string verb, string expected)
    {
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, verb);
        Assert.Contains(expected, r.Err);
    }

    [Fact]
    public void TrainRefusesAModelPathThatIsATrainingImage()
    {
        var r = Vit.Run("train", "--data", data, "--preset", "tiny", "--epochs", "1", "-o", image);
        AssertRefused(r, "train", $"-o '{image}' lies inside the --data folder '{data}'");
        Assert.Equal(imageBytes, File.ReadAllBytes(image));
    }

    [Fact]
    public void TrainRefusesOutputsInsideTheDataThroughALink()
    {
        string link = Path.Combine(dir, "link-to-train");
        Directory.CreateSymbolicLink(link, data);
        string viaLink = Path.Combine(link, Path.GetFileName(Path.GetDirectoryName(image))!, Path.GetFileName(image));
        var r = Vit.Run("train", "--data", data, "--preset", "tiny", "--epochs", "1", "--out", viaLink);
        AssertRefused(r, "train", "lies inside the --data folder");
        Assert.Equal(imageBytes, File.ReadAllBytes(image));

        // The data named through the link, the output through the real path.
        r = Vit.Run("train", "--data", link, "--preset", "tiny", "--epochs", "1", "--out", Path.Combine(data, "model.zip"));
        AssertRefused(r, "train", "lies inside the --data folder");
        Assert.False(File.Exists(Path.Combine(data, "model.zip")));
    }

    [Fact]
    public void TrainRefusesAReportOrCheckpointFolderInsideTheData()
    {
        string model = Path.Combine(dir, "m.zip");
        var r = Vit.Run("train", "--data", data, "--preset", "tiny", "--epochs", "1", "--out", model, "--report", Path.Combine(data, "report"));
        AssertRefused(r, "train", $"--report '{Path.Combine(data, "report")}' lies inside the --data folder");
        r = Vit.Run("train", "--data", data, "--preset", "tiny", "--epochs", "1", "--out", model, "--checkpoint", Path.Combine(data, "top", "ckpt"));
        AssertRefused(r, "train", "--checkpoint");
        Assert.Contains("lies inside the --data folder", r.Err);
        r = Vit.Run("train", "--data", f.Train.Root, "--test", data, "--preset", "tiny", "--epochs", "1", "--out", Path.Combine(data, "m.zip"));
        AssertRefused(r, "train", "lies inside the --test folder");
        Assert.False(File.Exists(model));
        Assert.False(Directory.Exists(Path.Combine(data, "report")));
        Assert.Equal(f.Train.Rows.Count, Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void TrainRefusesAModelPathThatIsAnImageOfItsCsvList()
    {
        string list = Path.Combine(dir, "list.csv");
        File.WriteAllLines(list, Directory.GetFiles(data, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => $"{Path.GetRelativePath(dir, p)},{Path.GetFileName(Path.GetDirectoryName(p))}"));
        var r = Vit.Run("train", "--data", list, "--preset", "tiny", "--epochs", "1", "--out", image);
        AssertRefused(r, "train", $"--out '{image}' is the image '{image}' listed in --data '{list}'");
        Assert.Equal(imageBytes, File.ReadAllBytes(image));
    }

    [Fact]
    public void SweepEvaluateAndExportImagesRefuseOutputsInsideTheData()
    {
        var r = Vit.Run("sweep", "--data", data, "--time-budget", "10", "--out", Path.Combine(data, "best.zip"));
        AssertRefused(r, "sweep", "lies inside the --data folder");
        r = Vit.Run("sweep", "--data", data, "--time-budget", "10", "--out", Path.Combine(dir, "best.zip"), "--leaderboard", Path.Combine(data, "top", "board.csv"));
        AssertRefused(r, "sweep", "--leaderboard");
        r = Vit.Run("evaluate", f.Model, "--data", data, "--report", Path.Combine(data, "report"));
        AssertRefused(r, "evaluate", "lies inside the --data folder");
        r = Vit.Run("export-images", "--data", data, "--count", "2", "-o", Path.GetDirectoryName(image)!);
        AssertRefused(r, "export-images", "lies inside the --data folder");
        Assert.Equal(f.Train.Rows.Count, Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length);
        Assert.Equal(imageBytes, File.ReadAllBytes(image));
    }

    [Fact]
    public void AnOutputBesideTheDataIsAccepted()
    {
        // A sibling whose name starts like the data folder's is not inside it.
        var r = Vit.Run("export-images", "--data", data, "--count", "2", "-o", data + "-png");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal(2, Directory.GetFiles(data + "-png").Length);
    }
}
