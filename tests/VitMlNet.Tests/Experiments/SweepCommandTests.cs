using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using VitMlNet.Cli;

namespace VitMlNet.Tests.Experiments;

public sealed class SweepImageInput
{
    [ImageType(1, 1)]
    public MLImage Image { get; set; } = null!;
}

public sealed class SweepImageOutput
{
    public string PredictedLabel { get; set; } = "";

    public float[] Score { get; set; } = Array.Empty<float>();
}

/// <summary>One <c>vit sweep --json</c> run on a tiny image folder, shared by the assertions.</summary>
public sealed class SweepCliFixture : IDisposable
{
    public SweepCliFixture()
    {
        Images = new ImageFolderFixture(36, 61);
        Work = Path.Combine(Path.GetTempPath(), "vit-sweep-cli-" + Guid.NewGuid().ToString("N"));
        Model = Path.Combine(Work, "best.zip");
        Leaderboard = Path.Combine(Work, "board.csv");
        Result = SweepCli.Run("--data", Images.Root, "--time-budget", "300", "--trials", "3", "--strategy", "halving", "--epochs", "3",
            "--preset", "tiny", "--image-size", "16", "--batch", "16", "--seed", "3", "--threads", "1", "--out", Model, "--leaderboard", Leaderboard, "--json");
    }

    public ImageFolderFixture Images { get; }

    public string Work { get; }

    public string Model { get; }

    public string Leaderboard { get; }

    internal (int Code, string Out, string Err) Result { get; }

    public void Dispose()
    {
        Images.Dispose();
        if (Directory.Exists(Work)) Directory.Delete(Work, true);
    }
}

internal static class SweepCli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var root = new RootCommand("vit");
        root.Subcommands.Add(SweepCommand.Create(stdout, stderr, interactive: false, CancellationToken.None));
        int code = root.Parse(new[] { "sweep" }.Concat(args).ToArray()).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (code, stdout.ToString(), stderr.ToString());
    }
}

public class SweepCommandTests : IClassFixture<SweepCliFixture>
{
    private readonly SweepCliFixture f;

    public SweepCommandTests(SweepCliFixture fixture) => f = fixture;

    [Fact]
    public void SweepSavesTheBestModelAndPrintsJson()
    {
        Assert.True(f.Result.Code == 0, $"exit {f.Result.Code}\n{f.Result.Out}\n{f.Result.Err}");
        var json = JsonDocument.Parse(f.Result.Out).RootElement;
        Assert.Equal("trial limit", json.GetProperty("stopReason").GetString());
        Assert.Equal("halving", json.GetProperty("strategy").GetString());
        var trials = json.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(3, trials.Count);
        Assert.Equal(trials[0].GetProperty("trial").GetInt32(), json.GetProperty("best").GetProperty("trial").GetInt32());
        Assert.Contains(trials, t => t.GetProperty("epochs").GetInt32() == 1 && t.GetProperty("status").GetString() == "Stopped");
        Assert.True(File.Exists(f.Model));
        Assert.Equal(Path.GetFullPath(f.Model), json.GetProperty("model").GetString());
        Assert.True(trials[0].GetProperty("parameters").TryGetProperty("LearningRate", out _));
    }

    [Fact]
    public void TheZipScoresAnImageLikeVitTrainsZips()
    {
        var ml = new MLContext();
        var model = ml.Model.Load(f.Model, out _);
        var engine = ml.Model.CreatePredictionEngine<SweepImageInput, SweepImageOutput>(model);
        using var image = MLImage.CreateFromFile(f.Images.Rows[0].ImagePath);
        var prediction = engine.Predict(new SweepImageInput { Image = image });
        Assert.Contains(prediction.PredictedLabel, SyntheticImages.ClassNames);
        Assert.Equal(3, prediction.Score.Length);
    }

    [Fact]
    public void LeaderboardCsvIsWritten()
    {
        var lines = File.ReadAllLines(f.Leaderboard);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("rank,trial,status,metric", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void RedirectedOutputGetsOneLinePerTrial()
    {
        string model = Path.Combine(f.Work, "plain.zip");
        var r = SweepCli.Run("--data", f.Images.Root, "--time-budget", "300", "--trials", "2", "--strategy", "random", "--epochs", "1",
            "--preset", "tiny", "--batch", "16", "--limit", "24", "--metric", "log-loss", "--threads", "1", "--out", model);
        Assert.True(r.Code == 0, $"exit {r.Code}\n{r.Out}\n{r.Err}");
        Assert.Contains("trial 1 Completed", r.Out, StringComparison.Ordinal);
        Assert.Contains("trial 2 Completed", r.Out, StringComparison.Ordinal);
        Assert.Contains("saved", r.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--strategy", "grid")]
    [InlineData("--metric", "f1")]
    [InlineData("--time-budget", "0")]
    [InlineData("--preset", "huge")]
    [InlineData("--validation-fraction", "1.5")]
    public void BadOptionsExitWithTwo(string option, string value)
    {
        var args = new Dictionary<string, string> { ["--data"] = f.Images.Root, ["--time-budget"] = "10", ["--out"] = Path.Combine(f.Work, "x.zip") };
        args[option] = value;
        var r = SweepCli.Run(args.SelectMany(a => new[] { a.Key, a.Value }).ToArray());
        Assert.Equal(2, r.Code);
        Assert.StartsWith("vit sweep: error:", r.Err, StringComparison.Ordinal);
        Assert.Contains(option == "--preset" ? "preset" : option, r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDataExitsWithTwo()
    {
        var r = SweepCli.Run("--data", Path.Combine(f.Work, "no-such-folder"), "--time-budget", "10", "--out", Path.Combine(f.Work, "x.zip"));
        Assert.Equal(2, r.Code);
        Assert.Contains("no such folder", r.Err, StringComparison.Ordinal);
    }
}
