using System.Text.Json;

namespace VitMlNet.Scoring;

/// <summary>
/// What a VitMlNet model zip is (class names, input size, architecture), read by <see cref="Inspect(string)"/> without
/// loading it into ML.NET and without TorchSharp: the zip's ONNX model carries VitMlNet's metadata, which
/// <see cref="Inspect(string)"/> finds and parses.
/// </summary>
/// <remarks>
/// ML.NET's <c>OnnxTransformer</c> stores the ONNX model bytes as one zip entry (after a length prefix); the zip is
/// checked and that entry found by the same rule as every VitMlNet command (see <c>ModelZipLayout</c>), and the graph's
/// SHA-256 compared with the one recorded at save.
/// </remarks>
/// <param name="ClassNames">Class names in class-index order (the <c>Score</c> column's slot names).</param>
/// <param name="Channels">Image channels the model reads: 1 (gray) or 3 (RGB).</param>
/// <param name="ImageHeight">Input height in pixels the model resizes images to.</param>
/// <param name="ImageWidth">Input width in pixels the model resizes images to.</param>
/// <param name="ArchitectureName">The architecture's name (a preset name such as <c>seed</c>, or <c>custom</c>).</param>
/// <param name="ConfigJson">The full architecture as JSON (VitMlNet's <c>ViTConfig</c>).</param>
/// <param name="Metadata">Every metadata entry of the embedded ONNX model.</param>
/// <param name="OnnxModelBytes">Size of the embedded ONNX model in bytes.</param>
public sealed record VisionTransformerModelZip(
    IReadOnlyList<string> ClassNames,
    int Channels,
    int ImageHeight,
    int ImageWidth,
    string ArchitectureName,
    string ConfigJson,
    IReadOnlyDictionary<string, string> Metadata,
    long OnnxModelBytes)
{
    /// <summary>The ONNX metadata key of the architecture JSON.</summary>
    public const string ConfigKey = ModelZipKeys.Config;

    /// <summary>The ONNX metadata key of the class-name JSON array.</summary>
    public const string ClassesKey = ModelZipKeys.Classes;

    /// <summary>Reads a model zip file.</summary>
    /// <param name="path">Path of a zip written by <c>vit train</c> or <c>MLContext.Model.Save</c> with a VitMlNet model.</param>
    /// <returns>The class names, input size and architecture.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a zip laid out as a VitMlNet model zip, its graph's SHA-256
    /// differs from the one recorded at save, or it holds no VitMlNet ONNX model.</exception>
    public static VisionTransformerModelZip Inspect(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenRead(path);
        return Inspect(file, path);
    }

    /// <summary>Reads a model zip from a readable, seekable stream.</summary>
    /// <param name="zip">The zip's bytes.</param>
    /// <returns>The class names, input size and architecture.</returns>
    /// <exception cref="InvalidDataException">See <see cref="Inspect(string)"/>.</exception>
    public static VisionTransformerModelZip Inspect(Stream zip) => Inspect(zip, zip is FileStream file ? file.Name : "the zip");

    private static VisionTransformerModelZip Inspect(Stream zip, string name)
    {
        ArgumentNullException.ThrowIfNull(zip);
        var (model, chainHash) = ModelZipLayout.ReadGraph(zip, name);
        var metadata = TryReadMetadata(model);
        if (metadata is null || !metadata.ContainsKey(ConfigKey))
            throw new InvalidDataException($"'{name}' holds an ONNX graph not written by VitMlNet (no '{ConfigKey}' metadata).");
        ModelZipLayout.CheckHash(model, chainHash, name, requireHashes: false);
        return Describe(metadata, model.Length);
    }

    /// <summary>Whether a file is a zip holding a VitMlNet ONNX model.</summary>
    /// <param name="path">The file to check.</param>
    /// <returns>True when <see cref="Inspect(string)"/> would succeed.</returns>
    public static bool IsVitModelZip(string path)
    {
        try
        {
            Inspect(path);
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static VisionTransformerModelZip Describe(Dictionary<string, string> metadata, long onnxBytes)
    {
        string configJson = metadata[ConfigKey];
        try
        {
            using var config = JsonDocument.Parse(configJson);
            var root = config.RootElement;
            int Int(string name, int fallback) => root.TryGetProperty(name, out var v) && v.TryGetInt32(out int i) ? i : fallback;
            string name = root.TryGetProperty("Name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "custom";
            string[] classes = metadata.TryGetValue(ClassesKey, out var classJson)
                ? JsonSerializer.Deserialize<string[]>(classJson) ?? []
                : Enumerable.Range(0, Int("NumClasses", 0)).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            return new VisionTransformerModelZip(classes, Int("Channels", 3), Int("ImageHeight", 0), Int("ImageWidth", 0), name,
                configJson, metadata, onnxBytes);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The zip's VitMlNet metadata is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Walks the top-level fields of a serialized ONNX <c>ModelProto</c> and collects its <c>metadata_props</c>
    /// (field 14: key = 1, value = 2). Returns null when the bytes are not a well-formed protobuf message.
    /// </summary>
    private static Dictionary<string, string>? TryReadMetadata(ReadOnlySpan<byte> bytes)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        int pos = 0;
        while (pos < bytes.Length)
        {
            if (!ModelZipLayout.TryNextField(bytes, ref pos, out int field, out int wire, out int payloadStart, out int payloadLength)) return null;
            if (field != 14 || wire != 2) continue;
            if (!ModelZipLayout.TryEntry(bytes.Slice(payloadStart, payloadLength), out string key, out string value)) return null;
            metadata[key] = value;
        }
        return metadata;
    }
}
