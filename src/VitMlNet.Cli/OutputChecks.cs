using System.Globalization;
using Microsoft.ML;
using VitMlNet.IO;

namespace VitMlNet.Cli;

/// <summary>
/// Checks every output path before any data is read (a run must not be lost at its end for a path it could have
/// refused up front), refuses outputs that would overwrite inputs, and saves models atomically with a fallback.
/// </summary>
internal static class OutputChecks
{
    /// <summary>Checks that <paramref name="path"/> can be written as a file: not a folder, its folder exists or can be
    /// created, and that folder is writable with some free space.</summary>
    /// <param name="path">The output file.</param>
    /// <param name="option">The option or argument naming it in messages (<c>--out</c>).</param>
    public static void CheckFile(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException($"{option} must name a file (got an empty path).");
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new UsageException($"{option} '{path}' is a folder; expected a file path.");
        CheckWritableFolder(Path.GetDirectoryName(full)!, path, option);
    }

    /// <summary>Checks that <paramref name="path"/> can be used as an output folder: not a file, and it or its nearest
    /// existing parent is writable.</summary>
    /// <param name="path">The output folder.</param>
    /// <param name="option">The option naming it in messages (<c>--report</c>).</param>
    public static void CheckFolder(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException($"{option} must name a folder (got an empty path).");
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UsageException($"{option} '{path}' is a file; expected a folder.");
        CheckWritableFolder(full, path, option);
    }

