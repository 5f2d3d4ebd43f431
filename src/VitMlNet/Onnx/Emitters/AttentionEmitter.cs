using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="Modeling.Attention"/> (with its pre-norm). The q, k and v weights are stored per head
/// [heads, dim, dim_head]: one broadcast MatMul each yields [N, heads, T, dim_head] directly, with no Split and no
/// Transpose of q, k and v. Locality self-attention divides by the learned temperature and masks the diagonal.
/// </summary>
internal static class AttentionEmitter
{
    /// <summary>
    /// Tokens [N, T, dim] → the attention's output, before the residual: [N, T, dim], or [N, prefix, dim] with
    /// <paramref name="prefixOnly"/> (queries of the prefix tokens only).
    /// </summary>
    public static string Emit(OnnxEmitContext e, string x, string module, bool prefixOnly)
    {
        var (g, c) = (e.G, e.Config);
        var headAxis = e.Constant("const.head_axis", 1);
        var h = e.LayerNorm(x, module + "norm");
        var h4 = g.Node("Unsqueeze", [h, headAxis]);
        var hq = prefixOnly ? g.Node("Unsqueeze", [e.PrefixOf(h), headAxis]) : h4;
        var q = QkvMatMul(e, hq, module + "to_qkv", 0);
        var k = QkvMatMul(e, h4, module + "to_qkv", 1);
        var v = QkvMatMul(e, h4, module + "to_qkv", 2);
        // ONNX Runtime fuses the Transpose of k's last two axes and the scale into one FusedMatMul.
        var kT = g.Node("Transpose", [k], null, Ints("perm", 0, 1, 3, 2));
        var scores = c.LocalitySelfAttention
            ? g.Node("Add", [g.Node("Div", [g.Node("MatMul", [q, kT]), e.P(module + "temperature")]), DiagonalMask(e, prefixOnly ? e.Prefix : e.Tokens)])
            : g.Node("Mul", [g.Node("MatMul", [q, kT]), e.Once("const.attention_scale", () => g.Scalar("const.attention_scale", (float)(1.0 / Math.Sqrt(c.DimHead))))]);
        var attention = g.Node("Softmax", [scores], null, Int("axis", -1));
        var heads = g.Node("MatMul", [attention, v]);
        var merged = g.Node("Reshape", [g.Node("Transpose", [heads], null, Ints("perm", 0, 2, 1, 3)), e.Constant("const.merge_shape", 0, 0, c.InnerDim)]);
        return e.EncoderLinear(merged, module + "to_out.0");
    }

    /// <summary>Part <paramref name="part"/> (0 = q, 1 = k, 2 = v) of the qkv projection, with its bias under <see cref="Modeling.ViTConfig.QkvBias"/>.</summary>
    private static string QkvMatMul(OnnxEmitContext e, string input, string module, int part)
    {
        var c = e.Config;
        string name = module + ".weight";
        var product = e.EncoderMatMul(input, name + ViTOnnxMetadata.QkvSuffixes[part], ViTOnnxWriter.ToHeads(e.Data(name), c, part), c.Heads, c.Dim, c.DimHead);
        if (!c.QkvBias) return product;
        // The part's bias as [heads, 1, dim_head], broadcast over the batch and the tokens.
        string bias = module + ".bias";
        var data = e.Data(bias).AsSpan(part * c.InnerDim, c.InnerDim).ToArray();
        return e.G.Node("Add", [product, e.G.Floats(bias + ViTOnnxMetadata.QkvBiasSuffixes[part], data, c.Heads, 1, c.DimHead)]);
    }

    /// <summary>Locality self-attention: −∞ on the diagonal of the [rows, tokens] scores (rows of the prefix tokens only when the last block computes just those).</summary>
    private static string DiagonalMask(OnnxEmitContext e, int rows)
    {
        int tokens = e.Tokens;
        string name = rows == tokens ? "const.diagonal_mask" : "const.prefix_diagonal_mask";
        return e.Once(name, () =>
        {
            var mask = new float[rows * tokens];
            for (int r = 0; r < rows; r++) mask[r * tokens + r] = float.NegativeInfinity;
            return e.G.Floats(name, mask, [rows, tokens]);
        });
    }
}
