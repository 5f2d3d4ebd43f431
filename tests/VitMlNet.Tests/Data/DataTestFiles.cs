using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace VitMlNet.Tests.Data;

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("vitmlnet-data-").FullName;
    }

    public string Path { get; }

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string relative, byte[] bytes)
    {
        string path = File(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}

/// <summary>Writers for the tiny dataset files the tests read back.</summary>
internal static class DataTestFiles
{
    public static byte[] Idx3(int count, int rows, int cols, byte[] pixels, int magic = 0x00000803)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }

    public static byte[] Idx1(byte[] labels, int? count = null, int magic = 0x00000801)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count ?? labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>One CIFAR-10 record: label, then 1024 R, 1024 G, 1024 B, where pixel p of plane c is (seed + c * 7 + p) mod 256.</summary>
    public static byte[] CifarRecord(byte label, int seed)
    {
        var record = new byte[3073];
        record[0] = label;
        for (int c = 0; c < 3; c++)
        {
            for (int p = 0; p < 1024; p++)
            {
                record[1 + (c * 1024) + p] = (byte)(seed + (c * 7) + p);
            }
        }

        return record;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Encodes an opaque PNG whose pixel (x, y) has the color <paramref name="color"/> returns.</summary>
    public static byte[] Png(int width, int height, Func<int, int, (byte R, byte G, byte B)> color) =>
        Encode(width, height, color, SKEncodedImageFormat.Png, 100);

    public static byte[] Jpeg(int width, int height, Func<int, int, (byte R, byte G, byte B)> color) =>
        Encode(width, height, color, SKEncodedImageFormat.Jpeg, 95);

    private static byte[] Encode(int width, int height, Func<int, int, (byte R, byte G, byte B)> color, SKEncodedImageFormat format, int quality)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = color(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        }

        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }
}
