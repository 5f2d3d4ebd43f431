using System.CommandLine;

namespace VitMlNet.Cli;

/// <summary>Where a run of <c>vit</c> writes and whether it may draw live displays.</summary>
/// <param name="Out">Results: text, or JSON with <c>--json</c>.</param>
/// <param name="Error">Errors, warnings, and progress when <see cref="Out"/> carries JSON.</param>
/// <param name="Interactive">Whether <see cref="Out"/> is a terminal (live progress display).</param>
/// <param name="Cancellation">Ctrl+C: training stops between steps and saves what it has.</param>
internal sealed record CliContext(TextWriter Out, TextWriter Error, bool Interactive, CancellationToken Cancellation);

/// <summary>
/// The <c>vit</c> command line: <c>train</c>, <c>evaluate</c>, <c>predict</c>, <c>export-onnx</c>, <c>info</c>, <c>bench</c>.
/// Exit codes: 0 ok, 1 failure, 2 bad usage or bad input (see <see cref="ExitCodes"/>); errors are one line on stderr.
/// </summary>
internal static class CliApp
{
    /// <summary>Runs <c>vit</c> with <paramref name="args"/>, writing to the given writers.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors and warnings go.</param>
    /// <param name="interactive">True when <paramref name="stdout"/> is a terminal: training shows a live table.</param>
    /// <param name="cancellation">Stops training between steps (the model is still saved).</param>
    /// <returns>The exit code.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive = false, CancellationToken cancellation = default)
    {
        var context = new CliContext(stdout, stderr, interactive, cancellation);
        var root = new RootCommand("vit: train, evaluate and run Vision Transformers in ML.NET model zips.");
        root.Subcommands.Add(TrainCommand.Build(context));
        root.Subcommands.Add(EvaluateCommand.Build(context));
        root.Subcommands.Add(PredictCommand.Build(context));
        root.Subcommands.Add(ExportOnnxCommand.Build(context));
        root.Subcommands.Add(ExportSafetensorsCommand.Build(context));
        root.Subcommands.Add(InfoCommand.Build(context));
        root.Subcommands.Add(BenchCommand.Build(context));
        root.Subcommands.Add(ExportImagesCommand.Build(context));
        root.Subcommands.Add(ScoringBenchCommand.Build(context));
        root.Subcommands.Add(SweepCommand.Create(stdout, stderr, interactive, handleCtrlC: false, cancellation));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            string verb = parse.CommandResult.Command == root ? "" : " " + parse.CommandResult.Command.Name;
            stderr.WriteLine($"vit{verb}: error: {string.Join("; ", parse.Errors.Select(e => Guard.OneLine(e.Message).TrimEnd('.')))} (see 'vit{verb} --help').");
            return ExitCodes.Usage;
        }

        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
    }
}
