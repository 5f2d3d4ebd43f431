using VitMlNet.Modeling;
using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="ConvStem"/>: per-channel pixel scale and mean/std as one Mul + Add, then the
/// convolutions of <see cref="ConvStem.Layout"/> (the blur of <see cref="ViTConfig.StemAntiAlias"/> before each
/// stride-2 one, BatchNorm with <see cref="ViTConfig.StemBatchNorm"/>, and GELU after each but the 1×1 projection), then
/// tokens [N, (H/p)(W/p), dim] and LayerNorm.
/// </summary>
internal static class ConvStemEmitter
{
    /// <summary>Raw pixels (either input layout) → tokens [N, patches, dim].</summary>
    public static string Emit(OnnxEmitContext e, string input)
    {
        var (g, c) = (e.G, e.Config);
        var x = e.NormalizedImages(input);
        var convs = ConvStem.Layout(c);
        for (int i = 0; i < convs.Count; i++)
        {
            var (_, _, kernel, stride) = convs[i];
            int pad = kernel / 2;
            string conv = ConvStem.ConvName(c, i);
            bool batchNorm = ConvStem.HasBatchNorm(c, i);
            if (ConvStem.HasBlur(c, i))
            {
                // ConvStem.Blur: two 2×2 stride-1 averages, the first zero-padded by one on every side.
                x = g.Node("AveragePool", [x], null, Ints("kernel_shape", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("strides", 1, 1), Int("count_include_pad", 1));
                x = g.Node("AveragePool", [x], null, Ints("kernel_shape", 2, 2), Ints("strides", 1, 1));
            }
            x = g.Node("Conv", batchNorm ? [x, e.P($"{conv}.weight")] : [x, e.P($"{conv}.weight"), e.P($"{conv}.bias")], null,
                Ints("kernel_shape", kernel, kernel), Ints("pads", pad, pad, pad, pad), Ints("strides", stride, stride));
            // Inference-mode BatchNormalization with the running statistics; ONNX Runtime folds it into the Conv.
            if (batchNorm) x = e.BatchNorm(x, ConvStem.NormName(c, i));
            if (kernel != 1) x = e.Gelu(x);
        }
        x = ConvPatchEmbeddingEmitter.Tokens(e, x);
        return e.LayerNorm(x, "stem.norm");
    }
}
