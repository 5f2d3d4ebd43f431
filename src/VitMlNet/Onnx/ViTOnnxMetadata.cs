using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using VitMlNet.Modeling;

namespace VitMlNet.Onnx;

/// <summary>Keys of the <c>metadata_props</c> that <see cref="ViTOnnxWriter"/> stores in the ONNX model.</summary>
internal static class ViTOnnxMetadata
{
    /// <summary>The <see cref="ViTConfig"/> as JSON.</summary>
    public const string ConfigKey = "vitmlnet.config";

    /// <summary>The class names as a JSON array of strings, in class-index order.</summary>
    public const string ClassesKey = "vitmlnet.classes";

    /// <summary>The <see cref="ViTOnnxExportOptions"/> the graph was written with, as JSON.</summary>
    public const string ExportKey = "vitmlnet.export";

    /// <summary>Version of the weight layout in the graph (see <see cref="FormatVersion"/>).</summary>
    public const string FormatKey = "vitmlnet.format";

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

    /// <summary>Suffix of the per-output-column float scales of a quantized weight.</summary>
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

    /// <summary>Serializes a configuration to the JSON stored under <see cref="ConfigKey"/>.</summary>
    public static string SerializeConfig(ViTConfig config) => JsonSerializer.Serialize(config, Json);

    /// <summary>Parses the JSON stored under <see cref="ConfigKey"/>.</summary>
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
