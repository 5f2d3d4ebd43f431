using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace VitMlNet.Scoring;

/// <summary>
/// The one rule by which every reader of a VitMlNet model zip (the CLI, the training library, the scoring package)
/// finds the ONNX graph: the zip's entries are checked from the central directory before anything is inflated, and
/// the graph is the single <c>OnnxModel</c> entry of ML.NET's transformer chain, the one ML.NET's
/// <c>OnnxTransformer</c> loads and scores.
/// </summary>
/// <remarks>
/// Checked before inflating: at most <see cref="MaxEntries"/> entries; names unique, relative, made of letters,
/// digits, <c>_</c> and <c>.</c>; every entry inside ML.NET's layout (<c>TrainingInfo/Version.txt</c>, <c>Schema</c>,
/// <c>TransformerChain/…</c>); entries other than the graph at most <see cref="MaxSmallEntryBytes"/> each and
/// <see cref="MaxSmallEntriesBytes"/> together; exactly one graph, at most <see cref="MaxGraphBytes"/> and at most
/// <see cref="MaxGraphCompressionRatio"/> times its compressed size (float weights barely compress; a graph that
/// inflates 30-fold is not weights). While reading, an entry that inflates past its declared size is refused.
/// The graph's SHA-256 (<see cref="ModelZipKeys.Hash"/>) is recorded twice at save: in the ONNX model's metadata, over the
/// serialized model without that entry, and outside the graph, in the chain, as the name of a column the chain's
/// last transform drops (<see cref="ChainHashPrefix"/>), so a graph swapped for another VitMlNet graph is refused too.
/// </remarks>
internal static class ModelZipLayout
{
    /// <summary>Most entries a model zip may have (a VitMlNet chain has 14).</summary>
    public const int MaxEntries = 256;

    /// <summary>Most bytes of one entry other than the graph (ML.NET's <c>Model.key</c>, <c>LabelNames</c>, <c>TrainSchema</c>).</summary>
    public const long MaxSmallEntryBytes = 16L << 20;

    /// <summary>Most bytes of all entries other than the graph together.</summary>
    public const long MaxSmallEntriesBytes = 64L << 20;

    /// <summary>Most bytes of the graph entry (protobuf's limit for one message).</summary>
    public const long MaxGraphBytes = int.MaxValue;

    /// <summary>Largest inflated/compressed ratio of a graph entry over 1 MiB.</summary>
    public const int MaxGraphCompressionRatio = 20;

    /// <summary>The prefix of the chain's record of the graph's SHA-256: a column name the chain drops.</summary>
    public const string ChainHashPrefix = "__vit_graph_sha256_";

    private const string GraphLeaf = "OnnxModel";
    private const string ChainFolder = "TransformerChain/";

    /// <summary>The zip's checked entries: the graph (null when the chain has none) and the rest.</summary>
    public sealed record Layout(ZipArchiveEntry? Graph, IReadOnlyList<ZipArchiveEntry> Others);

