using System.CommandLine;

namespace VitMlNet.Cli;

/// <summary>Where a run of <c>vit</c> writes and whether it may draw live displays.</summary>
/// <param name="Out">Results: text, or JSON with <c>--json</c>.</param>
/// <param name="Error">Errors, warnings, and progress when <see cref="Out"/> carries JSON.</param>
/// <param name="Interactive">Whether <see cref="Out"/> is a terminal (live progress display).</param>
/// <param name="Cancellation">Ctrl+C: training stops between steps and saves what it has.</param>
internal sealed record CliContext(TextWriter Out, TextWriter Error, bool Interactive, CancellationToken Cancellation)
{
    /// <summary>How much to print (<c>-v|--verbosity</c>): <see cref="Verbosity.Normal"/> unless a verb's option says otherwise.</summary>
    public Verbosity Verbosity { get; init; } = Verbosity.Normal;

    /// <summary>Whether lines of <paramref name="level"/> are printed.</summary>
    public bool Shows(Verbosity level) => Verbosity >= level;

    /// <summary>
    /// Where lines of <paramref name="level"/> go: <see cref="Out"/>, or <see cref="Error"/> when <see cref="Out"/>
    /// carries JSON; <see cref="TextWriter.Null"/> when the verbosity is lower (results and errors never go through here).
    /// </summary>
    public TextWriter Log(Verbosity level, bool json = false) => !Shows(level) ? TextWriter.Null : json ? Error : Out;
}

/// <summary>
/// The <c>vit</c> command line: the workflow first (<c>train</c>, <c>evaluate</c>, <c>predict</c>, <c>info</c>,
/// <c>export-onnx</c>), then <c>sweep</c>, <c>export-images</c>, <c>bench</c>, <c>bench-scoring</c>.
/// Exit codes: 0 ok, 1 failure, 2 bad usage or bad input (see <see cref="ExitCodes"/>); errors are one line on stderr.
/// Plain <c>vit</c> prints the usage on stdout and exits with 2, as <c>dotnet</c> alone prints its usage and fails.
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
        // The main workflow first, in the order it is used; then the search, the data and the speed tools.
        root.Subcommands.Add(TrainCommand.Build(context));
        root.Subcommands.Add(EvaluateCommand.Build(context));
        root.Subcommands.Add(PredictCommand.Build(context));
        root.Subcommands.Add(InfoCommand.Build(context));
        root.Subcommands.Add(ExportOnnxCommand.Build(context));
        root.Subcommands.Add(ExportSafetensorsCommand.Build(context));
        root.Subcommands.Add(SweepCommand.Create(stdout, stderr, interactive, cancellation));
        root.Subcommands.Add(ExportImagesCommand.Build(context));
        root.Subcommands.Add(BenchCommand.Build(context));
        root.Subcommands.Add(ScoringBenchCommand.Build(context));
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };

        if (args.Length == 0)
        {
            // Plain `vit`: the usage on stdout, and a failing exit code so that a script that lost its arguments notices
            // (`dotnet` alone does the same, with exit code 129).
            root.Parse(["--help"]).Invoke(invocation);
            return ExitCodes.Usage;
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            string verb = parse.CommandResult.Command == root ? "" : " " + parse.CommandResult.Command.Name;
            stderr.WriteLine($"vit{verb}: error: {string.Join("; ", parse.Errors.Select(e => Guard.OneLine(e.Message).TrimEnd('.')))} (see 'vit{verb} --help').");
            return ExitCodes.Usage;
        }

        return parse.Invoke(invocation);
    }
}
