using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using VitMlNet.Modeling;
using VitMlNet.Scoring;

namespace VitMlNet.Onnx;

/// <summary>
/// The values of the <c>metadata_props</c> that <see cref="ViTOnnxWriter"/> stores in the ONNX model (their keys are
/// <see cref="ModelZipKeys"/>, shared with the scoring package) and the weight layout's naming rules.
/// </summary>
internal static class ViTOnnxMetadata
{
    /// <summary>
    /// The current weight layout: initializers are named like the state dict; Linear weights are stored transposed
    /// ([in, out]) under the state-dict name plus <see cref="TransposedSuffix"/>; each <c>to_qkv.weight</c> is stored as
    /// three per-head tensors [heads, dim, dim_head] under its name plus <see cref="QkvSuffixes"/>.
    /// </summary>
    public const string FormatVersion = "1";

    /// <summary>Suffix of initializers that hold a transposed Linear weight.</summary>
    public const string TransposedSuffix = ".T";

    /// <summary>Suffixes of the q, k and v parts of an attention's <c>to_qkv.weight</c>, each stored [heads, dim, dim_head].</summary>
    public static IReadOnlyList<string> QkvSuffixes { get; } = [".q_heads", ".k_heads", ".v_heads"];

    /// <summary>Suffixes of the q, k and v parts of a qkv bias (<see cref="Modeling.ViTConfig.QkvBias"/>), each stored as [heads, 1, dim_head].</summary>
    public static IReadOnlyList<string> QkvBiasSuffixes { get; } = [".q", ".k", ".v"];

    /// <summary>Suffix of the int8 values of a quantized weight (see <see cref="ViTOnnxWeightPrecision.DynamicInt8"/>).</summary>
    public const string Int8Suffix = ".int8";

    /// <summary>Suffix of the int32 values of a quantized bias (a ResNet18 stem's static int8 convolutions).</summary>
    public const string Int32Suffix = ".int32";

    /// <summary>Suffix of the float scales of a quantized weight: one per output column (Linear), or per output channel (a stem convolution's weight and bias).</summary>
    public const string ScaleSuffix = ".scale";

    /// <summary>The producer name written into the model.</summary>
    public const string ProducerName = "VitMlNet";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter() },
        // Computed properties (NumPatches, PatchDim, ...) are not state: write and read only settable ones.
        TypeInfoResolver = new DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                info =>
                {
                    if (info.Kind != JsonTypeInfoKind.Object) return;
                    for (int i = info.Properties.Count - 1; i >= 0; i--)
                    {
                        if (info.Properties[i].Set is null) info.Properties.RemoveAt(i);
                    }
                },
            },
        },
    };

    /// <summary>Records the model's SHA-256 under <see cref="ModelZipKeys.Hash"/> (replacing an earlier record); call it last, after every other change.</summary>
    /// <param name="model">The model to seal.</param>
    /// <returns>The hash (lower-case hex).</returns>
    public static string Seal(global::Onnx.ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        for (int i = model.MetadataProps.Count - 1; i >= 0; i--)
        {
            if (model.MetadataProps[i].Key == ModelZipKeys.Hash) model.MetadataProps.RemoveAt(i);
        }
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using (var sink = new HashingStream(hash)) Google.Protobuf.MessageExtensions.WriteTo(model, sink);
        string hex = Convert.ToHexStringLower(hash.GetHashAndReset());
        model.MetadataProps.Add(new global::Onnx.StringStringEntryProto { Key = ModelZipKeys.Hash, Value = hex });
        return hex;
    }

    /// <summary>A write-only stream that feeds an incremental hash (so a large model is hashed without a copy).</summary>
    private sealed class HashingStream(System.Security.Cryptography.IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => hash.AppendData(buffer);
    }

    /// <summary>Serializes a configuration to the JSON stored under <see cref="ModelZipKeys.Config"/>.</summary>
    public static string SerializeConfig(ViTConfig config) => JsonSerializer.Serialize(config, Json);

    /// <summary>Parses the JSON stored under <see cref="ModelZipKeys.Config"/>.</summary>
    /// <exception cref="InvalidDataException">The JSON is not a configuration.</exception>
    public static ViTConfig DeserializeConfig(string json) =>
        Parse<ViTConfig>(json, "The stored ViT configuration is null.", "The stored ViT configuration is not valid JSON");

    internal static string SerializeClasses(IReadOnlyList<string> classes) => JsonSerializer.Serialize(classes, Json);

    internal static string[] DeserializeClasses(string json) =>
        Parse<string[]>(json, "The stored class names are null.", "The stored class names are not a JSON array of strings");

    /// <summary>Parses stored JSON, throwing an <see cref="InvalidDataException"/> for null or invalid JSON.</summary>
    private static T Parse<T>(string json, string nullMessage, string invalidMessage)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidDataException(nullMessage);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{invalidMessage}: {e.Message}", e);
        }
    }

    internal static string SerializeExport(ViTOnnxExportOptions options) => JsonSerializer.Serialize(options, Json);

    internal static ViTOnnxExportOptions? DeserializeExport(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try
        {
            return JsonSerializer.Deserialize<ViTOnnxExportOptions>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
