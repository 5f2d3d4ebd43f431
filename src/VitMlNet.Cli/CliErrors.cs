using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using VitMlNet.Data;

namespace VitMlNet.Cli;

/// <summary>Exit codes of <c>vit</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command ran but failed (training, scoring, an unreadable image in <c>predict</c>, Ctrl+C).</summary>
    public const int Failure = 1;

    /// <summary>Bad usage or bad input: unknown option or preset, missing file, unrecognised data, not a VitMlNet model.</summary>
    public const int Usage = 2;
}

/// <summary>A usage or input error: printed as one line on stderr, exit code <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Runs a verb and turns exceptions into one readable stderr line and an exit code.</summary>
internal static class Guard
{
    /// <summary>Runs <paramref name="action"/>; bad input gives exit code 2, any other exception 1, with no stack trace
    /// unless <paramref name="trace"/> (<c>-v diag</c>) or the environment variable <c>VIT_DEBUG</c> is set.</summary>
    public static int Run(string verb, TextWriter stderr, Func<int> action, bool trace = false)
    {
        // ML.NET creates transforms by reflection: their errors (a full disk, a bad file) arrive wrapped, so every
        // clause looks at the exception inside (Unwrap) and the line shows its message.
        try
        {
            return action();
        }
        catch (Exception e) when (IsUsage(Unwrap(e)))
        {
            Report(verb, stderr, e, trace);
            return ExitCodes.Usage;
        }
        catch (Exception e) when (Unwrap(e) is OperationCanceledException)
        {
            // Ctrl+C or SIGTERM before training started (while the data was read): nothing was written.
            Report(verb, stderr, new OperationCanceledException("cancelled (Ctrl+C or SIGTERM) before anything was saved.", e), trace);
            return ExitCodes.Failure;
        }
        catch (Exception e) when (Unwrap(e) is not OutOfMemoryException and not StackOverflowException)
        {
            Report(verb, stderr, e, trace);
            return ExitCodes.Failure;
        }
    }

    /// <summary>The exception that a reflection call (<see cref="System.Reflection.TargetInvocationException"/>) or a task
    /// with one failure (<see cref="AggregateException"/>) wraps; <paramref name="e"/> itself otherwise.</summary>
    internal static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
            else if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerExceptions[0];
            else return e;
        }
    }

    private static bool IsUsage(Exception e) =>
        e is UsageException or ModelZipException or DatasetException or FileNotFoundException or DirectoryNotFoundException;

    private static void Report(string verb, TextWriter stderr, Exception e, bool trace)
    {
        stderr.WriteLine($"vit {verb}: error: {OneLine(NativeMessage(Unwrap(e).Message))}");
        if (trace || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VIT_DEBUG")))
        {
            stderr.WriteLine(e.ToString());
        }
    }

    /// <summary>A libtorch error without its native stack trace (everything from "Exception raised from" on, which
    /// runs to thousands of characters); other messages unchanged.</summary>
    public static string NativeMessage(string message)
    {
        int trace = message.IndexOf("Exception raised from", StringComparison.Ordinal);
        return trace > 0 ? message[..trace].TrimEnd() : message;
    }

    /// <summary>Collapses a message to one line.</summary>
    public static string OneLine(string message) =>
        string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>JSON output settings shared by the verbs.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Output for terminals and scripts, never embedded in HTML: keep '<', '>', '+' and non-ASCII class names readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Serializes one value as indented, camel-case JSON.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>A finite value rounded to <paramref name="digits"/> decimals, or null (JSON has no NaN or infinity).</summary>
    public static double? Number(double value, int digits = 6) => double.IsFinite(value) ? Math.Round(value, digits) : null;

    /// <summary>Like <see cref="Number(double, int)"/> for an optional value.</summary>
    public static double? Number(double? value, int digits = 6) => value is double v ? Number(v, digits) : null;
}
