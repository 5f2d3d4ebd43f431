using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;

namespace VitMlNet.Cli;

/// <summary><c>vit predict model.zip FILE|FOLDER...</c>: the predicted class and top-K probabilities per image.</summary>
/// <remarks>Scores through <c>PredictionEngine&lt;ModelInput, ModelOutput&gt;</c>, exactly as a business app would.
/// An unreadable file gives an entry with an error and exit code 1; the other files are still predicted.</remarks>
internal static class PredictCommand
{
    public static Command Build(CliContext context)
    {
        var model = new Argument<string>("model.zip") { Description = "Model zip written by 'vit train'" };
        var inputs = new Argument<string[]>("images") { Description = "Image files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { HelpName = "K", Description = "How many of the most probable classes to list", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print a JSON array, one entry per image" };
        var verbosity = CliOptions.VerbosityOption();
        var command = new Command("predict", "Classify images with a model zip.") { model, inputs, top, json, verbosity };
        command.SetAction(parse => Guard.Run("predict", context.Error, () =>
            Run(parse.GetValue(model)!, parse.GetValue(inputs)!, parse.GetValue(top), parse.GetValue(json), context with { Verbosity = parse.GetValue(verbosity) }),
            trace: parse.GetValue(verbosity) >= Verbosity.Diagnostic));
        return command;
    }

    private sealed record Entry(string File, string? Label, float Score, IReadOnlyList<(string Label, float Score)> Top, string? Error);

    public static int Run(string modelPath, IReadOnlyList<string> inputs, int top, bool json, CliContext context)
    {
        if (top <= 0) throw new UsageException($"--top must be positive (got {top}).");
        var ml = new MLContext(0);
        var model = ModelZipFile.Load(ml, modelPath, out _);
        using var disposeModel = model as IDisposable;
        var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
        var classes = ModelZipFile.SlotNames(engine.OutputSchema, "Score");
        // -v detailed: the model before the predictions and the time they took after (stderr with --json).
        var detail = context.Log(Verbosity.Detailed, json);
        detail.WriteLine($"model: {modelPath} ({classes.Length} classes: {string.Join(", ", classes)})");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var entries = new List<Entry>();
        var files = ListFiles(inputs).ToList();
        bool stopped = false;
        foreach (var (file, problem) in files)
        {
            // Ctrl+C or SIGTERM: stop after the current image; what was scored is printed.
            if (context.Cancellation.IsCancellationRequested) { stopped = true; break; }
            var entry = problem is not null ? new Entry(file, null, 0, [], problem) : Predict(engine, classes, file, top);
            entries.Add(entry);
            if (!json) Print(entry, context);
        }

        detail.WriteLine(string.Format(CultureInfo.InvariantCulture, "predicted {0} of {1} images in {2:F2} s ({3:F1} ms per image)",
            entries.Count(e => e.Error is null), entries.Count, clock.Elapsed.TotalSeconds, clock.Elapsed.TotalMilliseconds / Math.Max(1, entries.Count)));
        if (json)
        {
            context.Out.WriteLine(CliJson.Serialize(entries.Select(e => e.Error is not null
                ? (object)new { file = e.File, error = e.Error }
                : new { file = e.File, label = e.Label, score = CliJson.Number(e.Score), top = e.Top.Select(t => new { label = t.Label, score = CliJson.Number(t.Score) }) })));
            foreach (var e in entries.Where(e => e.Error is not null)) context.Error.WriteLine($"vit predict: error: {e.File}: {e.Error}");
        }

        if (stopped)
        {
            context.Error.WriteLine($"vit predict: stopped (Ctrl+C or SIGTERM) after {entries.Count} of {files.Count} images; the results printed are those {entries.Count}.");
            return ExitCodes.Failure;
        }
        return entries.Any(e => e.Error is not null) ? ExitCodes.Failure : ExitCodes.Ok;
    }

