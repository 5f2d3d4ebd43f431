using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="Modeling.FeedForward"/> (with its pre-norm): LayerNorm → Linear → [residual depthwise
/// conv over the patch grid] → [BatchNorm] → GELU → Linear.
/// </summary>
internal static class FeedForwardEmitter
{
    /// <summary>Tokens [N, rows, dim] → the feed-forward's output before the residual; <paramref name="block"/> is 0-based.</summary>
    public static string Emit(OnnxEmitContext e, string x, string module, int block, bool prefixOnly)
    {
        var c = e.Config;
        var h = e.LayerNorm(x, module + "net.0");
        h = e.EncoderLinear(h, module + "net.1");
        if (c.HasConvFeedForward(block)) h = ConvFeedForward(e, h, module);
        if (c.FeedForwardBatchNorm)
        {
            // Inference-mode BatchNormalization over the hidden features of every token: [N, T, hidden] → [N·T,
            // hidden] (ONNX's BatchNormalization normalizes axis 1) and back.
            int rows = prefixOnly ? e.Prefix : e.Tokens;
            var flat = e.G.Node("Reshape", [h, e.Constant("const.hidden_rows_shape", -1, c.MlpHidden)]);
            flat = e.BatchNorm(flat, module + "bn");
            h = e.G.Node("Reshape", [flat, e.Constant($"const.hidden_tokens_shape_{rows}", -1, rows, c.MlpHidden)]);
        }
        h = e.Gelu(h);
        return e.EncoderLinear(h, module + "net.4");
    }

    /// <summary>Residual 3×3 depthwise convolution over the patch-token grid (<see cref="Modeling.ViTConfig.ConvFeedForward"/>); the prefix tokens pass unchanged.</summary>
    private static string ConvFeedForward(OnnxEmitContext e, string h, string module)
    {
        var (g, c) = (e.G, e.Config);
        int n = c.NumPatches, gh = c.ImageHeight / c.PatchSize, gw = c.ImageWidth / c.PatchSize;
        var hiddenPrefix = e.PrefixOf(h);
        var hiddenPatches = g.Node("Slice", [h, e.PrefixEnd(), e.Constant("const.tokens_end", e.Tokens), e.TokenAxis()]);
        var grid = g.Node("Transpose", [g.Node("Reshape", [hiddenPatches, e.Constant("const.hidden_grid_shape", -1, gh, gw, c.MlpHidden)])], null, Ints("perm", 0, 3, 1, 2));
        var local = g.Node("Conv", [grid, e.P(module + "dwconv.weight"), e.P(module + "dwconv.bias")], null,
            Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1), Int("group", c.MlpHidden));
        local = g.Node("Reshape", [g.Node("Transpose", [local], null, Ints("perm", 0, 2, 3, 1)), e.Constant("const.hidden_tokens_shape", -1, n, c.MlpHidden)]);
        return g.Node("Concat", [hiddenPrefix, g.Node("Add", [hiddenPatches, local])], null, Int("axis", 1));
    }
}