    /// <summary>Checks the entries of <paramref name="archive"/> from its central directory (nothing is inflated).</summary>
    /// <param name="archive">The open archive.</param>
    /// <param name="name">The zip's name for messages.</param>
    /// <returns>The graph entry (null when there is none) and the others.</returns>
    /// <exception cref="InvalidDataException">The zip is not laid out as an ML.NET model zip with at most one ONNX graph.</exception>
    public static Layout Check(ZipArchive archive, string name)
    {
        var entries = archive.Entries;
        if (entries.Count > MaxEntries)
            throw new InvalidDataException($"'{name}' has {entries.Count} zip entries; a model zip has at most {MaxEntries}.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var graphs = new List<ZipArchiveEntry>();
        var others = new List<ZipArchiveEntry>();
        long small = 0;
        foreach (var entry in entries)
        {
            string entryName = entry.FullName;
            if (!seen.Add(entryName))
                throw new InvalidDataException($"'{name}' lists the zip entry '{Shown(entryName)}' twice; a model zip names each entry once.");
            if (!WellFormed(entryName) || !(entryName == "TrainingInfo/Version.txt" || entryName == "Schema" || entryName.StartsWith(ChainFolder, StringComparison.Ordinal)))
                throw new InvalidDataException($"'{name}' holds the unexpected zip entry '{Shown(entryName)}'; a model zip holds ML.NET's TrainingInfo/Version.txt, Schema and TransformerChain/ entries only.");
            if (entryName.StartsWith(ChainFolder, StringComparison.Ordinal) && entryName.EndsWith("/" + GraphLeaf, StringComparison.Ordinal))
            {
                graphs.Add(entry);
                continue;
            }
            if (entry.Length > MaxSmallEntryBytes)
                throw new InvalidDataException($"'{name}': zip entry '{entryName}' declares {entry.Length} bytes; at most {MaxSmallEntryBytes} are expected there.");
            small += entry.Length;
            if (small > MaxSmallEntriesBytes)
                throw new InvalidDataException($"'{name}': the zip entries besides the ONNX graph declare more than {MaxSmallEntriesBytes} bytes together.");
            others.Add(entry);
        }
        if (graphs.Count > 1)
            throw new InvalidDataException($"'{name}' holds {graphs.Count} ONNX graphs ({string.Join(", ", graphs.Select(g => g.FullName))}); a VitMlNet model zip holds one.");
        if (graphs.Count == 0) return new Layout(null, others);
        var graph = graphs[0];
        if (graph.Length < 16 || graph.Length > MaxGraphBytes)
            throw new InvalidDataException($"'{name}': the ONNX graph entry declares {graph.Length} bytes; expected 16 to {MaxGraphBytes}.");
        if (graph.Length > (1L << 20) && graph.Length > (long)MaxGraphCompressionRatio * Math.Max(graph.CompressedLength, 1))
            throw new InvalidDataException(
                $"'{name}': the ONNX graph entry declares {graph.Length} bytes from {graph.CompressedLength} compressed ({graph.Length / Math.Max(graph.CompressedLength, 1)}x); weights compress less than {MaxGraphCompressionRatio}x.");
        return new Layout(graph, others);
    }

    /// <summary>Reads an entry whole, refusing one that inflates to more or fewer bytes than it declares.</summary>
    /// <param name="entry">A checked entry.</param>
    /// <param name="name">The zip's name for messages.</param>
    /// <returns>The entry's bytes.</returns>
    public static byte[] ReadEntry(ZipArchiveEntry entry, string name)
    {
        var bytes = new byte[checked((int)entry.Length)];
        using var stream = entry.Open();
        int read = 0;
        while (read < bytes.Length)
        {
            int n = stream.Read(bytes, read, bytes.Length - read);
            if (n == 0) break;
            read += n;
        }
        if (read != bytes.Length || stream.ReadByte() >= 0)
            throw new InvalidDataException($"'{name}' is corrupt: zip entry '{entry.FullName}' does not inflate to the {entry.Length} bytes it declares.");
        return bytes;
    }

    /// <summary>The ONNX model in ML.NET's graph entry: the bytes after its 4-byte length prefix.</summary>
    /// <param name="entryBytes">The entry's bytes.</param>
    /// <param name="name">The zip's name for messages.</param>
    /// <returns>The offset where the model starts (4).</returns>
    public static int GraphOffset(byte[] entryBytes, string name)
    {
        if (entryBytes.Length < 8 || BinaryPrimitives.ReadInt32LittleEndian(entryBytes) != entryBytes.Length - 4)
            throw new InvalidDataException($"'{name}': the ONNX graph entry does not start with ML.NET's length prefix of its {entryBytes.Length - 4} bytes.");
        return 4;
    }

    /// <summary>Opens a zip stream, checks it and returns the graph's bytes (ML.NET's length prefix removed) with the chain's recorded hash.</summary>
    /// <param name="zip">A readable, seekable stream (left open, position restored).</param>
    /// <param name="name">The zip's name for messages.</param>
    /// <returns>The serialized ONNX model and the SHA-256 the chain records (null when it records none).</returns>
    public static (byte[] Model, string? ChainHash) ReadGraph(Stream zip, string name)
    {
        ArgumentNullException.ThrowIfNull(zip);
        long start = zip.CanSeek ? zip.Position : 0;
        try
        {
            using var archive = Open(zip, name);
            var layout = Check(archive, name);
            string? chainHash = null;
            foreach (var entry in layout.Others)
            {
                if (!entry.FullName.EndsWith("/Model.key", StringComparison.Ordinal)) continue;
                var found = FindChainHash(ReadEntry(entry, name));
                if (found is null) continue;
                if (chainHash is not null && chainHash != found)
                    throw new InvalidDataException($"'{name}' records two different graph hashes in its chain.");
                chainHash = found;
            }
            var bytes = ReadEntry(layout.Graph ?? throw new InvalidDataException($"'{name}' holds no ONNX graph (no TransformerChain/.../{GraphLeaf} entry): not a VitMlNet model zip."), name);
            int offset = GraphOffset(bytes, name);
            return (bytes.AsSpan(offset).ToArray(), chainHash);
        }
        finally
        {
            if (zip.CanSeek) zip.Position = start;
        }
    }

    /// <summary>Opens a zip archive for reading; a stream that is no zip is an <see cref="InvalidDataException"/> naming it.</summary>
    public static ZipArchive Open(Stream zip, string name)
    {
        try
        {
            return new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{name}' is corrupt or not a complete zip archive: {e.Message}", e);
        }
    }

    /// <summary>
    /// The SHA-256 of a serialized ONNX model without its <see cref="ModelZipKeys.Hash"/> metadata entry (the bytes of every other
    /// top-level field, in file order), and the value that entry records (null when there is none).
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a protobuf message, or record the hash twice.</exception>
    public static (string Actual, string? Recorded) ModelHash(ReadOnlySpan<byte> model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        string? recorded = null;
        int pos = 0;
        while (pos < model.Length)
        {
            int fieldStart = pos;
            if (!TryNextField(model, ref pos, out int field, out int wire, out int payloadStart, out int payloadLength))
                throw new InvalidDataException("the ONNX model is not a well-formed protobuf message.");
            if (field == 14 && wire == 2 && TryEntry(model.Slice(payloadStart, payloadLength), out var key, out var value) && key == ModelZipKeys.Hash)
            {
                if (recorded is not null) throw new InvalidDataException($"the ONNX model records '{ModelZipKeys.Hash}' twice.");
                recorded = value;
                continue;
            }
            hash.AppendData(model[fieldStart..pos]);
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), recorded);
    }

