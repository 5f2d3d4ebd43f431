using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VitMlNet.Modeling;

namespace VitMlNet.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header of
/// name → dtype, shape and byte offsets (plus an optional <c>__metadata__</c> string map), then the raw little-endian data.
/// </summary>
/// <remarks>
/// Written here rather than taken from TorchSharp.PyBridge 1.4.4, whose safetensors class is internal and whose writer
/// measures the header in characters instead of UTF-8 bytes and does not pad it; the format is a page of code.
/// F32, F16, BF16 and F64 tensors read as float32.
/// </remarks>
internal static class SafetensorsFile
{
    /// <summary>Whether <paramref name="path"/> starts like a safetensors file (a plausible header length, then '{').</summary>
    public static bool Looks(string path)
    {
        using var stream = IO.SafeFile.OpenRead(path, "checkpoint");
        Span<byte> head = stackalloc byte[9];
        if (stream.Read(head) < 9) return false;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return length > 1 && length < (ulong)stream.Length && head[8] == (byte)'{';
    }

    /// <summary>Most bytes of a safetensors header (the format's own limit is 100 MB).</summary>
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>Reads every tensor as float32, in header order, and the header's <c>__metadata__</c>.</summary>
    /// <exception cref="InvalidDataException">The file is malformed (each problem named with the file): a header that is
    /// not JSON, names a tensor twice, or gives a dtype, shape or offsets that do not fit the file.</exception>
    public static (Dictionary<string, TensorData> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        using var file = IO.SafeFile.OpenRead(path, "checkpoint");
        if (file.Length > int.MaxValue) throw new InvalidDataException($"'{path}' has {file.Length} bytes; safetensors files of at most 2 GiB are read.");
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        if (bytes.Length < 8) throw new InvalidDataException($"'{path}' is too short for a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8) || headerLength > MaxHeaderBytes)
            throw new InvalidDataException($"'{path}' is not a safetensors file (header length {headerLength} for a file of {bytes.Length} bytes).");
        long dataStart = 8 + (long)headerLength;
        long dataLength = bytes.Length - dataStart;
        var tensors = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{path}': the safetensors header is not a JSON object.");
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string name = property.Name;
                if (!names.Add(name)) throw new InvalidDataException($"'{path}': the safetensors header names '{name}' twice.");
                var entry = property.Value;
                if (name == "__metadata__")
                {
                    if (entry.ValueKind == JsonValueKind.Object)
                        foreach (var m in entry.EnumerateObject()) metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (entry.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{path}': tensor '{name}' has no header entry.");
                string dtype = entry.TryGetProperty("dtype", out var dt) && dt.ValueKind == JsonValueKind.String ? dt.GetString()!
                    : throw new InvalidDataException($"'{path}': tensor '{name}' has no dtype.");
                long[] shape = Longs(entry, "shape") ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no shape (an array of non-negative integers).");
                long[] offsets = Longs(entry, "data_offsets") ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no data offsets (two non-negative integers).");
                if (offsets.Length != 2 || offsets[0] > offsets[1] || offsets[1] > dataLength)
                    throw new InvalidDataException($"'{path}': tensor '{name}' has data offsets [{string.Join(", ", offsets)}] outside the file's {dataLength} data bytes.");
                long count = 1;
                foreach (long d in shape) count = d == 0 ? 0 : count <= dataLength / d ? count * d : long.MaxValue;
                if (count == long.MaxValue) throw new InvalidDataException($"'{path}': tensor '{name}' has shape [{string.Join(", ", shape)}], more values than the file holds.");
                ranges.Add((offsets[0], offsets[1], name));
                tensors[name] = new(Decode(bytes.AsSpan((int)(dataStart + offsets[0]), (int)(offsets[1] - offsets[0])), dtype, count, $"'{path}': tensor '{name}'"), shape);
            }
            ranges.Sort();
            for (int i = 1; i < ranges.Count; i++)
            {
                if (ranges[i].Begin < ranges[i - 1].End)
                    throw new InvalidDataException($"'{path}': tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap in the file.");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a safetensors file: its header is not JSON ({e.Message}).", e);
        }
        return (tensors, metadata);
    }

    /// <summary>An array of non-negative integers, or null.</summary>
    private static long[]? Longs(JsonElement entry, string property)
    {
        if (!entry.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array) return null;
        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0) return null;
            result[i++] = v;
        }
        return result;
    }

    /// <summary>Decodes <paramref name="count"/> little-endian values of a safetensors / PyTorch dtype to float32.</summary>
    internal static float[] Decode(ReadOnlySpan<byte> data, string dtype, long count, string what)
    {
        int size = dtype switch { "F32" => 4, "F16" or "BF16" => 2, "F64" => 8, _ => throw new InvalidDataException($"{what} has dtype {dtype}; float tensors (F32, F16, BF16, F64) are supported.") };
        if (data.Length != count * size) throw new InvalidDataException($"{what} has {data.Length} bytes, its shape needs {count * size}.");
        var result = new float[count];
        for (int i = 0; i < result.Length; i++)
        {
            var at = data.Slice(i * size, size);
            result[i] = dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(at),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(at),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(at) << 16),
                _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(at),
            };
        }
        return result;
    }

    /// <summary>Writes float32 tensors in the given order, with <paramref name="metadata"/> as the header's <c>__metadata__</c>; to a temporary name, then renamed.</summary>
    public static void Write(string path, IEnumerable<(string Name, float[] Data, long[] Shape)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (key, value) in metadata) meta[key] = value;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, data, shape) in list)
        {
            long length = (long)data.Length * 4;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)JsonValue.Create(d)!).ToArray()),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + length)),
            };
            offset += length;
        }
        var text = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (text.Length + 7) / 8 * 8;
        string temp = path + ".tmp";
        using (var file = File.Create(temp))
        {
            Span<byte> length8 = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length8, (ulong)padded);
            file.Write(length8);
            file.Write(text);
            for (int i = text.Length; i < padded; i++) file.WriteByte((byte)' ');
            foreach (var (_, data, _) in list)
            {
                var raw = new byte[data.Length * 4];
                for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), data[i]);
                file.Write(raw);
            }
        }
        File.Move(temp, path, overwrite: true);
    }
}
