using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// One transformer encoder block: x + DropPath(Attention(x)), then x + DropPath(FeedForward(x)).
/// Its submodules are registered as "0" (attention) and "1" (feed-forward), so parameter names match the
/// reference PyTorch model's <c>layers.{i}.0.*</c> / <c>layers.{i}.1.*</c>.
/// </summary>
internal sealed class EncoderBlock : Module<Tensor, Tensor>
{
    private readonly Attention attention;
    private readonly FeedForward feedForward;

    /// <summary>
    /// Creates a block with the given drop-path (stochastic depth) probability, and with the feed-forward's depthwise
    /// convolution when <paramref name="convFeedForward"/> is set (see <see cref="ViTConfig.ConvFeedForward"/>).
    /// </summary>
    public EncoderBlock(ViTConfig config, double dropPath, bool convFeedForward = false) : base(nameof(EncoderBlock))
    {
        DropPath = dropPath;
        attention = new Attention(config);
        feedForward = new FeedForward(config, convFeedForward);
        register_module("0", attention);
        register_module("1", feedForward);
    }

    /// <summary>Probability of skipping each residual branch per sample during training.</summary>
    public double DropPath { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        x = x + ApplyDropPath(attention.forward(x));
        return x + ApplyDropPath(feedForward.forward(x));
    }

    /// <summary>
    /// The block's output for the first <paramref name="queries"/> tokens only, [N, queries, dim]: equal to
    /// <c>forward(x)</c> narrowed to those tokens (attention still reads every token), at a fraction of the cost. For a
    /// last block whose other outputs nobody reads (class-token pooling). Not for a block with a convolutional feed-forward,
    /// which needs the whole token grid. With <see cref="ViTConfig.FeedForwardBatchNorm"/>, training-mode batch
    /// statistics come from these tokens alone.
    /// </summary>
    public Tensor ForwardQueries(Tensor x, long queries)
    {
        var y = x.narrow(1, 0, queries) + ApplyDropPath(attention.ForwardQueries(x, queries));
        return y + ApplyDropPath(feedForward.forward(y));
    }

    /// <summary>The block's attention probabilities [N, heads, tokens, tokens] for input tokens.</summary>
    public Tensor AttentionWeights(Tensor x) => attention.AttentionWeights(x);

    private Tensor ApplyDropPath(Tensor branch)
    {
        if (!training || DropPath <= 0) return branch;
        double keep = 1.0 - DropPath;
        var mask = torch.empty(branch.shape[0], 1, 1, dtype: branch.dtype, device: branch.device).bernoulli_(keep);
        return branch * mask.div_(keep);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            attention.Dispose();
            feedForward.Dispose();
        }
        base.Dispose(disposing);
    }
}
