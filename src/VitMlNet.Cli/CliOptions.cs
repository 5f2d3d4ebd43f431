using System.CommandLine;
using System.CommandLine.Parsing;

namespace VitMlNet.Cli;

/// <summary>How much <c>vit</c> prints, with the levels and abbreviations of <c>dotnet -v</c>.</summary>
/// <remarks><see cref="Normal"/> is 0, the default value, so that an option that was not given reads as normal.</remarks>
internal enum Verbosity
{
    /// <summary>Results only (metrics, predictions, JSON); no progress or information lines. Errors and warnings still print.</summary>
    Quiet = -2,

    /// <summary>Results and a short summary (what was saved where), without the per-epoch progress.</summary>
    Minimal = -1,

    /// <summary>The default: information lines and per-epoch progress.</summary>
    Normal = 0,

    /// <summary>Also the resolved options, per-epoch timing and the time spent per phase.</summary>
    Detailed = 1,

    /// <summary>Also the runtime environment, and stack traces with errors (as <c>VIT_DEBUG</c>).</summary>
    Diagnostic = 2,
}

/// <summary>The options that several verbs share and that follow the conventions of the <c>dotnet</c> CLI.</summary>
internal static class CliOptions
{
    /// <summary>The help text of <c>-v|--verbosity</c>'s values.</summary>
    public const string VerbosityValues = "q[uiet], m[inimal], n[ormal], d[etailed], diag[nostic]";

    /// <summary>
    /// <c>-o|--output</c>, with <c>--out</c> kept as an alias (an earlier name of the option).
    /// </summary>
    /// <param name="helpName">What the value is in the help (<c>FILE</c>, <c>DIR</c>).</param>
    /// <param name="description">The help text.</param>
    /// <param name="required">Whether the option must be given.</param>
    public static Option<string> Output(string helpName, string description, bool required = true) =>
        new("--output", "-o", "--out") { HelpName = helpName, Description = description, Required = required };

    /// <summary><c>-v|--verbosity LEVEL</c>: q[uiet], m[inimal], n[ormal] (the default), d[etailed], diag[nostic].</summary>
    public static Option<Verbosity> VerbosityOption()
    {
        var option = new Option<Verbosity>("--verbosity", "-v")
        {
            HelpName = "LEVEL",
            Description = $"How much to print: {VerbosityValues} (default: normal); quiet prints only results, warnings and errors",
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (TryParseVerbosity(text, out var level)) return level;
                result.AddError($"'{text}' is not a verbosity level; use {VerbosityValues}");
                return Verbosity.Normal;
            },
        };
        option.CompletionSources.Add("quiet", "minimal", "normal", "detailed", "diagnostic");
        return option;
    }

    /// <summary>Reads a verbosity level as <c>dotnet</c> does: q, quiet, m, minimal, n, normal, d, detailed, diag, diagnostic
    /// (any case).</summary>
    public static bool TryParseVerbosity(string text, out Verbosity level)
    {
        Verbosity? parsed = text.Trim().ToLowerInvariant() switch
        {
            "q" or "quiet" => Verbosity.Quiet,
            "m" or "minimal" => Verbosity.Minimal,
            "n" or "normal" => Verbosity.Normal,
            "d" or "detailed" => Verbosity.Detailed,
            "diag" or "diagnostic" => Verbosity.Diagnostic,
            _ => null,
        };
        level = parsed ?? Verbosity.Normal;
        return parsed is not null;
    }

    /// <summary>
    /// The option's name as the user typed it (<c>--out</c>, <c>-o</c> or <c>--output</c>), for error messages; its
    /// canonical name when it was not typed.
    /// </summary>
    public static string TypedName(ParseResult parse, Option option) =>
        parse.GetResult(option) is OptionResult { Implicit: false, IdentifierToken: { } token } ? token.Value : option.Name;
}
