using VitMlNet.Cli;

// Ctrl+C or SIGTERM once: training stops after the current step and the model is saved (beside an existing -o|--output);
// Ctrl+C twice: the process ends.
using var signals = new Signals(Console.Error);
return CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, signals.Token);
