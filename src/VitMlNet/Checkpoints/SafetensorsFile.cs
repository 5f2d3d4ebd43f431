using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

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
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        if (stream.Read(head) < 9) return false;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return length > 1 && length < (ulong)stream.Length && head[8] == (byte)'{';
    }

    /// <summary>Reads every tensor as float32, in header order, and the header's <c>__metadata__</c>.</summary>
    public static (Dictionary<string, (float[] Data, long[] Shape)> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"'{path}' is too short for a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"'{path}' is not a safetensors file (header length {headerLength}).");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength))?.AsObject()
                ?? throw new InvalidDataException($"'{path}' has an empty safetensors header.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a safetensors file: {e.Message}", e);
        }
        long dataStart = 8 + (long)headerLength;
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (key, value) in meta) metadata[key] = value?.ToString() ?? "";
                continue;
            }
            var entry = node?.AsObject() ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no header entry.");
            string dtype = entry["dtype"]?.GetValue<string>() ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no dtype.");
            long[] shape = entry["shape"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray() ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no shape.");
            long[] offsets = entry["data_offsets"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray() ?? throw new InvalidDataException($"'{path}': tensor '{name}' has no data offsets.");
            long count = shape.Aggregate(1L, (a, b) => a * b);
            long begin = dataStart + offsets[0], end = dataStart + offsets[1];
            if (offsets.Length != 2 || begin > end || end > bytes.Length)
                throw new InvalidDataException($"'{path}': tensor '{name}' has data offsets outside the file.");
            tensors[name] = (Decode(bytes.AsSpan((int)begin, (int)(end - begin)), dtype, count, $"'{path}': tensor '{name}'"), shape);
        }
        return (tensors, metadata);
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