    private static void CheckWritableFolder(string folder, string path, string option)
    {
        string existing = folder;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new UsageException($"{option} '{path}': '{existing}' is a file, not a folder.");
            existing = Path.GetDirectoryName(existing) ?? throw new UsageException($"{option} '{path}': no part of its folder exists.");
        }
        string probe = Path.Combine(existing, $".vit-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} '{path}': cannot write in the folder '{existing}' ({Guard.OneLine(e.Message)}).", e);
        }
        try
        {
            long free = new DriveInfo(existing).AvailableFreeSpace;
            const long least = 4L << 20;
            if (free < least)
                throw new UsageException($"{option} '{path}': the disk of '{existing}' has {free / 1024} KiB free; expected at least {least >> 20} MiB.");
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Free space unknown (special file systems): the probe above succeeded, so go on.
        }
    }

    /// <summary>
    /// Refuses an output that is one of the inputs (or, for an output folder, holds one of them directly): for example
    /// <c>--out list.csv</c> with <c>--data list.csv</c>, or <c>export-onnx m.zip m.zip</c>.
    /// </summary>
    /// <param name="output">The output path.</param>
    /// <param name="option">Its option name in messages.</param>
    /// <param name="inputs">Input paths or data specs with their option names; a spec's parts (<c>cifar10:DIR</c>,
    /// <c>idx:A,B</c>) are compared one by one.</param>
    public static void CheckNotInput(string? output, string option, params (string? Path, string Option)[] inputs)
    {
        if (string.IsNullOrWhiteSpace(output)) return;
        string target = Canonical(output);
        foreach (var (input, inputOption) in inputs)
        {
            if (string.IsNullOrWhiteSpace(input)) continue;
            foreach (string part in SpecParts(input))
            {
                if (string.Equals(Canonical(part), target, StringComparison.Ordinal))
                {
                    throw new UsageException($"{option} '{output}' is also the input {inputOption} '{input}'; writing it would destroy the input. Choose another {option}.");
                }
            }
        }
    }

    /// <summary>The paths inside a data spec or a plain path: the whole text, and each ':'/','-separated part that exists.</summary>
    private static IEnumerable<string> SpecParts(string spec)
    {
        yield return spec;
        foreach (string part in spec.Split(':', ','))
        {
            if (part.Length > 0 && part != spec && (File.Exists(part) || Directory.Exists(part))) yield return part;
        }
    }

    /// <summary>
    /// Refuses an output that lies inside an input: a file or folder under a data folder (an image folder, whose class
    /// folders would take it in as a training image or class; a CIFAR-10 or Fashion-MNIST folder), an IDX file, or a
    /// file a CSV/TSV list names. Paths are compared after resolving links in every part.
    /// </summary>
    /// <param name="output">The output path.</param>
    /// <param name="option">Its option name in messages.</param>
    /// <param name="inputs">Data specs with their option names (<c>--data</c>, <c>--test</c>); a spec that does not
    /// parse is left to the reader, which reports it.</param>
    public static void CheckOutsideInputs(string? output, string option, params (string? Spec, string Option)[] inputs)
    {
        if (string.IsNullOrWhiteSpace(output)) return;
        string target = Canonical(output);
        foreach (var (spec, inputOption) in inputs)
        {
            if (string.IsNullOrWhiteSpace(spec)) continue;
            Data.DataSpec parsed;
            try
            {
                parsed = Data.DataSpec.Parse(spec);
            }
            catch (Data.DatasetException)
            {
                continue;
            }
            var (folders, files) = parsed.InputPaths();
            foreach (string folder in folders)
            {
                string root = Canonical(folder);
                if (IsInside(target, root))
                {
                    throw new UsageException($"{option} '{output}' lies inside the {inputOption} folder '{folder}'; writing there would change the input. Choose a path outside it.");
                }
            }
            string targetName = Path.GetFileName(target);
            foreach (string file in files)
            {
                // Only a file of the same name, or a link, can resolve to the output (a list may name many thousands).
                if (!string.Equals(Path.GetFileName(file), targetName, StringComparison.Ordinal) && !IsLink(file)) continue;
                if (string.Equals(Canonical(file), target, StringComparison.Ordinal))
                {
                    throw new UsageException(string.Equals(file, parsed.Path, StringComparison.Ordinal) || string.Equals(file, parsed.LabelsPath, StringComparison.Ordinal)
                        ? $"{option} '{output}' is also the input {inputOption} '{spec}'; writing it would destroy the input. Choose another {option}."
                        : $"{option} '{output}' is the image '{file}' listed in {inputOption} '{spec}'; writing it would destroy the input. Choose another {option}.");
                }
            }
        }
    }

    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or lies under it (both canonical).</summary>
    private static bool IsInside(string path, string folder) =>
        string.Equals(path, folder, StringComparison.Ordinal)
        || path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The full path with links resolved in every part that exists (as <c>realpath</c> does); parts that do not
    /// exist yet are kept as written. A link loop leaves the path as far as it was resolved.</summary>
    public static string Canonical(string path) => Resolve(Path.GetFullPath(path), 0);

    private static string Resolve(string full, int depth)
    {
        string root = Path.GetPathRoot(full) ?? Path.DirectorySeparatorChar.ToString();
        string current = root;
        foreach (string part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            string? link = null;
            if (depth < 40)
            {
                try
                {
                    link = new FileInfo(next).LinkTarget;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Unreadable: keep the part as written.
                }
            }
            current = link is null ? next : Resolve(Path.GetFullPath(link, current), depth + 1);
        }
        return current.Length > root.Length ? current.TrimEnd(Path.DirectorySeparatorChar) : current;
    }

    /// <summary>
    /// Where a cancelled run's model goes: beside an existing <paramref name="output"/> as <c>NAME.cancelled.zip</c>, so
    /// a good model already there is never replaced by a partial one; at <paramref name="output"/> when nothing is there.
    /// </summary>
    public static string CancelledPath(string output) =>
        File.Exists(output)
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, Path.GetFileNameWithoutExtension(output) + ".cancelled" + Path.GetExtension(output))
            : output;

    /// <summary>
    /// Saves <paramref name="model"/> atomically at <paramref name="path"/>; when that fails (disk full, permissions
    /// changed during the run), saves it to a fallback file in the temporary folder and says where on
    /// <paramref name="stderr"/>.
    /// </summary>
    /// <returns>The path written and whether it is <paramref name="path"/>.</returns>
    public static (string Path, bool AtTarget) SaveModel(MLContext ml, ITransformer model, string path, string verb, TextWriter stderr)
    {
        try
        {
            // No input schema: ML.NET's binary saver cannot store an image column ("No valid columns to save").
            AtomicFile.Write(path, stream => ml.Model.Save(model, null, stream));
            return (path, true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (string fallback in FallbackPaths(path))
            {
                try
                {
                    AtomicFile.Write(fallback, stream => ml.Model.Save(model, null, stream));
                }
                catch (Exception again) when (again is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                stderr.WriteLine($"vit {verb}: error: cannot write '{path}' ({Guard.OneLine(e.Message)}); the model was saved to '{fallback}' instead.");
                return (fallback, false);
            }
            throw new IOException($"cannot write '{path}' ({Guard.OneLine(e.Message)}), nor a fallback copy in the temporary, home or current folder; the model is lost.", e);
        }
    }

    /// <summary>Files in the temporary, home and current folders for a model that could not be saved where asked.</summary>
    internal static IEnumerable<string> FallbackPaths(string path)
    {
        string name = $"vit-unsaved-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{Path.GetFileName(path)}";
        // The system's temporary folder, not this process's private one (TMPDIR), which is deleted at exit.
        foreach (string folder in new[] { VitMlNet.IO.PrivateTemp.SystemFolder, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), Environment.CurrentDirectory })
        {
            if (!string.IsNullOrEmpty(folder) && Directory.Exists(folder)) yield return Path.Combine(folder, name);
        }
    }
}
