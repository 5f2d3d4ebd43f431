using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>Outputs are checked before any data is read, and an output that is one of the
/// inputs is refused.</summary>
[Collection("Robustness")]
public sealed class OutputPathTests
{
    private const string Missing = "/nonexistent-vit-data-folder";
    private readonly CliFixture f;

    public OutputPathTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void AnOutThatIsAFolderIsRefusedBeforeTheDataIsRead()
    {
        // The data does not exist: the error must be about --out, so nothing was read (or trained) first.
        var r = Vit.Run("train", "--data", Missing, "--preset", "tiny", "--out", f.Work);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains($"--out '{f.Work}' is a folder", r.Err);
    }

    [Fact]
    public void AnUnwritableOutIsRefusedBeforeTheDataIsRead()
    {
        // /proc refuses new files even to root.
        var r = Vit.Run("train", "--data", Missing, "--preset", "tiny", "--out", "/proc/vit-model.zip");
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains("--out '/proc/vit-model.zip': cannot write in the folder '/proc'", r.Err);
    }

    [Fact]
    public void AReportOrCheckpointThatIsAFileIsRefusedBeforeTheDataIsRead()
    {
        var r = Vit.Run("train", "--data", Missing, "--preset", "tiny", "--out", f.NewPath("m.zip"), "--report", f.Model);
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains($"--report '{f.Model}' is a file; expected a folder", r.Err);
        r = Vit.Run("train", "--data", Missing, "--preset", "tiny", "--out", f.NewPath("m.zip"), "--checkpoint", f.Model);
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains($"--checkpoint '{f.Model}' is a file; expected a folder", r.Err);
    }

    [Fact]
    public void SweepChecksItsLeaderboardBeforeTheDataIsRead()
    {
        var r = Vit.Run("sweep", "--data", Missing, "--time-budget", "10", "--out", f.NewPath("m.zip"), "--leaderboard", "/proc/board.csv");
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains("--leaderboard '/proc/board.csv': cannot write", r.Err);
    }

    [Fact]
    public void TrainRefusesToWriteItsModelOverItsDataList()
    {
        string list = f.NewPath("list.csv");
        File.WriteAllLines(list, f.Train.Rows.Select(row => $"{row.ImagePath},{row.Label}"));
        string before = File.ReadAllText(list);
        var r = Vit.Run("train", "--data", list, "--preset", "tiny", "--epochs", "1", "--out", list);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains($"--out '{list}' is also the input --data", r.Err);
        Assert.Equal(before, File.ReadAllText(list));

        r = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "1", "--out", f.NewPath("m.zip"), "--report", f.Train.Root);
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains("--report", r.Err);
        Assert.Contains("is also the input --data", r.Err);
    }

    [Fact]
    public void EvaluateRefusesAReportFolderThatIsItsData()
    {
        var r = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "--report", f.Test.Root);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "evaluate");
        Assert.Contains("is also the input --data", r.Err);
    }

    [Fact]
    public void ExportOnnxRefusesToReplaceItsModel()
    {
        string copy = f.NewPath("m.zip");
        File.Copy(f.Model, copy);
        byte[] before = File.ReadAllBytes(copy);
        var r = Vit.Run("export-onnx", copy, copy);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "export-onnx");
        Assert.Contains($"output '{copy}' is also the input model", r.Err);
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void SweepRefusesALeaderboardThatIsItsData()
    {
        string list = f.NewPath("list.csv");
        File.WriteAllLines(list, f.Train.Rows.Select(row => $"{row.ImagePath},{row.Label}"));
        var r = Vit.Run("sweep", "--data", list, "--time-budget", "10", "--out", f.NewPath("m.zip"), "--leaderboard", list);
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains("--leaderboard", r.Err);
        Assert.Contains("is also the input --data", r.Err);
    }
}
