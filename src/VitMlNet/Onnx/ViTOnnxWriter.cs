using System.Reflection;
using Google.Protobuf;
using Onnx;
using VitMlNet.Modeling;
using VitMlNet.Scoring;
using static VitMlNet.Onnx.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace VitMlNet.Onnx;

/// <summary>
/// Writes a Vision Transformer as a self-contained ONNX model (opset 17) that ONNX Runtime, ML.NET's
/// <c>ApplyOnnxModel</c> or any other ONNX runtime can score. TorchSharp has no ONNX export, so the graph is
/// built here from the <see cref="ViTConfig"/> and the weights.
/// </summary>
/// <remarks>
/// <para>
/// The graph takes raw pixels (by default 0..255, [N, C, H, W] or flat [N, C·H·W]; see
/// <see cref="ViTOnnxExportOptions"/>) and applies the pixel scale and the configuration's per-channel mean and
/// standard deviation itself, folded into one Mul and one Add. The batch dimension is symbolic ("batch").
/// Outputs: logits [N, classes], softmax probabilities [N, classes], and optionally the pooled embedding [N, dim]
/// the arg-max class index [N] and the predicted class name [N] (string).
/// </para>
/// <para>
/// In ML.NET (<c>ApplyOnnxModel</c>, which runs one row at a time) the [N, K] outputs become
/// <c>Vector&lt;Single, 1, K&gt;</c> columns and the [N] outputs vectors of size 1 (<c>Vector&lt;Int64, 1&gt;</c>,
/// <c>Vector&lt;UInt32, 1&gt;</c>, <c>Vector&lt;String, 1&gt;</c>): the OnnxTransformer has no working scalar output.
/// </para>
/// <para>
/// Built for ONNX Runtime: Linear weights are stored pre-transposed ([in, out]) so every MatMul reads them
/// directly; the q, k and v projections are stored per head ([heads, dim, dim_head]) so three broadcast MatMuls
/// produce the head-major layout attention needs without Split or Transpose copies (faster than one fused qkv
/// MatMul followed by Split and three Transposes; docs/benchmarks.md); LayerNormalization is one op; GELU is written in the
/// Div → Erf → Add → Mul → Mul form that ONNX Runtime fuses into one kernel; with class-token pooling the last
/// block computes attention queries, the output projection and the MLP only for the prefix tokens, which are all
/// the head reads.
/// </para>
/// <para>
/// A convolutional stem (<see cref="ViTStem.Conv"/>) is written as Conv nodes (each followed by BatchNormalization
/// with the running statistics when <see cref="ViTConfig.StemBatchNorm"/> is set) with the same erf-form GELU, then a
/// Reshape/Transpose to tokens and LayerNormalization; with <see cref="ViTConfig.StemAntiAlias"/>, two AveragePool nodes
/// (the binomial blur) before each stride-2 Conv. <see cref="ViTConfig.FeedForwardBatchNorm"/> is a
/// BatchNormalization over [N·T, hidden] between two Reshapes. <see cref="ViTOnnxExportOptions.FlipAverage"/> prepends the
/// mirrored images to the batch (Slice with step −1 over the width, Concat) and averages the two halves of the logits
/// and embeddings (Reshape, ReduceMean); <see cref="ViTOnnxExportOptions.ShiftAverage"/> adds four one-pixel shifts
/// (Pad, Slice) of each image the same way. With <see cref="ViTOnnxWeightPrecision.DynamicInt8"/> the
/// encoder blocks' matrix products become DynamicQuantizeLinear → MatMulInteger → Cast → Mul (int8 weights with one
/// scale per output column, stored as <c>name.int8</c> and <c>name.scale</c>); a ResNet18 stem with calibrated
/// <see cref="ViTOnnxExportOptions.StemActivationRanges"/> becomes static int8 in QDQ form (see <see cref="Emitters.ResNetStemEmitter"/>).
/// </para>
/// <para>
/// The model's <c>metadata_props</c> hold the configuration (<see cref="ModelZipKeys.Config"/>), the class
/// names (<see cref="ModelZipKeys.Classes"/>) and the export options, so <see cref="ViTOnnxReader"/> can
/// recover the exact weights for further training.
/// </para>
/// </remarks>
internal static class ViTOnnxWriter
{
    /// <summary>The ONNX operator set the graph uses.</summary>
    public const int OpsetVersion = 17;

