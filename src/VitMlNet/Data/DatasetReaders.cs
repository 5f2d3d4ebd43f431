using System.Buffers.Binary;
using System.IO.Compression;

namespace VitMlNet.Data;

/// <summary>
/// Readers for the dataset formats VitMlNet understands: IDX (MNIST, Fashion-MNIST), CIFAR-10 binary batches,
/// image folders (one subfolder per class) and CSV/TSV lists of <c>path,label</c>.
/// </summary>
/// <remarks>
/// <para>
/// Fixed-size formats (IDX, CIFAR-10) read straight into an <see cref="ImageDataset"/> (raw uint8 NCHW pixels);
/// call <see cref="ImageDataset.ToDataView"/> for the ML.NET view. File-based formats list files into an
/// <see cref="ImageFileSet"/>, whose <see cref="ImageFileSet.ToDataView"/> loads images lazily and whose
/// <see cref="ImageFileSet.ToDataset"/> runs them through <see cref="ImagePreprocessing"/> at a chosen size; <c>Read…</c> methods do both steps.
/// </para>
/// <para>
/// Every user-causable problem throws a <see cref="DatasetException"/> whose message names the file and states
/// expected and actual values. Nothing is skipped silently: bad image files are only left out when
/// <c>skipBadImages</c> is set, and are then listed in <c>SkippedFiles</c>.
/// </para>
/// </remarks>
public static partial class DatasetReaders
{
    /// <summary>The image file extensions the folder and CSV readers accept (case-insensitive).</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = Array.AsReadOnly(ImageCodec.Extensions);

    /// <summary>
    /// Loads one image file as an app hands it to a model zip (<see cref="Microsoft.ML.Data.MLImage.CreateFromFile"/>),
    /// after checking that the whole file decodes: SkiaSharp would otherwise return a truncated file's partial picture.
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <returns>The image; the caller owns it (ML.NET's image transforms dispose it).</returns>
    /// <exception cref="DatasetException">The file is missing, truncated or not an image; the message names it and says why.</exception>
    public static Microsoft.ML.Data.MLImage LoadImage(string path) => ImageCodec.LoadChecked(path);

    /// <summary>Total bytes for <paramref name="count"/> items of <paramref name="size"/> bytes, or a clear error when one array cannot hold them.</summary>
    internal static int CheckedTotal(long count, long size, string what)
    {
        long total = count * size;
        if (total > Array.MaxLength)
        {
            throw new DatasetException(
                $"{what}: {count} images of {size} bytes need {total} bytes, more than one array can hold ({Array.MaxLength}). Use fewer or smaller images.");
        }

        return (int)total;
    }

    /// <summary>Reads a whole file, decompressing it when it starts with the gzip magic bytes.</summary>
    internal static byte[] ReadAllBytesMaybeGzip(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new DatasetException(
                Directory.Exists(path) ? $"{what} '{path}' is a folder, not a file." : $"{what} '{path}' does not exist.", path);
        }

        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{what} '{path}' cannot be read: {e.Message}", path, e);
        }

        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        {
            return raw;
        }

        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            gzip.CopyTo(output);

            // GZipStream stops quietly at the end of a truncated file; the trailer's ISIZE (uncompressed length mod 2^32)
            // catches that. (A multi-member gzip would also differ here; the IDX and CIFAR distributions are single-member.)
            const int MinimumGzip = 18; // 10-byte header + 8-byte trailer
            if (raw.Length < MinimumGzip)
            {
                throw new DatasetException(
                    $"{what} '{path}' is gzip-compressed but truncated: {raw.Length} bytes, shorter than the smallest complete gzip file ({MinimumGzip} bytes).",
                    path);
            }

            uint recorded = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4));
            if (recorded != (uint)output.Length)
            {
                throw new DatasetException(
                    $"{what} '{path}' is gzip-compressed but truncated or corrupt: it decompresses to {output.Length} bytes, but its gzip trailer records {recorded}.",
                    path);
            }

            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"{what} '{path}' is gzip-compressed but corrupt: {e.Message}", path, e);
        }
    }

    internal static int ReadBigEndianInt32(byte[] data, int offset) =>
        BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset, 4));

    /// <summary>Checks a requested folder exists.</summary>
    internal static string RequireFolder(string folder, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DatasetException(
                File.Exists(folder) ? $"{what} '{folder}' is a file, not a folder." : $"{what} '{folder}' does not exist.", folder);
        }

        return Path.GetFullPath(folder);
    }

    /// <summary>
    /// One line per image file whose bytes equal those of a file of another class (the same image under two labels).
    /// Only files whose size matches a file of another class are read and hashed (SHA-256), so distinct data costs one
    /// size lookup per file. The same path twice is a list's business, not counted here; unreadable files are left to
    /// the decoder.
    /// </summary>
    internal static IEnumerable<string> DuplicateImageWarnings(IReadOnlyList<string> paths, IReadOnlyList<int> labels, string[] classNames)
    {
        var bySize = new Dictionary<long, List<int>>();
        for (int i = 0; i < paths.Count; i++)
        {
            long size;
            try
            {
                size = new FileInfo(paths[i]).Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (!bySize.TryGetValue(size, out var list)) bySize[size] = list = new List<int>();
            list.Add(i);
        }

        foreach (var group in bySize.Values.Where(g => g.Select(i => labels[i]).Distinct().Skip(1).Any()))
        {
            var byHash = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (int i in group)
            {
                string hash;
                try
                {
                    using var stream = File.OpenRead(paths[i]);
                    hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                if (!byHash.TryGetValue(hash, out int first))
                {
                    byHash.Add(hash, i);
                }
                else if (labels[first] != labels[i] && !string.Equals(paths[first], paths[i], StringComparison.Ordinal))
                {
                    yield return $"'{paths[i]}' (class '{classNames[labels[i]]}') is byte-identical to '{paths[first]}' (class '{classNames[labels[first]]}'): the same image is labelled twice.";
                }
            }
        }
    }
}
