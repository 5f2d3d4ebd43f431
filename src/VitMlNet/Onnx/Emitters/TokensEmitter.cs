using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The token sequence of <see cref="Modeling.VisionTransformer"/>: the prefix tokens (class, then distillation) expanded to
/// the batch ahead of the patch tokens, then the position embedding.
/// </summary>
internal static class TokensEmitter
{
    /// <summary>Patch tokens [N, patches, dim] → every token [N, prefix + patches, dim]; <paramref name="batchSource"/> gives N.</summary>
    public static string Emit(OnnxEmitContext e, string patches, string batchSource)
    {
        var (g, c) = (e.G, e.Config);
        var prefixTokens = c.DistillationToken ? g.Node("Concat", [e.P("cls"), e.P("dist")], null, Int("axis", 1)) : e.P("cls");
        var batch = g.Node("Shape", [batchSource], "batch_size", Int("start", 0), Int("end", 1));
        var expandShape = g.Node("Concat", [batch, g.Int64s("const.prefix_dims", e.Prefix, c.Dim)], null, Int("axis", 0));
        var prefixExpanded = g.Node("Expand", [prefixTokens, expandShape]);
        var x = g.Node("Concat", [prefixExpanded, patches], null, Int("axis", 1));
        return g.Node("Add", [x, e.P("pos")]);
    }
}