    /// <summary>Builds the ONNX model of a TorchSharp <see cref="VisionTransformer"/> (its current weights, in eval semantics).</summary>
    /// <param name="model">The model; it is not modified and no tensors are left behind.</param>
    /// <param name="classNames">One name per class in class-index order, or null for "0", "1", ...</param>
    /// <param name="options">Input/output naming and layout; null for the defaults.</param>
    /// <returns>The ONNX model, ready to serialize with <see cref="Write(ModelProto, Stream)"/> or <see cref="ToByteArray"/>.</returns>
    /// <exception cref="ArgumentException">The class names or the options are invalid.</exception>
    public static ModelProto Build(VisionTransformer model, IReadOnlyList<string>? classNames = null, ViTOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Build(model.Config, VisionTransformerWeights.Extract(model), classNames, options);
    }

    /// <summary>Builds the ONNX model of a Vision Transformer from its configuration and weights.</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="weights">
    /// Every parameter by its state-dict name (<c>embed.0.weight</c>, <c>cls</c>, <c>layers.0.0.to_qkv.weight</c>, ...),
    /// as row-major data and PyTorch shape (Linear weights [out, in]); see <see cref="VisionTransformerWeights.Extract"/>.
    /// </param>
    /// <param name="classNames">One name per class in class-index order, or null for "0", "1", ...</param>
    /// <param name="options">Input/output naming and layout; null for the defaults.</param>
    /// <returns>The ONNX model, ready to serialize with <see cref="Write(ModelProto, Stream)"/> or <see cref="ToByteArray"/>.</returns>
    /// <exception cref="ArgumentException">
    /// The configuration, the weights (every missing, unexpected or mis-shaped one is listed), the class names or the options are invalid.
    /// </exception>
    public static ModelProto Build(
        ViTConfig config,
        IReadOnlyDictionary<string, TensorData> weights,
        IReadOnlyList<string>? classNames = null,
        ViTOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        config.Validate();
        options ??= new ViTOnnxExportOptions();
        options.Validate();
        classNames ??= Enumerable.Range(0, config.NumClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (classNames.Count != config.NumClasses)
            throw new ArgumentException($"Expected {config.NumClasses} class names (one per class), got {classNames.Count}.", nameof(classNames));
        if (classNames.Any(n => n is null)) throw new ArgumentException("Class names must not be null.", nameof(classNames));
        var errors = ViTParameterLayout.Check(config, weights);
        if (errors.Count > 0)
            throw new ArgumentException($"The weights do not match the configuration '{config.Name}': {string.Join("; ", errors)}.", nameof(weights));

        var graph = BuildGraph(config, weights, classNames, options);
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = ViTOnnxMetadata.ProducerName,
            ProducerVersion = typeof(ViTOnnxWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            ModelVersion = 1,
            DocString = $"Vision Transformer '{config.Name}' ({config.Channels}x{config.ImageHeight}x{config.ImageWidth}, " +
                        $"{config.NumClasses} classes) exported by VitMlNet.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        AddMetadata(model, ModelZipKeys.Format, ViTOnnxMetadata.FormatVersion);
        AddMetadata(model, ModelZipKeys.Config, ViTOnnxMetadata.SerializeConfig(config));
        AddMetadata(model, ModelZipKeys.Classes, ViTOnnxMetadata.SerializeClasses(classNames));
        AddMetadata(model, ModelZipKeys.Export, ViTOnnxMetadata.SerializeExport(options));
        ViTOnnxMetadata.Seal(model);
        return model;
    }

    /// <summary>
    /// The float graph with every tensor that a ResNet18 stem's static int8 twin quantizes added as an output (for
    /// <see cref="StemQuantization.Calibrate"/>), and those outputs' names by calibration key.
    /// </summary>
    internal static (ModelProto Model, IReadOnlyDictionary<string, string> Probes) BuildCalibrationGraph(
        ViTConfig config, IReadOnlyDictionary<string, TensorData> weights, ViTOnnxExportOptions options)
    {
        var plain = options.Clone();
        plain.WeightPrecision = ViTOnnxWeightPrecision.Float32;
        plain.StemActivationRanges = null;
        plain.Validate();
        var probes = new Dictionary<string, string>(StringComparer.Ordinal);
        var classNames = Enumerable.Range(0, config.NumClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var graph = BuildGraph(config, weights, classNames, plain, probes);
        foreach (var name in probes.Values.Distinct(StringComparer.Ordinal))
        {
            graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
            });
        }
        var model = new ModelProto { IrVersion = 8, ProducerName = ViTOnnxMetadata.ProducerName, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return (model, probes);
    }

    /// <summary>Serializes an ONNX model to a stream (the stream is left open).</summary>
    public static void Write(ModelProto model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        model.WriteTo(stream);
    }

    /// <summary>Serializes an ONNX model to a file (created or overwritten), e.g. <c>model.onnx</c>.</summary>
    public static void Write(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        IO.AtomicFile.Write(path, model.WriteTo);
    }

    /// <summary>Serializes an ONNX model to bytes, e.g. for <c>ApplyOnnxModel(..., new MemoryStream(bytes))</c> or an <c>InferenceSession</c>.</summary>
    /// <returns>The serialized ModelProto.</returns>
    public static byte[] ToByteArray(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.ToByteArray();
    }

    private static void AddMetadata(ModelProto model, string key, string value) =>
        model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });

