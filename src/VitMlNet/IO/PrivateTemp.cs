using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VitMlNet.IO;

/// <summary>
/// This process's own temporary folder, readable by its owner only (mode 700): ML.NET's copies of a model's ONNX
/// graph (<c>OnnxTransformer</c> writes one per loaded model) and its <c>ml_dotnet_*</c> extraction folders go there
/// (<c>MLContext.TempFilePath</c>), so no other user can read a model through the system's temporary folder.
/// </summary>
/// <remarks>
/// The folder is <c>vitmlnet-PID-GUID</c> in the system's temporary folder; the process holds an exclusive lock on
/// its <c>.lock</c> file while it lives and deletes the folder when it exits. A process killed with <c>kill -9</c>
/// leaves its folder behind: the next process that creates one deletes every such folder whose process is gone
/// and whose lock is free.
/// </remarks>
internal static partial class PrivateTemp
{
    private const string Prefix = "vitmlnet-";
    private static readonly Lock Gate = new();
    private static string? folder;
    private static FileStream? lockFile;

    /// <summary>
    /// The system's temporary folder as it was before <see cref="UseForProcess"/> pointed <c>TMPDIR</c> here: where files
    /// that must outlive the process go (a model that could not be saved where asked).
    /// </summary>
    public static string SystemFolder { get; } = Path.GetTempPath();

    /// <summary>The folder (created on first use).</summary>
    public static string Folder
    {
        get
        {
            lock (Gate)
            {
                if (folder is not null && Directory.Exists(folder)) return folder;
                folder = Create(SystemFolder);
                return folder;
            }
        }
    }

    /// <summary>Points <paramref name="ml"/>'s temporary files at <see cref="Folder"/>.</summary>
    /// <returns>The same context.</returns>
    public static Microsoft.ML.MLContext Use(Microsoft.ML.MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ml.TempFilePath = Folder;
        return ml;
    }

    /// <summary>
    /// Makes <see cref="Folder"/> this process's temporary folder for everything (the <c>TMPDIR</c> the runtime and
    /// ML.NET read), for a command-line process.
    /// </summary>
    public static void UseForProcess()
    {
        string path = Folder;
        if (!OperatingSystem.IsWindows()) Environment.SetEnvironmentVariable("TMPDIR", path);
    }

    private static string Create(string root)
    {
        CleanStale(root);
        string path = Path.Combine(root, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        lockFile?.Dispose();
        lockFile = new FileStream(Path.Combine(path, ".lock"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        if (folder is null)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                lockFile?.Dispose();
                AtomicFile.TryDeleteFolder(folder);
            };
        }
        return path;
    }

    /// <summary>Deletes the private folders in <paramref name="root"/> of processes that are gone.</summary>
    /// <returns>How many were deleted.</returns>
    internal static int CleanStale(string root)
    {
        int deleted = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(root, Prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var candidate in candidates)
        {
            var match = FolderName().Match(Path.GetFileName(candidate));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out int pid) || pid == Environment.ProcessId || IsAlive(pid)) continue;
            if (IsLocked(Path.Combine(candidate, ".lock"))) continue;
            AtomicFile.TryDeleteFolder(candidate);
            if (!Directory.Exists(candidate)) deleted++;
        }
        return deleted;
    }

    /// <summary>Whether a process with this id runs (in this process's view).</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Whether another live process holds an exclusive lock on <paramref name="path"/> (false when the file is missing).</summary>
    internal static bool IsLocked(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    [GeneratedRegex(@"^vitmlnet-(\d+)-[0-9a-f]{32}$")]
    private static partial Regex FolderName();
}
