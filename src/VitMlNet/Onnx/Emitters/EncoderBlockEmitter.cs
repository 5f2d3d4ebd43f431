namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The ONNX twin of <see cref="Modeling.EncoderBlock"/>: x + attention(x), then + feed-forward. With class-token pooling
/// only the prefix tokens of the last block's output are read, so that block computes just those rows.
/// </summary>
internal static class EncoderBlockEmitter
{
    /// <summary>Tokens [N, T, dim] through block <paramref name="block"/> (0-based, parameters <c>layers.{block}.*</c>).</summary>
    public static string Emit(OnnxEmitContext e, string x, int block)
    {
        var c = e.Config;
        string attention = $"layers.{block}.0.", feedForward = $"layers.{block}.1.";
        bool prefixOnly = block == c.Depth - 1 && c.LastBlockPrefixOnly && e.Options.PrefixOnlyLastBlock;
        var projected = AttentionEmitter.Emit(e, x, attention, prefixOnly);
        if (prefixOnly) x = e.PrefixOf(x);
        x = e.G.Node("Add", [x, projected]);
        var h = FeedForwardEmitter.Emit(e, x, feedForward, block, prefixOnly);
        return e.G.Node("Add", [x, h]);
    }
}
