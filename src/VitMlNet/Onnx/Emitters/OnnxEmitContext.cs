using VitMlNet.Modeling;
using static VitMlNet.Onnx.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The graph under construction and what every module emitter reads: the architecture, the weights by state-dict name,
/// the export options, and the helpers they share (weights as initializers, the encoder's matrix products in float or
/// int8, LayerNorm, GELU, constants written once).
/// </summary>
internal sealed class OnnxEmitContext(
    OnnxGraphBuilder graph, ViTConfig config, IReadOnlyDictionary<string, TensorData> weights, ViTOnnxExportOptions options)
{
    /// <summary>BatchNorm epsilon of TorchSharp's (and PyTorch's) BatchNorm default.</summary>
    public const float BatchNormEpsilon = 1e-5f;

    private readonly Dictionary<string, string> constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Values, string Scale, string ZeroPoint)> quantizedInputs = new(StringComparer.Ordinal);

    public OnnxGraphBuilder G { get; } = graph;

    public ViTConfig Config { get; } = config;

    public ViTOnnxExportOptions Options { get; } = options;

    /// <summary>
    /// When set (the calibration graph of <see cref="StemQuantization.Calibrate"/>), the float stem records here, by key,
    /// the value name of each tensor that its int8 twin quantizes.
    /// </summary>
    public Dictionary<string, string>? Probes { get; init; }

    /// <summary>Whether a ResNet18 stem is written as static int8 (dynamic int8 precision and calibrated activation ranges).</summary>
    public bool StemInt8 => Options.WeightPrecision == ViTOnnxWeightPrecision.DynamicInt8 && Options.StemActivationRanges is not null && Probes is null;

    /// <summary>The number of test-time views stacked in the batch (1 without test-time augmentation).</summary>
    public int Views { get; set; } = 1;

    /// <summary>The prefix tokens (class, then distillation) ahead of the patch tokens.</summary>
    public int Prefix => Config.NumPrefixTokens;

    /// <summary>Every token: prefix and patches.</summary>
    public int Tokens => Config.NumPrefixTokens + Config.NumPatches;

    /// <summary>A parameter as it is (vectors, tokens, convolution kernels).</summary>
    public string P(string name)
    {
        var (data, shape) = weights[name];
        return G.Floats(name, data, shape);
    }

    /// <summary>A Linear weight [out, in] as the [in, out] matrix MatMul reads, stored under its name + TransposedSuffix.</summary>
    public (string Name, float[] Data, long[] Dims) Transposed(string name)
    {
        var (data, shape) = weights[name];
        return (name + ViTOnnxMetadata.TransposedSuffix, ViTOnnxWriter.Transpose(data, (int)shape[0], (int)shape[1]), [shape[1], shape[0]]);
    }

    /// <summary>A transposed Linear weight as an initializer.</summary>
    public string PT(string name)
    {
        var (stored, data, dims) = Transposed(name);
        return G.Floats(stored, data, dims);
    }

    /// <summary>The PyTorch shape of a weight.</summary>
    public long[] Shape(string name) => weights[name].Shape;

    /// <summary>The raw data of a weight.</summary>
    public float[] Data(string name) => weights[name].Data;

    /// <summary>
    /// A matrix product of the encoder blocks: float, or dynamic int8 (one quantization of each input, shared by the
    /// products that read it, e.g. q, k and v).
    /// </summary>
    public string EncoderMatMul(string input, string name, float[] data, params long[] dims)
    {
        if (Options.WeightPrecision != ViTOnnxWeightPrecision.DynamicInt8) return G.Node("MatMul", [input, G.Floats(name, data, dims)]);
        var (values, scales) = ViTOnnxWriter.QuantizeColumns(data, dims);
        var scaleDims = dims.ToArray();
        scaleDims[^2] = 1;
        var weight = G.Int8s(name + ViTOnnxMetadata.Int8Suffix, values, dims);
        var weightScale = G.Floats(name + ViTOnnxMetadata.ScaleSuffix, scales, scaleDims);
        if (!quantizedInputs.TryGetValue(input, out var q))
        {
            var outputs = G.Nodes("DynamicQuantizeLinear", [input], [G.Unique("xq"), G.Unique("xq_scale"), G.Unique("xq_zero")]);
            q = (outputs[0], outputs[1], outputs[2]);
            quantizedInputs[input] = q;
        }
        var product = G.Node("Cast", [G.Node("MatMulInteger", [q.Values, weight, q.ZeroPoint])], null, Int("to", (long)DataType.Float));
        return G.Node("Mul", [product, G.Node("Mul", [q.Scale, weightScale])]);
    }

    /// <summary>An encoder block's Linear layer: transposed weight (float or int8) and bias.</summary>
    public string EncoderLinear(string input, string module)
    {
        var (stored, data, dims) = Transposed(module + ".weight");
        return G.Node("Add", [EncoderMatMul(input, stored, data, dims), P(module + ".bias")]);
    }

    /// <summary>A float Linear layer outside the encoder blocks.</summary>
    public string Linear(string x, string module) => G.Node("Add", [G.Node("MatMul", [x, PT(module + ".weight")]), P(module + ".bias")]);

    /// <summary>LayerNormalization over the last axis with <c>module.weight</c> and <c>module.bias</c>.</summary>
    public string LayerNorm(string x, string module) =>
        G.Node("LayerNormalization", [x, P(module + ".weight"), P(module + ".bias")], null, Int("axis", -1), Float("epsilon", (float)Config.LayerNormEpsilon));

    /// <summary>Inference-mode BatchNormalization (axis 1) with the running statistics of <paramref name="module"/>.</summary>
    public string BatchNorm(string x, string module) =>
        G.Node("BatchNormalization", [x, P($"{module}.weight"), P($"{module}.bias"), P($"{module}.running_mean"), P($"{module}.running_var")],
            null, Float("epsilon", BatchNormEpsilon));

    /// <summary>Exact GELU: x · 0.5 · (1 + erf(x / √2)), in the form ONNX Runtime's GeluFusion recognizes.</summary>
    public string Gelu(string h) => G.Node("Mul", [G.Node("Mul", [h, G.Node("Add", [G.Node("Erf", [G.Node("Div", [h, Sqrt2])]), One])]), Half]);

    public string Sqrt2 => Once("const.sqrt2", () => G.Scalar("const.sqrt2", (float)Math.Sqrt(2.0)));

    public string One => Once("const.one", () => G.Scalar("const.one", 1f));

    public string Half => Once("const.half", () => G.Scalar("const.half", 0.5f));

    /// <summary>
    /// Pixel scale and per-channel mean/std folded into one multiply (<c>Mul</c>) and one add per channel.
    /// </summary>
    public (float[] Mul, float[] Add) PixelAffine() =>
        (Enumerable.Range(0, Config.Channels).Select(ch => Options.PixelScale / Config.Std[ch]).ToArray(),
         Enumerable.Range(0, Config.Channels).Select(ch => -Config.Mean[ch] / Config.Std[ch]).ToArray());

    /// <summary>The input as images [N, C, H, W] with the pixel scale and per-channel mean/std applied (one Mul + Add).</summary>
    public string NormalizedImages(string input)
    {
        var c = Config;
        var (mul, add) = PixelAffine();
        var x = G.Node("Reshape", [input, G.Int64s("const.image_shape", 0, c.Channels, c.ImageHeight, c.ImageWidth)]);
        x = G.Node("Mul", [x, G.Floats("const.pixel_mul", mul, c.Channels, 1, 1)]);
        return G.Node("Add", [x, G.Floats("const.pixel_add", add, c.Channels, 1, 1)]);
    }

    /// <summary>Writes a constant on first use, so that no initializer is left unread by an architecture that does not need it.</summary>
    public string Once(string name, Func<string> write) =>
        constants.TryGetValue(name, out var written) ? written : constants[name] = write();

    /// <summary>An int64 constant, written on first use.</summary>
    public string Constant(string name, params long[] values) => Once(name, () => G.Int64s(name, values));

    public string PrefixStart() => Constant("const.prefix_start", 0);

    public string PrefixEnd() => Constant("const.prefix_end", Prefix);

    public string TokenAxis() => Constant("const.token_axis", 1);

    /// <summary>The prefix tokens of [N, T, D] tokens.</summary>
    public string PrefixOf(string x) => G.Node("Slice", [x, PrefixStart(), PrefixEnd(), TokenAxis()]);
}
