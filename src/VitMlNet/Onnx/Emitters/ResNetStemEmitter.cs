using VitMlNet.Modeling;
using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="ResNetStem"/> (the hybrid ViT's ResNet18 patch embedding): per-channel pixel scale and
/// mean/std, conv1 (pads 3 before, 2 after) → Relu → MaxPool 3×3/2 (pads 1 before), the basic blocks (Conv → Relu →
/// Conv, Add the shortcut, Relu; stride-2 convolutions pad 1 before and 0 after), then the 1×1 projection and tokens.
/// The ResNet's BatchNorms are already folded into its convolutions' weights and biases.
/// </summary>
/// <remarks>
/// With calibrated activation ranges (<see cref="OnnxEmitContext.StemInt8"/>) the ResNet part is static int8 in the QDQ
/// form ONNX Runtime fuses: the normalized image, each ReLU output, each block's second convolution and shortcut
/// convolution and each block's output pass QuantizeLinear (uint8, the calibrated scale and zero point) and
/// DequantizeLinear; each Conv reads DequantizeLinear of int8 weights (one scale per output channel, symmetric,
/// stored as <c>name.weight.int8</c> / <c>name.weight.scale</c>) and of an int32 bias (scale = input scale × weight
/// scale, <c>name.bias.int32</c> / <c>name.bias.scale</c>); the MaxPool keeps its input's scale. ONNX Runtime turns
/// these into QLinearConv, QLinearAdd and a uint8 MaxPool. The trained 1×1 projection stays float.
/// </remarks>
internal static class ResNetStemEmitter
{
    /// <summary>Raw pixels (either input layout) → tokens [N, patches, dim].</summary>
    public static string Emit(OnnxEmitContext e, string input)
    {
        var x = e.NormalizedImages(input);
        x = e.StemInt8 ? Int8Backbone(e, x) : FloatBackbone(e, x);
        x = Conv(e, x, "stem.proj", 1, 1, 0, 0);
        return ConvPatchEmbeddingEmitter.Tokens(e, x);
    }

    private static string FloatBackbone(OnnxEmitContext e, string x)
    {
        var c = e.Config;
        Probe(e, StemQuantization.InputKey, x);
        x = Probe(e, "stem.backbone.conv1", e.G.Node("Relu", [Conv(e, x, "stem.backbone.conv1", 7, 2, 3, 2)]));
        x = e.G.Node("MaxPool", [x], null, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 0, 0));
        for (int s = 1; s <= ResNetStem.Stages(c); s++)
        {
            for (int b = 0; b < ResNetStem.Blocks(c, s); b++)
            {
                string block = $"stem.backbone.layer{s}.{b}";
                bool down = b == 0 && s > 1;
                var h = Probe(e, $"{block}.conv1",
                    e.G.Node("Relu", [down ? Conv(e, x, $"{block}.conv1", 3, 2, 1, 0) : Conv(e, x, $"{block}.conv1", 3, 1, 1, 1)]));
                h = Probe(e, $"{block}.conv2", Conv(e, h, $"{block}.conv2", 3, 1, 1, 1));
                var shortcut = down ? Probe(e, $"{block}.downsample", Conv(e, x, $"{block}.downsample", 1, 2, 0, 0)) : x;
                x = Probe(e, block, e.G.Node("Relu", [e.G.Node("Add", [h, shortcut])]));
            }
        }
        return x;
    }

    private static string Int8Backbone(OnnxEmitContext e, string x)
    {
        var c = e.Config;
        var q = Quantize(e, x, StemQuantization.InputKey);
        var conv1 = Quantize(e, e.G.Node("Relu", [Int8Conv(e, q, "stem.backbone.conv1", 7, 2, 3, 2)]), "stem.backbone.conv1");
        // Max-pooling commutes with a monotone quantization: the pooled values keep conv1's scale and zero point.
        q = Requantize(e, e.G.Node("MaxPool", [Dequantize(e, conv1)], null, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 0, 0)), conv1);
        for (int s = 1; s <= ResNetStem.Stages(c); s++)
        {
            for (int b = 0; b < ResNetStem.Blocks(c, s); b++)
            {
                string block = $"stem.backbone.layer{s}.{b}";
                bool down = b == 0 && s > 1;
                var h = Quantize(e, e.G.Node("Relu",
                    [down ? Int8Conv(e, q, $"{block}.conv1", 3, 2, 1, 0) : Int8Conv(e, q, $"{block}.conv1", 3, 1, 1, 1)]), $"{block}.conv1");
                h = Quantize(e, Int8Conv(e, h, $"{block}.conv2", 3, 1, 1, 1), $"{block}.conv2");
                var shortcut = down ? Quantize(e, Int8Conv(e, q, $"{block}.downsample", 1, 2, 0, 0), $"{block}.downsample") : q;
                q = Quantize(e, e.G.Node("Relu", [e.G.Node("Add", [Dequantize(e, h), Dequantize(e, shortcut)])]), block);
            }
        }
        return Dequantize(e, q);
    }

    /// <summary>A Conv with bias, square kernel and stride, <paramref name="before"/> pixels of padding at the top and left and <paramref name="after"/> at the bottom and right.</summary>
    private static string Conv(OnnxEmitContext e, string x, string module, int kernel, int stride, int before, int after) =>
        e.G.Node("Conv", [x, e.P($"{module}.weight"), e.P($"{module}.bias")], null,
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", before, before, after, after));

    /// <summary>In the calibration graph, records <paramref name="x"/> under <paramref name="key"/>; returns <paramref name="x"/>.</summary>
    private static string Probe(OnnxEmitContext e, string key, string x)
    {
        if (e.Probes is not null) e.Probes[key] = x;
        return x;
    }

    /// <summary>A uint8 tensor (QuantizeLinear's output) with its scale and zero point (initializer names) and the scale's value.</summary>
    private sealed record Quantized(string Values, string Scale, string ZeroPoint, float ScaleValue);

    /// <summary>QuantizeLinear of <paramref name="x"/> with the scale and zero point of its calibrated range.</summary>
    private static Quantized Quantize(OnnxEmitContext e, string x, string key)
    {
        if (!e.Options.StemActivationRanges!.TryGetValue(key, out var range))
            throw new ArgumentException($"StemActivationRanges has no range for '{key}' (expected one per quantized tensor of the ResNet18 stem, as StemQuantization.Calibrate measures them)");
        var (scale, zero) = StemQuantization.ActivationParameters(range[0], range[1]);
        var scaleName = e.G.Scalar($"{key}.act_scale", scale);
        var zeroName = e.G.UInt8Scalar($"{key}.act_zero", zero);
        return new(e.G.Node("QuantizeLinear", [x, scaleName, zeroName]), scaleName, zeroName, scale);
    }

    /// <summary>QuantizeLinear of <paramref name="x"/> with the scale and zero point of <paramref name="like"/>.</summary>
    private static Quantized Requantize(OnnxEmitContext e, string x, Quantized like) =>
        like with { Values = e.G.Node("QuantizeLinear", [x, like.Scale, like.ZeroPoint]) };

    /// <summary>A DequantizeLinear of its own for each reader, the one-consumer form ONNX Runtime's QDQ fusions look for.</summary>
    private static string Dequantize(OnnxEmitContext e, Quantized q) => e.G.Node("DequantizeLinear", [q.Values, q.Scale, q.ZeroPoint]);

    /// <summary>A Conv over a quantized input with int8 per-output-channel weights and an int32 bias, each through DequantizeLinear.</summary>
    private static string Int8Conv(OnnxEmitContext e, Quantized x, string module, int kernel, int stride, int before, int after)
    {
        string weightName = $"{module}.weight", biasName = $"{module}.bias";
        var weight = e.Data(weightName);
        var dims = e.Shape(weightName);
        int outChannels = (int)dims[0];
        var (values, scales) = StemQuantization.QuantizePerChannel(weight, outChannels);
        var bias = e.Data(biasName);
        var biasScales = scales.Select(s => s * x.ScaleValue).ToArray();
        var biasValues = bias.Select((v, o) => (int)Math.Clamp(Math.Round(v / (double)biasScales[o]), int.MinValue, int.MaxValue)).ToArray();
        var w = e.G.Node("DequantizeLinear",
            [e.G.Int8s(weightName + ViTOnnxMetadata.Int8Suffix, values, dims), e.G.Floats(weightName + ViTOnnxMetadata.ScaleSuffix, scales, outChannels),
             e.G.Int8s(weightName + ".zero", new sbyte[outChannels], outChannels)], null, Int("axis", 0));
        var b = e.G.Node("DequantizeLinear",
            [e.G.Int32s(biasName + ViTOnnxMetadata.Int32Suffix, biasValues, outChannels), e.G.Floats(biasName + ViTOnnxMetadata.ScaleSuffix, biasScales, outChannels),
             e.G.Int32s(biasName + ".zero", new int[outChannels], outChannels)], null, Int("axis", 0));
        return e.G.Node("Conv", [Dequantize(e, x), w, b], null,
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", before, before, after, after));
    }
}
