using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VitMlNet.ScoringOnly.Tests;

/// <summary>Writes PNG files byte by byte, so that the header can claim what the data does not hold.</summary>
public static class CraftedPng
{
    /// <summary>
    /// A decompression bomb: an RGB PNG whose IHDR declares <paramref name="width"/> x <paramref name="height"/>
    /// pixels, followed by the first <paramref name="rows"/> rows of zeros (deflate makes them a few kilobytes).
    /// </summary>
    public static byte[] Bomb(int width = 40_000, int height = 40_000, int rows = 64)
    {
        var raw = new byte[rows * (1 + (3 * width))];
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(raw);
        return Png(width, height, colorType: 2, compressed.ToArray());
    }

    /// <summary>A PNG file from its IHDR fields and the zlib-compressed scanlines.</summary>
    public static byte[] Png(int width, int height, byte colorType, byte[] idat)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;          // bit depth
        ihdr[9] = colorType;  // 0 gray, 2 RGB
        Chunk(file, "IHDR", ihdr);
        Chunk(file, "IDAT", idat);
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        s.Write(four);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32(typeAndData));
        s.Write(four);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The process's peak resident memory in bytes (Linux VmHWM), or null where /proc is not there.</summary>
    public static long? PeakResidentBytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return null;
    }
}