    /// <summary>The hash a chain's <c>Model.key</c> records (<see cref="ChainHashPrefix"/> and 64 hex digits, UTF-8 or UTF-16), or null.</summary>
    internal static string? FindChainHash(byte[] modelKey)
    {
        foreach (var encoding in new Encoding[] { Encoding.UTF8, Encoding.Unicode })
        {
            byte[] prefix = encoding.GetBytes(ChainHashPrefix);
            int at = modelKey.AsSpan().IndexOf(prefix);
            if (at < 0) continue;
            int width = encoding.GetByteCount("0");
            int start = at + prefix.Length;
            if (start + 64 * width > modelKey.Length) continue;
            string hex = encoding.GetString(modelKey, start, 64 * width);
            if (hex.All(char.IsAsciiHexDigitLower)) return hex;
        }
        return null;
    }

    /// <summary>Checks the recorded hashes of a model read from a zip against its bytes.</summary>
    /// <param name="model">The serialized ONNX model.</param>
    /// <param name="chainHash">The hash the zip's chain records, or null.</param>
    /// <param name="name">The zip's name for messages.</param>
    /// <param name="requireHashes">Whether both records must be present: a zip saved by this version's trainer has
    /// them; zips saved before the hash existed, and pipelines a user built around a VitMlNet graph with
    /// <c>ApplyOnnxModel</c>, lack them. A record that is present must match either way.</param>
    /// <exception cref="InvalidDataException">A required hash is missing, or a recorded one differs.</exception>
    public static void CheckHash(ReadOnlySpan<byte> model, string? chainHash, string name, bool requireHashes)
    {
        var (actual, recorded) = ModelHash(model);
        if (recorded is null && requireHashes)
            throw new InvalidDataException($"'{name}': its ONNX graph records no SHA-256 ('{ModelZipKeys.Hash}'): it was not saved by this VitMlNet version, or was altered; re-save it from its training run.");
        if (recorded is not null && !string.Equals(recorded, actual, StringComparison.Ordinal))
            throw new InvalidDataException($"'{name}': its ONNX graph was altered: SHA-256 {actual[..16]}..., recorded at save {Shown(recorded, 16)}...");
        if (chainHash is null && requireHashes)
            throw new InvalidDataException($"'{name}': its ML.NET chain records no graph SHA-256; it was not saved by this VitMlNet version, or its graph was replaced.");
        if (chainHash is not null && !string.Equals(chainHash, actual, StringComparison.Ordinal))
            throw new InvalidDataException($"'{name}': its ONNX graph was replaced: SHA-256 {actual[..16]}..., the chain saved with {chainHash[..16]}...");
    }

