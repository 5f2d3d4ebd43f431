namespace VitMlNet.Onnx;

/// <summary>Shape of the ONNX graph's pixel input.</summary>
internal enum ViTOnnxInputLayout
{
    /// <summary>An image batch [N, C, H, W], the usual layout of vision models in any ONNX runtime.</summary>
    Nchw,

    /// <summary>
    /// One flat vector per image [N, C·H·W] in channel-major (C, H, W) order: the layout of the float vector column
    /// that ML.NET's <c>ExtractPixels</c> produces (with its default interleave = false). The graph reshapes it.
    /// </summary>
    Flat,
}

/// <summary>Element type of the optional predicted-index output.</summary>
internal enum ViTOnnxIndexType
{
    /// <summary>64-bit signed integers, what ONNX's ArgMax returns.</summary>
    Int64,

    /// <summary>32-bit unsigned integers (a Cast after ArgMax), the raw type of ML.NET key columns.</summary>
    UInt32,
}

/// <summary>Numeric precision of the encoder's matrix products in the exported graph.</summary>
public enum ViTOnnxWeightPrecision
{
    /// <summary>32-bit floats: the graph computes exactly what TorchSharp computes (within float rounding).</summary>
    Float32,
    /// <summary>
    /// Dynamic int8 quantization of the encoder blocks' Linear layers (q/k/v, output projection, MLP): weights are
    /// stored as symmetric int8 with one float scale per output column, activations are quantized to uint8 per tensor
    /// at run time (DynamicQuantizeLinear → MatMulInteger, which ONNX Runtime runs with its integer kernels: VNNI where the CPU has
    /// it, AVX2 otherwise).
    /// Faster and 4× smaller weights, at a small accuracy cost; tokens, norms, attention softmax and the head stay float.
    /// The stem stays float too, except a ResNet18 stem with calibrated <see cref="ViTOnnxExportOptions.StemActivationRanges"/>
    /// (what training with this precision writes): its convolutions are then statically quantized (QuantizeLinear →
    /// DequantizeLinear around each Conv, int8 weights per output channel, uint8 activations), which ONNX Runtime fuses
    /// into QLinearConv. Weights read back from such a graph are the dequantized values.
    /// </summary>
    DynamicInt8,
}

/// <summary>
/// How <see cref="ViTOnnxWriter"/> shapes the ONNX graph's input and outputs. The weights and the architecture
/// come from the model; these options choose names, the input layout, the pixel scale, the precision and flip averaging.
/// </summary>
internal sealed class ViTOnnxExportOptions
{
    /// <summary>Name of the graph input. The default is "pixels".</summary>
    public string InputName { get; set; } = "pixels";

    /// <summary>Shape of the graph input. The default is <see cref="ViTOnnxInputLayout.Nchw"/>; ML.NET pipelines use <see cref="ViTOnnxInputLayout.Flat"/>.</summary>
    public ViTOnnxInputLayout InputLayout { get; set; } = ViTOnnxInputLayout.Nchw;

    /// <summary>
    /// Factor that brings input values to [0, 1] before the configuration's per-channel mean and standard deviation
    /// are applied inside the graph. The default is 1/255: inputs are raw 0..255 pixel values, as ML.NET's
    /// <c>ExtractPixels</c> gives them by default. Use 1 for inputs already scaled to [0, 1].
    /// </summary>
    public float PixelScale { get; set; } = 1f / 255f;

    /// <summary>Name of the class-logits output [N, classes], or null to omit it. The default is "logits".</summary>
    public string? LogitsOutputName { get; set; } = "logits";

    /// <summary>Name of the softmax-probabilities output [N, classes], or null to omit it. The default is "probabilities".</summary>
    public string? ProbabilitiesOutputName { get; set; } = "probabilities";

    /// <summary>Name of the pooled-embedding output [N, dim], or null to omit it. The default is null.</summary>
    public string? FeaturesOutputName { get; set; }

    /// <summary>Name of the arg-max class-index output [N], or null to omit it. The default is null.</summary>
    public string? PredictedIndexOutputName { get; set; }

    /// <summary>
    /// Name of the predicted-class-name output [N] (a string tensor: the class names are stored in the graph), or null
    /// to omit it. The default is null.
    /// </summary>
    public string? PredictedLabelOutputName { get; set; }

    /// <summary>
    /// Test-time flip averaging: the graph scores each image and its left-right mirror as one batch and averages the two
    /// logits (and embeddings). For models trained with horizontal-flip augmentation it usually adds a few tenths of a
    /// point of accuracy, at twice the scoring work. The default is false.
    /// </summary>
    public bool FlipAverage { get; set; }