    private static Entry Predict(PredictionEngine<ModelInput, ModelOutput> engine, string[] classes, string file, int top)
    {
        MLImage image;
        try
        {
            // The same check as training and evaluation: the header's size before any pixel is decoded (a
            // decompression bomb is refused), then the data complete (a truncated file is an error, not a guess).
            image = SafeImage.Load(file, SafeImage.DefaultMaxPixels);
        }
        catch (ImageRejectedException e)
        {
            return new Entry(file, null, 0, [], "cannot read the image: " + Guard.OneLine(e.Reason));
        }

        using (image)
        {
            var output = engine.Predict(new ModelInput { Image = image });
            var ranked = output.Score.Select((p, i) => (Label: i < classes.Length ? classes[i] : i.ToString(CultureInfo.InvariantCulture), Score: p))
                .OrderByDescending(x => x.Score).Take(top).ToList();
            float score = ranked.FirstOrDefault(r => r.Label == output.PredictedLabel).Score;
            return new Entry(file, output.PredictedLabel, score, ranked, null);
        }
    }

    private static void Print(Entry e, CliContext context)
    {
        var inv = CultureInfo.InvariantCulture;
        if (e.Error is not null)
        {
            context.Error.WriteLine($"vit predict: error: {e.File}: {e.Error}");
            return;
        }

        string others = string.Join(", ", e.Top.Skip(1).Select(t => string.Format(inv, "{0} {1:F4}", Tsv(t.Label), t.Score)));
        context.Out.WriteLine(string.Format(inv, "{0}\t{1}\t{2:F4}{3}", Tsv(e.File), Tsv(e.Label), e.Score, others.Length > 0 ? "\t(" + others + ")" : ""));
    }

    /// <summary>A tab-separated field: backslash, tab, newline and carriage return escaped as \\, \t, \n, \r.</summary>
    internal static string Tsv(string? text) =>
        (text ?? "").Replace("\\", "\\\\").Replace("\t", "\\t").Replace("\n", "\\n").Replace("\r", "\\r");

    /// <summary>
    /// The files to predict, in command-line order (folders: their image files, sorted), each with a problem or null.
    /// Folders are searched recursively; a link to a folder is followed unless its target was already searched (a link
    /// loop, or a second way to the same folder), and a file reached twice (through links) is listed once.
    /// </summary>
    private static IEnumerable<(string File, string? Problem)> ListFiles(IReadOnlyList<string> inputs)
    {
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = new List<(string Path, string Real)>();
                Walk(input, OutputChecks.Canonical(input), new HashSet<string>(StringComparer.Ordinal), found);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var files = found.OrderBy(f => f.Path, StringComparer.Ordinal).Where(f => seen.Add(f.Real)).Select(f => f.Path).ToList();
                if (files.Count == 0) yield return (input, $"the folder holds no image files ({string.Join(", ", DatasetReaders.ImageExtensions)})");
                foreach (var f in files) yield return (f, null);
            }
            else if (File.Exists(input))
            {
                yield return (input, null);
            }
            else
            {
                yield return (input, "no such file or folder");
            }
        }
    }

    /// <summary>Collects the image files under <paramref name="folder"/> (whose resolved path is <paramref name="real"/>),
    /// each with its resolved path, visiting every real folder once.</summary>
    private static void Walk(string folder, string real, HashSet<string> visited, List<(string Path, string Real)> found)
    {
        if (!visited.Add(real)) return;
        IEnumerable<FileSystemInfo> entries;
        try
        {
            entries = new DirectoryInfo(folder).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // an unreadable folder has nothing to predict
        }
        foreach (var entry in entries)
        {
            string path = Path.Combine(folder, entry.Name);
            bool link = entry.LinkTarget is not null;
            if (Directory.Exists(path))
            {
                Walk(path, link ? OutputChecks.Canonical(path) : Path.Combine(real, entry.Name), visited, found);
            }
            else if (DatasetReaders.ImageExtensions.Any(x => entry.Name.EndsWith(x, StringComparison.OrdinalIgnoreCase)))
            {
                found.Add((path, link ? OutputChecks.Canonical(path) : Path.Combine(real, entry.Name)));
            }
        }
    }
}
