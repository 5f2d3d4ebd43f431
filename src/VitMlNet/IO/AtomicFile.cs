using System.Text;

namespace VitMlNet.IO;

/// <summary>
/// Writes files so that a crash, a kill or a full disk never leaves a half-written file at the target: the content goes
/// to a temporary file in the target's folder, is flushed to disk, optionally checked, and only then renamed over the
/// target (a rename within one folder is atomic). Until that rename the previous file stays untouched.
/// </summary>
internal static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> atomically.</summary>
    /// <param name="path">The file to create or replace; its folder is created when missing.</param>
    /// <param name="write">Writes the content into the stream it is given (it may close the stream).</param>
    /// <param name="verify">Optional check of the complete temporary file (its path is passed) before it replaces the
    /// target; when it throws, the target is left as it was and the temporary file is deleted.</param>
    /// <exception cref="IOException">The path is a folder, or writing failed (the target is then unchanged).</exception>
    public static void Write(string path, Action<Stream> write, Action<string>? verify = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"Cannot write '{path}': it is a folder.");
        string folder = Path.GetDirectoryName(full) ?? throw new IOException($"Cannot write '{path}': it has no folder.");
        Directory.CreateDirectory(folder);
        CleanStale(folder);
        string temp = TemporaryPath(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                if (stream.CanWrite) stream.Flush(flushToDisk: true);
            }
            FlushToDisk(temp);
            verify?.Invoke(temp);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp); // the target is what matters, and it is unchanged
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically (UTF-8 without a byte-order mark).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="text">The content.</param>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        Write(path, s => s.Write(bytes));
    }

    /// <summary>Forces a file already written by someone else (e.g. a native library) out of the OS cache onto the disk.</summary>
    /// <param name="path">An existing file.</param>
    public static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Whether <paramref name="fileName"/> is one of the temporary files this class writes (hidden, ending in <c>.tmp</c>).</summary>
    /// <param name="fileName">A file name without folder.</param>
    /// <returns>True for a temporary name.</returns>
    public static bool IsTemporaryName(string fileName) =>
        fileName.StartsWith('.') && fileName.EndsWith(".vit-tmp", StringComparison.Ordinal);

    /// <summary>
    /// Deletes the temporary files in <paramref name="folder"/> that processes killed mid-save left behind: those whose
    /// process id (in the name, <c>.NAME.PID-GUID.vit-tmp</c>) no longer runs and that no process holds open for writing.
    /// </summary>
    /// <param name="folder">The folder of a file about to be saved.</param>
    /// <returns>How many files were deleted.</returns>
    internal static int CleanStale(string folder)
    {
        int deleted = 0;
        List<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, ".*.vit-tmp").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var candidate in candidates)
        {
            var match = TemporaryName().Match(Path.GetFileName(candidate));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out int pid) || pid == Environment.ProcessId) continue;
            if (PrivateTemp.IsAlive(pid) || PrivateTemp.IsLocked(candidate)) continue;
            TryDelete(candidate);
            if (!File.Exists(candidate)) deleted++;
        }
        return deleted;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..+\.(\d+)-[0-9a-f]{32}\.vit-tmp$")]
    private static partial System.Text.RegularExpressions.Regex TemporaryName();

    private static string TemporaryPath(string full)
    {
        string name = Path.GetFileName(full);
        if (name.Length > 180) name = name[..180];
        return Path.Combine(Path.GetDirectoryName(full)!, $".{name}.{Environment.ProcessId}-{Guid.NewGuid():N}.vit-tmp");
    }

    /// <summary>Deletes a file, best effort: a file that cannot be deleted is left where it is.</summary>
    /// <param name="path">The file.</param>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes a folder and everything in it, if there is one; best effort, like <see cref="TryDelete"/>.</summary>
    /// <param name="folder">The folder, or null for none.</param>
    public static void TryDeleteFolder(string? folder)
    {
        try
        {
            if (folder is not null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