    /// <summary>
    /// The graph, module by module: each emitter in <see cref="Emitters"/> is the ONNX twin of one TorchSharp module
    /// in <see cref="Modeling"/> and writes the same function (the parity tests check each architecture option).
    /// </summary>
    private static GraphProto BuildGraph(
        ViTConfig c, IReadOnlyDictionary<string, TensorData> weights, IReadOnlyList<string> classNames, ViTOnnxExportOptions o,
        Dictionary<string, string>? probes = null)
    {
        var e = new Emitters.OnnxEmitContext(new OnnxGraphBuilder(), c, weights, o) { Probes = probes };
        e.G.Graph.Name = "vision_transformer";
        e.G.Graph.Input.Add(o.InputLayout == ViTOnnxInputLayout.Flat
            ? Value(o.InputName, DataType.Float, (long)c.Channels * c.ImageHeight * c.ImageWidth)
            : Value(o.InputName, DataType.Float, c.Channels, c.ImageHeight, c.ImageWidth));

        string input = Emitters.TestTimeViewsEmitter.Emit(e, o.InputName);
        string patches = c.Stem switch
        {
            ViTStem.Conv => Emitters.ConvStemEmitter.Emit(e, input),
            ViTStem.PatchConv => Emitters.ConvPatchEmbeddingEmitter.Emit(e, input),
            ViTStem.ResNet18 => Emitters.ResNetStemEmitter.Emit(e, input),
            _ => Emitters.PatchEmbeddingEmitter.Emit(e, input),
        };
        string x = Emitters.TokensEmitter.Emit(e, patches, input);
        for (int block = 0; block < c.Depth; block++) x = Emitters.EncoderBlockEmitter.Emit(e, x, block);
        var (logits, features) = Emitters.HeadEmitter.Emit(e, x);
        Emitters.OutputsEmitter.Emit(e, logits, features, classNames);
        return e.G.Graph;
    }

