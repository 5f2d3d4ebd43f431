using System.Diagnostics;

namespace VitMlNet.Cli;

/// <summary>The timing rule every figure of <c>vit bench</c> and <c>vit bench-scoring</c> that is taken in chunks uses.</summary>
internal static class BenchTiming
{
    /// <summary>
    /// Seconds per call of <paramref name="call"/>, timed in <paramref name="chunks"/> chunks of
    /// <paramref name="callsPerChunk"/> calls and reporting the best chunk's mean: on a shared machine one slow stretch
    /// should not stand for the code's speed. Warm-up calls are the caller's.
    /// </summary>
    public static double BestSecondsPerCall(Action call, int chunks, int callsPerChunk)
    {
        double best = double.MaxValue;
        for (int c = 0; c < chunks; c++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < callsPerChunk; i++) call();
            best = Math.Min(best, clock.Elapsed.TotalSeconds / callsPerChunk);
        }
        return best;
    }
}