    private static bool WellFormed(string entryName)
    {
        if (entryName.Length is 0 or > 512 || entryName[0] == '/' || entryName[^1] == '/') return false;
        foreach (var segment in entryName.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..") return false;
            foreach (char ch in segment)
            {
                if (!(char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '-')) return false;
            }
        }
        return true;
    }

    private static string Shown(string text, int max = 80)
    {
        var clean = new string(text.Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());
        return clean.Length <= max ? clean : clean[..max];
    }

    /// <summary>
    /// Steps over one top-level protobuf field at <paramref name="pos"/>: its number, wire type and, for a
    /// length-delimited field (wire type 2), where its payload lies. False when the bytes are not a well-formed field.
    /// </summary>
    internal static bool TryNextField(ReadOnlySpan<byte> bytes, ref int pos, out int field, out int wire, out int payloadStart, out int payloadLength)
    {
        field = wire = payloadLength = 0;
        payloadStart = pos;
        if (!TryVarint(bytes, ref pos, out ulong tag) || (tag >> 3) == 0) return false;
        field = (int)(tag >> 3);
        wire = (int)(tag & 7);
        switch (wire)
        {
            case 0:
                if (!TryVarint(bytes, ref pos, out _)) return false;
                break;
            case 1:
                pos += 8;
                break;
            case 5:
                pos += 4;
                break;
            case 2:
                if (!TryVarint(bytes, ref pos, out ulong length) || length > (ulong)(bytes.Length - pos)) return false;
                payloadStart = pos;
                payloadLength = (int)length;
                pos += (int)length;
                break;
            default:
                return false;
        }
        return pos <= bytes.Length;
    }

    /// <summary>One ONNX metadata entry (a StringStringEntryProto): its key and value, or false when malformed.</summary>
    internal static bool TryEntry(ReadOnlySpan<byte> entry, out string key, out string value)
    {
        key = "";
        value = "";
        int pos = 0;
        while (pos < entry.Length)
        {
            if (!TryVarint(entry, ref pos, out ulong tag) || (tag & 7) != 2) return false;
            if (!TryVarint(entry, ref pos, out ulong length) || length > (ulong)(entry.Length - pos)) return false;
            string text = Encoding.UTF8.GetString(entry.Slice(pos, (int)length));
            pos += (int)length;
            if ((tag >> 3) == 1) key = text;
            else if ((tag >> 3) == 2) value = text;
        }
        return true;
    }

    internal static bool TryVarint(ReadOnlySpan<byte> bytes, ref int pos, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= bytes.Length) return false;
            byte b = bytes[pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }
}
