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

    /// <summary>The full path with links resolved when the path exists.</summary>
    public static string Canonical(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (full.Length == 0) full = Path.DirectorySeparatorChar.ToString();
        try
        {
            FileSystemInfo? target = File.Exists(full) ? File.ResolveLinkTarget(full, true) : Directory.Exists(full) ? Directory.ResolveLinkTarget(full, true) : null;
            if (target is not null) return Path.GetFullPath(target.FullName).TrimEnd(Path.DirectorySeparatorChar);
            string? parent = Path.GetDirectoryName(full);
            if (parent is not null && Directory.Exists(parent))
            {
                var parentTarget = Directory.ResolveLinkTarget(parent, true);
                if (parentTarget is not null) return Path.Combine(parentTarget.FullName, Path.GetFileName(full));
            }
        }
        catch (IOException)
        {
            // A dangling or looping link: compare the path as written.
        }
        return full;
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
        foreach (string folder in new[] { Path.GetTempPath(), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), Environment.CurrentDirectory })
        {
            if (!string.IsNullOrEmpty(folder) && Directory.Exists(folder)) yield return Path.Combine(folder, name);
        }
    }
}
