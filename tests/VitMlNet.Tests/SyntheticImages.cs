namespace VitMlNet.Tests;

/// <summary>
/// A tiny, seeded, learnable image task: a 2-pixel bright bar, horizontal, vertical or diagonal, at a random
/// offset, plus noise. Bars thinner than a patch keep the classes apart by patch content as well as position
/// (with 4-pixel bars filling whole patches, PyTorch's reference ViT also stalls near 90% on fresh data).
/// </summary>
internal static class SyntheticImages
{
    public static readonly string[] ClassNames = { "top", "left", "diagonal" };

    /// <summary>Planar uint8 pixels (N×C×H×W) and labels 0..2, balanced.</summary>
    public static (byte[] Pixels, int[] Labels) Make(int count, int seed, int channels = 3, int height = 16, int width = 16)
    {
        var rng = new Random(seed);
        var pixels = new byte[(long)count * channels * height * width];
        var labels = new int[count];
        int plane = height * width;
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            labels[i] = label;
            int shift = rng.Next(Math.Min(height, width) - 2);
            for (int c = 0; c < channels; c++)
            {
                for (int y = 0; y < height; y++)
                {
                    for (int x = 0; x < width; x++)
                    {
                        bool on = label switch
                        {
                            0 => y >= shift && y < shift + 2,
                            1 => x >= shift && x < shift + 2,
                            _ => Math.Abs(x * height / width - y + shift / 2 - 3) <= 1,
                        };
                        int v = (on ? 200 : 40) + rng.Next(-30, 31);
                        pixels[(long)i * channels * plane + c * plane + y * width + x] = (byte)Math.Clamp(v, 0, 255);
                    }
                }
            }
        }
        return (pixels, labels);
    }
}

/// <summary>An IProgress that reports synchronously on the calling thread (Progress&lt;T&gt; posts to the pool).</summary>
internal sealed class SyncProgress<T> : IProgress<T>
{
    private readonly Action<T> action;
    public SyncProgress(Action<T> action) => this.action = action;
    public void Report(T value) => action(value);
}
