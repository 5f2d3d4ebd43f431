using System.Runtime.InteropServices;
using System.Text;

namespace VitMlNet.IO;

/// <summary>
/// Opens input files that a user (or an attacker) names: only regular files are read (a link to <c>/dev/zero</c>, a
/// FIFO, a device or a socket is refused before it is opened, since reading one never ends or blocks), and small
/// files such as JSON configurations are read under a size cap.
/// </summary>
internal static class SafeFile
{
    /// <summary>Most bytes of a JSON configuration file (<c>config.json</c>, <c>preprocessor_config.json</c>).</summary>
    public const long MaxJsonBytes = 1L << 20;

    /// <summary>
    /// Checks that <paramref name="path"/> is a regular file (after following links).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file is, for messages (e.g. "model zip").</param>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">It is a device, FIFO, socket or folder.</exception>
    public static void CheckRegular(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? kind = SpecialKind(path);
        if (kind is not null)
            throw new InvalidDataException($"{what} '{path}' is {kind}, not a regular file: refused.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} '{path}' not found.", path);
    }

    /// <summary>Opens a regular file for reading (see <see cref="CheckRegular"/>).</summary>
    /// <returns>The open stream.</returns>
    public static FileStream OpenRead(string path, string what)
    {
        CheckRegular(path, what);
        return File.OpenRead(path);
    }

    /// <summary>Reads a regular file of at most <paramref name="maxBytes"/> bytes as UTF-8 text.</summary>
    /// <exception cref="InvalidDataException">The file is larger, or not a regular file.</exception>
    public static string ReadAllText(string path, long maxBytes, string what)
    {
        using var stream = OpenRead(path, what);
        if (stream.Length > maxBytes)
            throw new InvalidDataException($"{what} '{path}' has {stream.Length} bytes; at most {maxBytes} are read.");
        var bytes = new byte[(int)stream.Length];
        stream.ReadExactly(bytes);
        if (stream.ReadByte() >= 0) throw new InvalidDataException($"{what} '{path}' grows while it is read: refused.");
        return new UTF8Encoding(false, throwOnInvalidBytes: false).GetString(bytes);
    }

    /// <summary>What special kind of file <paramref name="path"/> is ("a character device", "a FIFO", ...), or null for a regular file or none.</summary>
    internal static string? SpecialKind(string path)
    {
        if (Directory.Exists(path)) return "a folder";
        if (OperatingSystem.IsWindows()) return null;
        int mode;
        try
        {
            if (NativeStat(path, out var status) != 0) return null; // missing: the caller reports it
            mode = status.Mode;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Without the runtime's stat, refuse the usual places of special files.
            string full = Path.GetFullPath(path);
            try
            {
                full = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? full;
            }
            catch (IOException)
            {
            }
            return full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal) || full.StartsWith("/sys/", StringComparison.Ordinal)
                ? "a special file" : null;
        }
        return (mode & 0xF000) switch
        {
            0x8000 => null,
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0x4000 => "a folder",
            _ => "a special file",
        };
    }

    /// <summary>The runtime's own <c>stat</c> (System.Native, shipped with every .NET on Unix); only the mode is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 512)]
    private struct FileStatus
    {
        [FieldOffset(4)]
        public int Mode;
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    private static extern int NativeStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out FileStatus status);
}
