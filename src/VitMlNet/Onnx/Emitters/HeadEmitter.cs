using VitMlNet.Modeling;
using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The end of <see cref="VisionTransformer"/>: the optional final LayerNorm, pooling, the classifier head and, with a
/// distillation token, the average of both heads; then the average over the test-time views.
/// </summary>
internal static class HeadEmitter
{
    /// <summary>Encoder output tokens → (logits [N, classes], pooled features [N, dim]).</summary>
    public static (string Logits, string Features) Emit(OnnxEmitContext e, string x)
    {
        var (g, c) = (e.G, e.Config);
        // ViTConfig.FinalNorm: LayerNorm over the tokens the pooling reads.
        if (c.FinalNorm) x = e.LayerNorm(x, "norm");
        var features = c.Pooling == ViTPooling.Mean
            ? g.Node("ReduceMean", [x], null, Ints("axes", 1), Int("keepdims", 0))
            : g.Node("Gather", [x, g.Int64Scalar("const.token0", 0)], null, Int("axis", 1));
        var logits = g.Node("Gemm", [features, e.PT("head.weight"), e.P("head.bias")]);
        if (c.DistillationToken)
        {
            var distFeatures = g.Node("Gather", [x, g.Int64Scalar("const.token1", 1)], null, Int("axis", 1));
            var distLogits = g.Node("Gemm", [distFeatures, e.PT("head_dist.weight"), e.P("head_dist.bias")]);
            logits = g.Node("Mul", [g.Node("Add", [logits, distLogits]), e.Half]);
        }
        logits = TestTimeViewsEmitter.Average(e, logits, c.NumClasses);
        if (e.Options.FeaturesOutputName is not null) features = TestTimeViewsEmitter.Average(e, features, c.Dim);
        return (logits, features);
    }
}
