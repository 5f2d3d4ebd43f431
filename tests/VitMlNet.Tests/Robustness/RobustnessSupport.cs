using System.Diagnostics;
using VitMlNet.Cli;
using VitMlNet.ModelZip;
using VitMlNet.Onnx;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>The robustness test classes (docs/robustness.md) share one trained tiny model and its data (see <see cref="CliFixture"/>).</summary>
[CollectionDefinition("Robustness")]
public sealed class RobustnessCollection : ICollectionFixture<CliFixture>
{
}

/// <summary>Helpers: running <c>vit</c> in-process with cancellation or as a child process, comparing zips' weights.</summary>
internal static class Robust
{
    /// <summary>The tiny training arguments of <see cref="CliFixture"/> (same data, seed and schedule) plus <paramref name="more"/>.</summary>
    public static string[] TrainArgs(CliFixture f, int epochs, params string[] more) =>
        new[] { "train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", "16", "--lr", "2e-3", "--seed", "7" }
            .Concat(more).ToArray();

    public static CliResult Run(CancellationToken cancellation, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr, interactive: false, cancellation);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>vit</c> in-process and cancels it (as Ctrl+C does) when the first epoch's progress line appears.</summary>
    public static CliResult CancelAfterFirstEpoch(params string[] args)
    {
        using var cts = new CancellationTokenSource();
        var stdout = new CancellingWriter(cts, "epoch 1/");
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr, interactive: false, cts.Token);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Starts <c>dotnet vit.dll ARGS</c> (the CLI copied next to the tests) with redirected output.</summary>
    public static Process StartChild(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vit.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException("cannot start dotnet vit.dll");
    }

    /// <summary>Runs <c>dotnet vit.dll ARGS</c> to its end. Child processes all start with libtorch's default thread
    /// count, so their float sums agree bit for bit (in-process runs inherit whatever an earlier test set).</summary>
    public static CliResult RunChild(params string[] args)
    {
        using var child = StartChild(args);
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        child.WaitForExit();
        return new CliResult(child.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling every 5 ms) or the timeout passes.</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition()) return true;
            Thread.Sleep(5);
        }
        return condition();
    }

    /// <summary>Every weight of the VitMlNet model in a zip, in a fixed order.</summary>
    public static float[] Weights(string zip) =>
        ModelZipFile.ReadFromZip(zip).Weights.OrderBy(w => w.Key, StringComparer.Ordinal).SelectMany(w => w.Value.Data).ToArray();

    public static string TempFolder(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"vit-robust-{name}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>One line on stderr (the CLI's error contract), with the expected prefix.</summary>
    public static void AssertOneErrorLine(CliResult r, string verb)
    {
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith($"vit {verb}: error: ", lines[0]);
    }
}

/// <summary>A writer that cancels a token when a line starting with a marker is written.</summary>
internal sealed class CancellingWriter : StringWriter
{
    private readonly CancellationTokenSource source;
    private readonly string marker;

    public CancellingWriter(CancellationTokenSource source, string marker)
    {
        this.source = source;
        this.marker = marker;
    }

    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        if (value is not null && value.StartsWith(marker, StringComparison.Ordinal)) source.Cancel();
    }
}

/// <summary>A writer that cancels a token a moment after a line starting with a marker is written.</summary>
internal sealed class DelayedCancellingWriter : StringWriter
{
    private readonly CancellationTokenSource source;
    private readonly string marker;
    private readonly TimeSpan delay;

    public DelayedCancellingWriter(CancellationTokenSource source, string marker, TimeSpan delay)
    {
        this.source = source;
        this.marker = marker;
        this.delay = delay;
    }

    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        if (value is not null && value.StartsWith(marker, StringComparison.Ordinal)) source.CancelAfter(delay);
    }
}
