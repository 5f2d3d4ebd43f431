using VitMlNet.Cli;

// Ctrl+C or SIGTERM once: training stops after the current step and the model is saved (beside an existing -o|--output);
// Ctrl+C twice: the process ends.
using var signals = new Signals(Console.Error);
// Every temporary file of this process (ML.NET's copies of a model's graph included) in a folder only its owner can
// read, deleted at exit; folders that killed processes left are deleted here.
VitMlNet.IO.PrivateTemp.UseForProcess();
return CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, signals.Token);
