namespace VitMlNet.Scoring;

/// <summary>
/// The ONNX metadata keys a VitMlNet model zip is written and read by, defined once for both assemblies: the writer
/// (VitMlNet's <c>ViTOnnxWriter</c>, called by <c>ModelZip/ScoringChain</c>), the readers (<c>ModelZip/ModelZipFile</c>,
/// <c>ViTOnnxReader</c>, <see cref="VisionTransformerModelZip"/>, <see cref="ModelZipLayout"/>) and the safetensors
/// export. The zip's one input column is <see cref="ModelInput.ImageColumnName"/>.
/// </summary>
internal static class ModelZipKeys
{
    /// <summary>The architecture (VitMlNet's <c>ViTConfig</c>) as JSON; its presence marks a graph written by VitMlNet.</summary>
    public const string Config = "vitmlnet.config";

    /// <summary>The class names as a JSON array of strings, in class-index order.</summary>
    public const string Classes = "vitmlnet.classes";

    /// <summary>The export options the graph was written with (input layout, pixel scale, precision, test-time views), as JSON.</summary>
    public const string Export = "vitmlnet.export";

    /// <summary>The version of the weight layout in the graph.</summary>
    public const string Format = "vitmlnet.format";

    /// <summary>The model's SHA-256 (hex, lower case) over the serialized model without this entry; the last entry.</summary>
    public const string Hash = "vitmlnet.sha256";
}