    /// <summary>
    /// Symmetric quantization of a weight [..., rows, columns] to 7-bit values stored as int8, one scale per column (per
    /// leading index): scale = max |w| / 63 over the column, value = round(w / scale) in [-63, 63]. Seven bits, not
    /// eight, because ONNX Runtime's uint8 × int8 kernels on CPUs without VNNI (AVX2's vpmaddubsw) add pairs of products
    /// into saturating 16-bit sums: full-range weights overflow them and change predictions on such machines (a zip
    /// scores on whatever CPU its user has), as ONNX Runtime's own quantizer avoids with reduce_range.
    /// </summary>
    internal static (sbyte[] Values, float[] Scales) QuantizeColumns(float[] data, long[] dims)
    {
        int cols = (int)dims[^1], rows = (int)dims[^2], blocks = data.Length / (rows * cols);
        var scales = new float[blocks * cols];
        for (int b = 0; b < blocks; b++)
        for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++)
        {
            ref float sc = ref scales[b * cols + col];
            sc = Math.Max(sc, Math.Abs(data[(b * rows + r) * cols + col]));
        }
        for (int i = 0; i < scales.Length; i++) scales[i] = scales[i] > 0 ? scales[i] / StemQuantization.WeightBound : 1f;
        var values = new sbyte[data.Length];
        for (int b = 0; b < blocks; b++)
        for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++)
        {
            int i = (b * rows + r) * cols + col;
            values[i] = (sbyte)Math.Clamp(MathF.Round(data[i] / scales[b * cols + col]), -StemQuantization.WeightBound, StemQuantization.WeightBound);
        }
        return (values, scales);
    }

    /// <summary>The inverse of <see cref="QuantizeColumns"/>: value × its column's scale.</summary>
    internal static float[] DequantizeColumns(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, long[] dims)
    {
        int cols = (int)dims[^1], rows = (int)dims[^2];
        var data = new float[values.Length];
        for (int i = 0; i < data.Length; i++)
        {
            int col = i % cols, block = i / (rows * cols);
            data[i] = values[i] * scales[block * cols + col];
        }
        return data;
    }

    /// <summary>
    /// Part <paramref name="part"/> (0 = q, 1 = k, 2 = v) of a to_qkv weight [3·heads·dim_head, dim] as per-head
    /// input-major matrices [heads, dim, dim_head]: element [h, i, e] = weight[part·inner + h·dim_head + e, i].
    /// </summary>
    internal static float[] ToHeads(float[] qkv, ViTConfig c, int part)
    {
        int inner = c.InnerDim, dim = c.Dim, dh = c.DimHead;
        var r = new float[inner * dim];
        for (int head = 0; head < c.Heads; head++)
        {
            for (int i = 0; i < dim; i++)
            {
                for (int e = 0; e < dh; e++) r[((long)head * dim + i) * dh + e] = qkv[((long)part * inner + head * dh + e) * dim + i];
            }
        }
        return r;
    }

    /// <summary>The inverse of <see cref="ToHeads"/>: writes one part back into a to_qkv weight [3·inner, dim].</summary>
    internal static void FromHeads(float[] heads, ViTConfig c, int part, float[] qkv)
    {
        int inner = c.InnerDim, dim = c.Dim, dh = c.DimHead;
        for (int head = 0; head < c.Heads; head++)
        {
            for (int i = 0; i < dim; i++)
            {
                for (int e = 0; e < dh; e++) qkv[((long)part * inner + head * dh + e) * dim + i] = heads[((long)head * dim + i) * dh + e];
            }
        }
    }

    /// <summary>Transposes a row-major [rows, cols] matrix.</summary>
    internal static float[] Transpose(float[] data, int rows, int cols)
    {
        var t = new float[data.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < cols; col++) t[(long)col * rows + r] = data[(long)r * cols + col];
        }
        return t;
    }
}
