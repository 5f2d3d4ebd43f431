using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="Modeling.ConvPatchEmbedding"/> (the standard ViT patch embedding): per-channel pixel
/// scale and mean/std, one p×p stride-p Conv, then tokens.
/// </summary>
internal static class ConvPatchEmbeddingEmitter
{
    /// <summary>Raw pixels (either input layout) → tokens [N, patches, dim].</summary>
    public static string Emit(OnnxEmitContext e, string input)
    {
        var (g, c) = (e.G, e.Config);
        int p = c.PatchSize;
        var x = e.NormalizedImages(input);
        x = g.Node("Conv", [x, e.P("patch_embed.weight"), e.P("patch_embed.bias")], null, Ints("kernel_shape", p, p), Ints("strides", p, p));
        return Tokens(e, x);
    }

    /// <summary>A feature map [N, dim, H/p, W/p] as tokens [N, (H/p)(W/p), dim].</summary>
    internal static string Tokens(OnnxEmitContext e, string map)
    {
        var x = e.G.Node("Reshape", [map, e.G.Int64s("const.tokens_shape", 0, e.Config.Dim, e.Config.NumPatches)]);
        return e.G.Node("Transpose", [x], null, Ints("perm", 0, 2, 1));
    }
}
