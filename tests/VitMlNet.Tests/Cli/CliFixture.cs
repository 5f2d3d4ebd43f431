using System.Text.Json;
using VitMlNet.Cli;

namespace VitMlNet.Tests.Cli;

/// <summary>Runs <c>vit</c> in-process and captures its output.</summary>
internal static class Vit
{
    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}

internal sealed record CliResult(int Code, string Out, string Err)
{
    public JsonElement Json() => JsonDocument.Parse(Out).RootElement;

    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Tiny data written by the fixture (3 classes of 16×16 PNGs: 60 to train, 30 to test) and one model trained on it
/// through <c>vit train --preset tiny</c>, shared by the CLI tests.
/// </summary>
public sealed class CliFixture : IDisposable
{
    public CliFixture()
    {
        Train = new ImageFolderFixture(60, 31);
        Test = new ImageFolderFixture(30, 32);
        Work = Path.Combine(Path.GetTempPath(), "vit-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Work);
        Model = Path.Combine(Work, "model.zip");
        ReportDir = Path.Combine(Work, "report");
        TrainResult = Vit.Run("train", "--data", Train.Root, "--test", Test.Root, "--preset", "tiny", "--epochs", "2", "--batch", "16",
            "--lr", "2e-3", "--seed", "7", "--out", Model, "--report", ReportDir, "--json");
    }

    public ImageFolderFixture Train { get; }

    public ImageFolderFixture Test { get; }

    public string Work { get; }

    public string Model { get; }

    public string ReportDir { get; }

    internal CliResult TrainResult { get; }

    public string NewPath(string name) => Path.Combine(Work, Guid.NewGuid().ToString("N")[..8] + "-" + name);

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        if (Directory.Exists(Work)) Directory.Delete(Work, true);
    }
}
