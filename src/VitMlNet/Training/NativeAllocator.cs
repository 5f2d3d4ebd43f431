using System.Runtime.InteropServices;

namespace VitMlNet.Training;

/// <summary>
/// Tunes glibc's malloc for libtorch's allocation pattern on Linux. A training step allocates and frees the same
/// large activation buffers every time; above glibc's mmap threshold each of them is a fresh mmap/munmap, so every
/// step pays page faults on memory it just returned. Raising the mmap and trim thresholds keeps those buffers in the
/// heap for reuse, and capping the arenas keeps the process size flat across epochs. Measured in docs/benchmarks.md.
/// </summary>
internal static class NativeAllocator
{
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;
    private const int MArenaMax = -8;
    private static int configured;

    /// <summary>
    /// Applies the settings once per process (Linux with glibc only; elsewhere nothing happens). Set the environment
    /// variable <c>VITMLNET_MALLOC_TUNING=0</c> to leave malloc alone. Returns whether the settings were applied.
    /// </summary>
    public static bool Configure()
    {
        if (Interlocked.Exchange(ref configured, 1) == 1) return Applied;
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("VITMLNET_MALLOC_TUNING") == "0") return false;
        try
        {
            Applied = mallopt(MMmapThreshold, 32 << 20) == 1
                & mallopt(MTrimThreshold, 1024 << 20) == 1
                & mallopt(MArenaMax, 4) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Applied = false; // musl or another libc: nothing to tune
        }
        return Applied;
    }

    /// <summary>Whether <see cref="Configure"/> changed malloc's settings in this process.</summary>
    public static bool Applied { get; private set; }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
