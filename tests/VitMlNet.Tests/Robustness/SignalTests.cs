using System.Diagnostics;
using VitMlNet.IO;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>Ctrl+C and SIGTERM stop training gracefully, and the partial model never replaces a
/// model already at --out: it goes beside it, and the message says where.</summary>
[Collection("Robustness")]
public sealed class SignalTests
{
    private readonly CliFixture f;

    public SignalTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void ACancelledRunSavesBesideAnExistingModelAndLeavesItUntouched()
    {
        string dir = Robust.TempFolder("cancel");
        try
        {
            string path = Path.Combine(dir, "model.zip");
            File.Copy(f.Model, path);
            byte[] good = File.ReadAllBytes(path);
            var r = Robust.CancelAfterFirstEpoch(Robust.TrainArgs(f, 50, "--out", path));
            Assert.True(r.Code == 1, r.ToString());
            string beside = Path.Combine(dir, "model.cancelled.zip");
            Assert.Equal(good, File.ReadAllBytes(path));
            Assert.True(File.Exists(beside), r.ToString());
            ZipIntegrity.Verify(beside);
            Assert.Contains($"the model so far was saved to {beside} (not over the existing {path})", r.Err);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ACancelledRunWithNothingAtOutSavesThere()
    {
        string path = f.NewPath("model.zip");
        var r = Robust.CancelAfterFirstEpoch(Robust.TrainArgs(f, 50, "--out", path));
        Assert.True(r.Code == 1, r.ToString());
        Assert.True(File.Exists(path));
        Assert.Contains($"the model so far was saved to {path}.", r.Err);
    }

    [Fact]
    public void CtrlCWhileTheDataIsReadSaysNothingWasSaved()
    {
        string path = f.NewPath("model.zip");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var r = Robust.Run(cts.Token, Robust.TrainArgs(f, 2, "--out", path));
        Assert.True(r.Code == 1, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains("cancelled (Ctrl+C or SIGTERM) before anything was saved", r.Err);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task SigtermStopsTrainingLikeCtrlCAndSavesBesideTheExistingModel()
    {
        string dir = Robust.TempFolder("sigterm");
        try
        {
            string path = Path.Combine(dir, "model.zip");
            File.Copy(f.Model, path);
            byte[] good = File.ReadAllBytes(path);
            using var child = Robust.StartChild(Robust.TrainArgs(f, 500, "--out", path));
            var stderr = child.StandardError.ReadToEndAsync();
            bool trained = false;
            var stdout = Task.Run(() =>
            {
                var text = new System.Text.StringBuilder();
                string? line;
                while ((line = child.StandardOutput.ReadLine()) is not null)
                {
                    text.AppendLine(line);
                    if (!trained && line.StartsWith("epoch 1/", StringComparison.Ordinal))
                    {
                        trained = true;
                        using var kill = Process.Start("kill", ["-TERM", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                        kill.WaitForExit();
                    }
                }
                return text.ToString();
            });
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180))) await child.WaitForExitAsync(timeout.Token);
            string err = await stderr, output = await stdout;
            Assert.True(trained, output + err);
            Assert.True(child.ExitCode == 1, $"exit {child.ExitCode}\n{output}\n{err}");
            Assert.Contains("vit: SIGTERM: stopping after the current step", err);
            Assert.Contains("vit train: cancelled after", err);
            Assert.Equal(good, File.ReadAllBytes(path));
            ZipIntegrity.Verify(Path.Combine(dir, "model.cancelled.zip"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ACancelBeforeTheFirstEpochCompletesSavesNothing()
    {
        string path = f.NewPath("model.zip");
        // Cancelled as soon as the model line is printed, before training starts: a fixed point, not a race with the
        // first epoch's speed (which on a quiet machine ends within a few milliseconds).
        using var cts = new CancellationTokenSource();
        var stdout = new DelayedCancellingWriter(cts, "model: ", TimeSpan.Zero);
        var stderr = new StringWriter();
        int code = VitMlNet.Cli.CliApp.Run(
            ["train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "3", "--batch", "1", "--image-size", "64", "--seed", "7", "--out", path], stdout, stderr, interactive: false, cts.Token);
        var r = new CliResult(code, stdout.ToString(), stderr.ToString());
        Assert.True(r.Code == 1, r.ToString());
        Assert.DoesNotContain("epoch 1/", r.Out);
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains("cancelled (Ctrl+C or SIGTERM) before anything was saved", r.Err);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void PredictStopsAfterTheCurrentImageAndPrintsWhatItScored()
    {
        using var cts = new CancellationTokenSource();
        // Cancelled (as by SIGTERM) once the first result line is printed.
        var stdout = new CancellingWriter(cts, f.Test.Root);
        var stderr = new StringWriter();
        int code = VitMlNet.Cli.CliApp.Run(["predict", f.Model, f.Test.Root], stdout, stderr, interactive: false, cts.Token);
        var r = new CliResult(code, stdout.ToString(), stderr.ToString());
        Assert.True(r.Code == 1, r.ToString());
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains($"vit predict: stopped (Ctrl+C or SIGTERM) after 1 of {f.Test.Rows.Count} images", r.Err);
    }
}
