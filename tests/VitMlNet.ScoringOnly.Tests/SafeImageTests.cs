using System.Diagnostics;
using Microsoft.ML.Data;
using SkiaSharp;
using VitMlNet.Scoring;

namespace VitMlNet.ScoringOnly.Tests;

/// <summary>The scoring package's image loader: sizes checked from the header before decoding, one-line refusals.</summary>
public sealed class SafeImageTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "vit-safeimage-" + Guid.NewGuid().ToString("N"));

    public SafeImageTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, true);

    [Fact]
    public void ADecompressionBombIsRefusedFromItsHeaderWithinASecondWithoutAllocatingItsPixels()
    {
        byte[] bomb = CraftedPng.Bomb(40_000, 40_000);
        Assert.True(bomb.Length < 64 * 1024, $"the crafted file is {bomb.Length} bytes");
        string path = Path.Combine(root, "bomb.png");
        File.WriteAllBytes(path, bomb);
        Assert.Equal((40_000, 40_000), SafeImage.ReadSize(path));

        long? peakBefore = CraftedPng.PeakResidentBytes();
        var clock = Stopwatch.StartNew();
        var fromFile = Assert.Throws<ImageRejectedException>(() => SafeImage.Load(path));
        var fromStream = Assert.Throws<ImageRejectedException>(() => SafeImage.Load(new MemoryStream(bomb), "upload.png"));
        clock.Stop();
        long? peakAfter = CraftedPng.PeakResidentBytes();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"refusing took {clock.Elapsed.TotalMilliseconds:F0} ms");
        // Decoded, the image takes 40,000 x 40,000 x 4 bytes = 6.4 GB; the refusal must not even start on it.
        if (peakBefore is long before && peakAfter is long after)
            Assert.True(after - before < 200L * 1024 * 1024, $"peak resident memory grew by {(after - before) / (1024 * 1024)} MiB");
        Assert.Equal($"Image '{path}' cannot be loaded: its header declares 40000 x 40000 = 1,600,000,000 pixels, more than the maximum of 100,000,000 pixels.", fromFile.Message);
        Assert.StartsWith("Image 'upload.png' cannot be loaded: its header declares 40000 x 40000", fromStream.Message);
        Assert.Equal(100_000_000, SafeImage.DefaultMaxPixels);
    }

    [Fact]
    public void TheMaximumIsTheCallersAndAnImageAtTheMaximumLoads()
    {
        string path = WritePng("small.png", 100, 50);
        Assert.Contains("100 x 50 = 5,000 pixels, more than the maximum of 4,999 pixels", Assert.Throws<ImageRejectedException>(() => SafeImage.Load(path, 4_999)).Message);
        using var image = SafeImage.Load(path, 5_000);
        Assert.Equal((100, 50), (image.Width, image.Height));
    }

    [Fact]
    public void AGoodImageLoadsAsMLImageCreateFromFileLoadsIt()
    {
        string path = WritePng("good.png", 23, 17);
        using var safe = SafeImage.Load(path);
        using var plain = MLImage.CreateFromFile(path);
        using var fromBytes = SafeImage.Load(File.ReadAllBytes(path), "good.png");
        Assert.Equal(plain.PixelFormat, safe.PixelFormat);
        Assert.Equal((plain.Width, plain.Height), (safe.Width, safe.Height));
        Assert.True(plain.Pixels.SequenceEqual(safe.Pixels));
        Assert.True(plain.Pixels.SequenceEqual(fromBytes.Pixels));
    }

    [Fact]
    public void NonImagesTruncatedImagesAndMissingFilesAreOneLineRefusals()
    {
        string text = Path.Combine(root, "notes.png");
        File.WriteAllText(text, "these are not pixels\nsecond line\n");
        string empty = Path.Combine(root, "empty.jpg");
        File.WriteAllBytes(empty, []);
        byte[] good = File.ReadAllBytes(WritePng("whole.png", 64, 64, noise: true));
        string cut = Path.Combine(root, "cut.png");
        File.WriteAllBytes(cut, good[..(good.Length / 2)]);

        var cases = new (string Path, string Reason)[]
        {
            (text, "not a recognised image format"),
            (empty, "the file is empty (0 bytes)"),
            (cut, "truncated image data"),
            (Path.Combine(root, "missing.png"), "the file does not exist"),
            (root, "it is a folder, not an image file"),
        };
        foreach (var (path, reason) in cases)
        {
            var e = Assert.Throws<ImageRejectedException>(() => SafeImage.Load(path));
            Assert.StartsWith($"Image '{path}' cannot be loaded: {reason}", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Equal(path, e.ImageName);
        }

        Assert.StartsWith("not a recognised image format", SafeImage.Check("<html>"u8.ToArray()));
        Assert.Null(SafeImage.Check(cut, decode: false));
        Assert.Null(SafeImage.Check(good));
    }

    private string WritePng(string name, int width, int height, bool noise = false)
    {
        var rng = new Random(3);
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, noise ? new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)) : new SKColor((byte)(x * 10), (byte)(y * 10), 128));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string path = Path.Combine(root, name);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
