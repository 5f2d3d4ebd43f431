using VitMlNet.Modeling;
using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="ResNetStem"/> (the hybrid ViT's ResNet18 patch embedding): per-channel pixel scale and
/// mean/std, conv1 (pads 3 before, 2 after) → Relu → MaxPool 3×3/2 (pads 1 before), the basic blocks (Conv → Relu →
/// Conv, Add the shortcut, Relu; stride-2 convolutions pad 1 before and 0 after), then the 1×1 projection and tokens.
/// The ResNet's BatchNorms are already folded into its convolutions' weights and biases.
/// </summary>
internal static class ResNetStemEmitter
{
    /// <summary>Raw pixels (either input layout) → tokens [N, patches, dim].</summary>
    public static string Emit(OnnxEmitContext e, string input)
    {
        var c = e.Config;
        var x = e.NormalizedImages(input);
        x = e.G.Node("Relu", [Conv(e, x, "stem.backbone.conv1", 7, 2, 3, 2)]);
        x = e.G.Node("MaxPool", [x], null, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 0, 0));
        for (int s = 1; s <= ResNetStem.Stages(c); s++)
        {
            for (int b = 0; b < ResNetStem.Blocks(c, s); b++)
            {
                string block = $"stem.backbone.layer{s}.{b}";
                bool down = b == 0 && s > 1;
                var h = e.G.Node("Relu", [down ? Conv(e, x, $"{block}.conv1", 3, 2, 1, 0) : Conv(e, x, $"{block}.conv1", 3, 1, 1, 1)]);
                h = Conv(e, h, $"{block}.conv2", 3, 1, 1, 1);
                var shortcut = down ? Conv(e, x, $"{block}.downsample", 1, 2, 0, 0) : x;
                x = e.G.Node("Relu", [e.G.Node("Add", [h, shortcut])]);
            }
        }
        x = Conv(e, x, "stem.proj", 1, 1, 0, 0);
        return ConvPatchEmbeddingEmitter.Tokens(e, x);
    }

    /// <summary>A Conv with bias, square kernel and stride, <paramref name="before"/> pixels of padding at the top and left and <paramref name="after"/> at the bottom and right.</summary>
    private static string Conv(OnnxEmitContext e, string x, string module, int kernel, int stride, int before, int after) =>
        e.G.Node("Conv", [x, e.P($"{module}.weight"), e.P($"{module}.bias")], null,
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", before, before, after, after));
}
