using SkiaSharp;
using VitMlNet.Cli.Reporting;

namespace VitMlNet.Tests.Cli.Reporting;

/// <summary>
/// A temp folder for report outputs (kept, not deleted, when <c>VITMLNET_REPORT_GALLERY</c> names a folder to collect them
/// in for viewing) and checks of written PNGs.
/// </summary>
internal sealed class ReportFolder : IDisposable
{
    private readonly bool _keep;

    public ReportFolder()
    {
        string? gallery = Environment.GetEnvironmentVariable("VITMLNET_REPORT_GALLERY");
        _keep = !string.IsNullOrWhiteSpace(gallery);
        Root = _keep ? Path.GetFullPath(gallery!) : Path.Combine(Path.GetTempPath(), "vit-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string File(string name) => Path.Combine(Root, name);

    public void Dispose()
    {
        if (!_keep && Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

internal static class Png
{
    /// <summary>Decodes a PNG written by a chart, checks its size against the returned one, and returns it.</summary>
    public static SKBitmap Load(string path, PixelSize expected)
    {
        Assert.True(System.IO.File.Exists(path), $"{path} was not written");
        byte[] bytes = System.IO.File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        using var codec = SKCodec.Create(new MemoryStream(bytes));
        Assert.NotNull(codec);
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal(expected.Width, bitmap.Width);
        Assert.Equal(expected.Height, bitmap.Height);
        return bitmap;
    }

    /// <summary>Variance of the luminance over all pixels (0 for a blank picture).</summary>
    public static double LuminanceVariance(SKBitmap bitmap)
    {
        double sum = 0, sumSq = 0;
        long n = (long)bitmap.Width * bitmap.Height;
        foreach (var p in bitmap.Pixels)
        {
            double l = (0.299 * p.Red) + (0.587 * p.Green) + (0.114 * p.Blue);
            sum += l;
            sumSq += l * l;
        }

        double mean = sum / n;
        return (sumSq / n) - (mean * mean);
    }

    /// <summary>Asserts the picture is not blank: clear luminance variance and a fair share of non-white pixels.</summary>
    public static void AssertNotBlank(SKBitmap bitmap)
    {
        Assert.True(LuminanceVariance(bitmap) > 100, $"luminance variance {LuminanceVariance(bitmap):F1} is too low: blank picture?");
        double inked = bitmap.Pixels.Count(p => p.Red < 200 || p.Green < 200 || p.Blue < 200) / (double)bitmap.Pixels.Length;
        Assert.True(inked > 0.005, $"only {inked:P2} of the pixels are not near white");
    }

    public static int Count(SKBitmap bitmap, Func<SKColor, bool> predicate) => bitmap.Pixels.Count(predicate);

    /// <summary>Pixels within a rectangle that match <paramref name="predicate"/>.</summary>
    public static int Count(SKBitmap bitmap, SKRectI area, Func<SKColor, bool> predicate)
    {
        int count = 0;
        for (int y = Math.Max(0, area.Top); y < Math.Min(bitmap.Height, area.Bottom); y++)
        {
            for (int x = Math.Max(0, area.Left); x < Math.Min(bitmap.Width, area.Right); x++)
            {
                count += predicate(bitmap.GetPixel(x, y)) ? 1 : 0;
            }
        }

        return count;
    }

    /// <summary>Pixels that are dark gray/black text ink within a rectangle.</summary>
    public static int DarkPixels(SKBitmap bitmap, SKRectI area)
    {
        int count = 0;
        for (int y = area.Top; y < area.Bottom; y++)
        {
            for (int x = area.Left; x < area.Right; x++)
            {
                var p = bitmap.GetPixel(x, y);
                count += p.Red < 128 && p.Green < 128 && p.Blue < 128 ? 1 : 0;
            }
        }

        return count;
    }
}

/// <summary>Deterministic inputs resembling a Fashion-MNIST run.</summary>
internal static class ReportTestData
{
    public static readonly string[] FashionClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static List<EpochPoint> Epochs(int count = 20, bool validation = true)
    {
        var points = new List<EpochPoint>();
        for (int e = 1; e <= count; e++)
        {
            double t = e / (double)count;
            double trainLoss = 0.25 + (1.9 * Math.Exp(-4.2 * t)) + (0.01 * Math.Sin(e));
            double trainAcc = 0.93 - (0.6 * Math.Exp(-4.5 * t));
            double valLoss = 0.31 + (1.6 * Math.Exp(-4.6 * t)) + (0.18 * t * t) + (0.015 * Math.Cos(e * 1.7));
            double valAcc = 0.905 - (0.55 * Math.Exp(-5 * t)) - (0.03 * t * t) + (0.006 * Math.Sin(e * 2.3));
            points.Add(validation ? new EpochPoint(e, trainLoss, trainAcc, valLoss, valAcc) : new EpochPoint(e, trainLoss, trainAcc));
        }

        return points;
    }

    public static long[][] Confusion(int classes = 10, int perClass = 1000, int seed = 7)
    {
        var rng = new Random(seed);
        var counts = new long[classes][];
        for (int r = 0; r < classes; r++)
        {
            counts[r] = new long[classes];
            double hard = r is 6 or 0 or 2 or 4 ? 0.25 : 0.05;
            long remaining = perClass;
            for (int c = 0; c < classes; c++)
            {
                if (c == r)
                {
                    continue;
                }

                bool similar = Math.Abs(c - r) <= 2 || (r, c) is (6, 0) or (0, 6) or (4, 6) or (6, 4);
                long v = (long)(perClass * hard * (similar ? rng.NextDouble() * 0.35 : rng.NextDouble() * 0.02));
                counts[r][c] = v;
                remaining -= v;
            }

            counts[r][r] = Math.Max(0, remaining);
        }

        return counts;
    }

    /// <summary>A gray or RGB CHW test picture: a soft blob on a gradient, varied by <paramref name="seed"/>.</summary>
    public static byte[] Picture(int channels, int width, int height, int seed)
    {
        var rng = new Random(seed);
        double cx = rng.Next(width / 4, 3 * width / 4), cy = rng.Next(height / 4, 3 * height / 4);
        double radius = Math.Min(width, height) * (0.18 + (rng.NextDouble() * 0.15));
        int plane = width * height;
        var pixels = new byte[channels * plane];
        for (int c = 0; c < channels; c++)
        {
            double tint = channels == 1 ? 1 : (0.4 + (0.6 * ((seed + (c * 3)) % 5) / 4.0));
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    double d = Math.Sqrt(((x - cx) * (x - cx)) + ((y - cy) * (y - cy)));
                    double v = d < radius ? 230 * tint : 20 + (40.0 * y / height);
                    pixels[(c * plane) + (y * width) + x] = (byte)Math.Clamp(v, 0, 255);
                }
            }
        }

        return pixels;
    }

    public static List<PredictionSample> Predictions(int count, int channels = 1, int size = 28)
    {
        var result = new List<PredictionSample>();
        for (int i = 0; i < count; i++)
        {
            string actual = FashionClasses[(i * 7) % 10];
            bool wrong = i % 5 == 3;
            string predicted = wrong ? FashionClasses[((i * 7) + 4) % 10] : actual;
            double p = wrong ? 0.41 + (i % 4 * 0.07) : 0.86 + (i % 7 * 0.02);
            result.Add(new PredictionSample(Picture(channels, size, size, i), size, size, predicted, actual, p));
        }

        return result;
    }

    /// <summary>A gaussian bump of attention on a rows×cols grid around (peakRow, peakCol).</summary>
    public static float[] Attention(int rows, int cols, int peakRow, int peakCol)
    {
        var map = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                double d2 = ((r - peakRow) * (r - peakRow)) + ((c - peakCol) * (c - peakCol));
                map[(r * cols) + c] = (float)(0.02 + Math.Exp(-d2 / 3.0));
            }
        }

        return map;
    }

    public static List<AttentionSample> AttentionSamples(int count, int channels = 3, int size = 32, int grid = 8)
    {
        var result = new List<AttentionSample>();
        for (int i = 0; i < count; i++)
        {
            result.Add(new AttentionSample(Picture(channels, size, size, i + 3), size, size,
                Attention(grid, grid, (i * 3) % grid, (i * 5 + 2) % grid), grid, grid, $"{FashionClasses[i % 10]} (p = 0.9{i})"));
        }

        return result;
    }
}
