using VitMlNet.Cli;

// Ctrl+C once: training stops after the current step and the model is saved; twice: the process ends.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    Console.Error.WriteLine("vit: stopping after the current step (Ctrl+C again to abort)...");
    cancel.Cancel();
};
return CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, cancel.Token);
