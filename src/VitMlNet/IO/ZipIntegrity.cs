using System.IO.Compression;

namespace VitMlNet.IO;

/// <summary>
/// Checks a zip archive before anything in it is trusted: every entry is read to its end and its CRC-32 compared with
/// the one the archive records, so a flipped bit or a truncated file is an error instead of silently altered weights.
/// An entry is never read past the size it declares, so the time taken is bounded by the declared sizes (which
/// model zips check first, see <c>ModelZipLayout</c>).
/// </summary>
internal static class ZipIntegrity
{
    private static readonly uint[] Table = CreateTable();

    /// <summary>Verifies every entry of the zip in <paramref name="zip"/> (the stream is rewound to where it was).</summary>
    /// <param name="zip">A readable, seekable stream over the archive.</param>
    /// <param name="name">The archive's name for messages (a file path).</param>
    /// <exception cref="InvalidDataException">The data is not a complete zip archive, or an entry's CRC does not match.</exception>
    public static void Verify(Stream zip, string name)
    {
        ArgumentNullException.ThrowIfNull(zip);
        long start = zip.CanSeek ? zip.Position : 0;
        try
        {
            using var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
            var buffer = new byte[1 << 16];
            foreach (var entry in archive.Entries)
            {
                uint crc = 0xFFFFFFFFu;
                long length = 0;
                using (var s = entry.Open())
                {
                    int n;
                    while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        crc = Update(crc, buffer.AsSpan(0, n));
                        length += n;
                        // An entry that inflates past the size it declares is refused at once, not read to its end.
                        if (length > entry.Length) break;
                    }
                }
                crc ^= 0xFFFFFFFFu;
                if (crc != entry.Crc32 || length != entry.Length)
                {
                    throw new InvalidDataException(
                        $"'{name}' is corrupt: zip entry '{entry.FullName}' has CRC-32 {crc:x8} and {length} bytes, expected {entry.Crc32:x8} and {entry.Length} bytes.");
                }
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith($"'{name}' is corrupt", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{name}' is corrupt or not a complete zip archive: {e.Message}", e);
        }
        finally
        {
            if (zip.CanSeek) zip.Position = start;
        }
    }

    /// <summary>Verifies the zip file at <paramref name="path"/>.</summary>
    /// <param name="path">The archive.</param>
    /// <exception cref="InvalidDataException">See <see cref="Verify(Stream, string)"/>.</exception>
    public static void Verify(string path)
    {
        using var file = SafeFile.OpenRead(path, "zip");
        Verify(file, path);
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
