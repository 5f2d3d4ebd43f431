using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>A small PNG whose header claims 40,000 x 40,000 pixels: refused from the header, before any pixel is allocated.</summary>
[Collection("Robustness")]
public sealed class ImageBombTests
{
    private readonly CliFixture f;

    public ImageBombTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void PredictRefusesADecompressionBombFromItsHeaderAndScoresTheOtherImages()
    {
        string root = Robust.TempFolder("bomb-predict");
        try
        {
            string bomb = Path.Combine(root, "bomb.png");
            File.WriteAllBytes(bomb, BombPng(40_000, 40_000));
            string good = f.Test.Rows[0].ImagePath;
            long peakBefore = PeakResidentBytes();
            var clock = Stopwatch.StartNew();
            var r = Vit.Run("predict", f.Model, bomb, good);
            clock.Stop();
            long peakGrowth = PeakResidentBytes() - peakBefore;

            Assert.True(r.Code == 1, r.ToString());
            Assert.Contains(good, r.Out);
            Assert.DoesNotContain(bomb, r.Out);
            Robust.AssertOneErrorLine(r, "predict");
            Assert.Contains($"{bomb}: cannot read the image: its header declares 40000 x 40000 = 1,600,000,000 pixels, more than the maximum of 100,000,000 pixels", r.Err);
            // Loading the model and scoring the good image included; the bomb alone would take 6.4 GB and minutes.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"predict took {clock.Elapsed.TotalSeconds:F1} s");
            Assert.True(peakGrowth < 500L * 1024 * 1024, $"peak resident memory grew by {peakGrowth / (1024 * 1024)} MiB");
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void TrainingDataWithADecompressionBombIsBadInputNamingTheFile()
    {
        string root = Robust.TempFolder("bomb-train");
        try
        {
            foreach (var row in f.Train.Rows.Take(12))
            {
                string dir = Path.Combine(root, row.Label);
                Directory.CreateDirectory(dir);
                File.Copy(row.ImagePath, Path.Combine(dir, Path.GetFileName(row.ImagePath)));
            }
            string bomb = Path.Combine(root, f.Train.Rows[0].Label, "bomb.png");
            File.WriteAllBytes(bomb, BombPng(40_000, 40_000));
            var r = Vit.Run("train", "--data", root, "--preset", "tiny", "--epochs", "1", "--out", Path.Combine(Path.GetTempPath(), $"vit-bomb-{Guid.NewGuid():N}.zip"));
            Assert.True(r.Code == 2, r.ToString());
            Robust.AssertOneErrorLine(r, "train");
            Assert.Contains($"'{bomb}' cannot be decoded: its header declares 40000 x 40000 = 1,600,000,000 pixels, more than the maximum of 100,000,000 pixels", r.Err);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    /// <summary>An RGB PNG whose IHDR declares width x height, with 64 rows of zeros as its data (a few kilobytes).</summary>
    internal static byte[] BombPng(int width, int height)
    {
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(new byte[64 * (1 + (3 * width))]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var four = new byte[4];
        foreach (var (type, data) in new[] { ("IHDR", ihdr), ("IDAT", idat.ToArray()), ("IEND", Array.Empty<byte>()) })
        {
            BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
            file.Write(four);
            byte[] body = [.. Encoding.ASCII.GetBytes(type), .. data];
            file.Write(body);
            uint crc = 0xFFFFFFFF;
            foreach (byte b in body)
            {
                crc ^= b;
                for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
            BinaryPrimitives.WriteUInt32BigEndian(four, ~crc);
            file.Write(four);
        }
        return file.ToArray();
    }

    private static long PeakResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }
}