    /// <summary>
    /// Test-time shift averaging: the graph also scores each image moved by one pixel up, down, left and right (the
    /// uncovered row or column is zero, as in training's random crop with padding) and averages the logits (and
    /// embeddings) of the five views; with <see cref="FlipAverage"/>, of ten (each view and its mirror). For models
    /// trained with random crops. It costs five times the scoring work. The default is false.
    /// </summary>
    public bool ShiftAverage { get; set; }

    /// <summary>Precision of the encoder's matrix products. The default is <see cref="ViTOnnxWeightPrecision.Float32"/>.</summary>
    public ViTOnnxWeightPrecision WeightPrecision { get; set; } = ViTOnnxWeightPrecision.Float32;

    /// <summary>
    /// The calibrated range [min, max] of each activation that a ResNet18 stem's static int8 convolutions quantize, by
    /// key (<c>stem.backbone.input</c>, then each convolution's or block's name), as <see cref="StemQuantization.Calibrate"/>
    /// measures them on training images; or null. With <see cref="ViTOnnxWeightPrecision.DynamicInt8"/> and a ResNet18
    /// stem, ranges make the stem int8; without them it stays float. Other precisions and stems ignore them. The default is null.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, float[]>? StemActivationRanges { get; set; }

    /// <summary>Element type of the predicted-index output. The default is <see cref="ViTOnnxIndexType.Int64"/>.</summary>
    public ViTOnnxIndexType PredictedIndexType { get; set; } = ViTOnnxIndexType.Int64;

    /// <summary>
    /// With class-token pooling, compute the last block only for the prefix tokens (exact; for benchmarks that
    /// compare against the plain graph).
    /// </summary>
    internal bool PrefixOnlyLastBlock { get; set; } = true;

    /// <summary>Returns a copy of these options.</summary>
    public ViTOnnxExportOptions Clone() => (ViTOnnxExportOptions)MemberwiseClone();

    /// <summary>Lists every problem of these options; empty when they are valid.</summary>
    public IReadOnlyList<string> GetErrors()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(InputName)) e.Add("InputName must not be empty");
        if (!Enum.IsDefined(InputLayout)) e.Add($"InputLayout is not a known layout (actual {(int)InputLayout})");
        if (!float.IsFinite(PixelScale) || PixelScale <= 0) e.Add($"PixelScale must be positive and finite (actual {PixelScale})");
        if (!Enum.IsDefined(WeightPrecision)) e.Add($"WeightPrecision is not a known precision (actual {(int)WeightPrecision})");
        foreach (var (key, range) in StemActivationRanges ?? new Dictionary<string, float[]>())
        {
            if (range is null || range.Length != 2 || !float.IsFinite(range[0]) || !float.IsFinite(range[1]) || range[0] > range[1])
                e.Add($"StemActivationRanges['{key}'] must be a finite [min, max] pair (actual [{(range is null ? "null" : string.Join(", ", range))}])");
        }
        if (!Enum.IsDefined(PredictedIndexType)) e.Add($"PredictedIndexType is not a known type (actual {(int)PredictedIndexType})");
        var outputs = OutputNames;
        if (outputs.Count == 0) e.Add("at least one output name must be set");
        foreach (var (property, name) in new[]
                 {
                     (nameof(LogitsOutputName), LogitsOutputName), (nameof(ProbabilitiesOutputName), ProbabilitiesOutputName),
                     (nameof(FeaturesOutputName), FeaturesOutputName), (nameof(PredictedIndexOutputName), PredictedIndexOutputName),
                     (nameof(PredictedLabelOutputName), PredictedLabelOutputName),
                 })
        {
            if (name is not null && string.IsNullOrWhiteSpace(name)) e.Add($"{property} must be null or a non-empty name");
        }
        var all = outputs.Append(InputName).Where(n => !string.IsNullOrWhiteSpace(n)).ToList();
        foreach (var dup in all.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
            e.Add($"the name '{dup.Key}' is used more than once among the input and outputs");
        return e;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every problem, if any.</summary>
    public void Validate()
    {
        var errors = GetErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid ONNX export options: {string.Join("; ", errors)}.");
    }

    /// <summary>The output names that are set, in graph order.</summary>
    internal IReadOnlyList<string> OutputNames =>
        new[] { LogitsOutputName, ProbabilitiesOutputName, FeaturesOutputName, PredictedIndexOutputName, PredictedLabelOutputName }
            .Where(n => n is not null).Select(n => n!).ToList();
}
