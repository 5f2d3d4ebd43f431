using System.Runtime.InteropServices;

namespace VitMlNet.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM (containers, systemd, <c>kill</c>) both stop <c>vit</c> gracefully: the first one
/// cancels <see cref="Token"/> (training stops after the current step and saves what it has beside the output); a
/// second Ctrl+C ends the process at once.
/// </summary>
internal sealed class Signals : IDisposable
{
    /// <summary>Seconds a command has after SIGTERM to stop by itself.</summary>
    public const int GraceSeconds = 60;

    private readonly CancellationTokenSource source = new();
    private readonly PosixSignalRegistration? sigterm;
    private readonly TextWriter stderr;

    /// <summary>Registers the handlers; dispose to remove them.</summary>
    public Signals(TextWriter stderr)
    {
        this.stderr = stderr;
        Console.CancelKeyPress += OnCancelKeyPress;
        try
        {
            sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true; // keep running: the command finishes its step, saves and exits by itself
                Stop("SIGTERM");
            });
        }
        catch (PlatformNotSupportedException)
        {
            sigterm = null;
        }
    }

    /// <summary>Cancelled by the first Ctrl+C or SIGTERM.</summary>
    public CancellationToken Token => source.Token;

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (source.IsCancellationRequested) return;
        e.Cancel = true;
        Stop("Ctrl+C");
    }

    private void Stop(string what)
    {
        if (source.IsCancellationRequested) return;
        stderr.WriteLine($"vit: {what}: stopping after the current step{(what == "Ctrl+C" ? " (Ctrl+C again to abort)" : "")}...");
        source.Cancel();
        if (what == "SIGTERM")
        {
            // A command that does not watch the token (evaluate) must still end: give the ones that do (train, sweep,
            // predict) time to stop and save, then exit with the usual 128 + 15.
            _ = Task.Delay(GraceSeconds * 1000).ContinueWith(_ =>
            {
                stderr.WriteLine($"vit: SIGTERM: still running after {GraceSeconds} s; exiting.");
                Environment.Exit(143);
            }, TaskScheduler.Default);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        sigterm?.Dispose();
        source.Dispose();
    }
}
