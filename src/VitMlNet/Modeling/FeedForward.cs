using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// Pre-norm MLP: LayerNorm → Linear → GELU → Dropout → Linear → Dropout. With <see cref="ViTConfig.ConvFeedForward"/>
/// (see <see cref="ViTConfig.HasConvFeedForward"/>), the hidden patch tokens also pass through a residual 3×3
/// depthwise convolution over the token grid before the GELU. With <see cref="ViTConfig.FeedForwardBatchNorm"/>, a
/// BatchNorm over every token's hidden features follows (after the convolution, if any), also before the GELU.
/// </summary>
internal sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Sequential net;
    private readonly Conv2d? dwconv;
    private readonly BatchNorm1d? bn;
    private readonly int prefixTokens, gridHeight, gridWidth;

    /// <summary>Creates the feed-forward layer for <paramref name="config"/>, with the depthwise convolution when <paramref name="convFeedForward"/> is set.</summary>
    public FeedForward(ViTConfig config, bool convFeedForward = false) : base(nameof(FeedForward))
    {
        net = Sequential(
            LayerNorm(config.Dim, config.LayerNormEpsilon),
            Linear(config.Dim, config.MlpHidden),
            GELU(),
            new FastDropout(config.Dropout),
            Linear(config.MlpHidden, config.Dim),
            new FastDropout(config.Dropout));
        register_module(nameof(net), net);
        if (convFeedForward)
        {
            prefixTokens = config.NumPrefixTokens;
            gridHeight = config.ImageHeight / config.PatchSize;
            gridWidth = config.ImageWidth / config.PatchSize;
            dwconv = Conv2d(config.MlpHidden, config.MlpHidden, 3, padding: 1, groups: config.MlpHidden);
            register_module(nameof(dwconv), dwconv);
        }
        if (config.FeedForwardBatchNorm)
        {
            bn = BatchNorm1d(config.MlpHidden);
            register_module(nameof(bn), bn);
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (dwconv is null && bn is null) return net.forward(x);
        // net: 0 LayerNorm, 1 Linear, 2 GELU, 3 Dropout, 4 Linear, 5 Dropout (indices fixed by the parameter names).
        var h = net[1].call(net[0].call(x));
        long batch = h.shape[0], tokens = h.shape[1], hidden = h.shape[2];
        if (dwconv is not null)
        {
            var prefix = h.narrow(1, 0, prefixTokens);
            var patches = h.narrow(1, prefixTokens, (long)gridHeight * gridWidth);
            // Tokens are in row-major grid order, channels last: view them as an NCHW image with channels-last strides.
            var grid = patches.reshape(batch, gridHeight, gridWidth, hidden).permute(0, 3, 1, 2);
            var local = dwconv.forward(grid).permute(0, 2, 3, 1).reshape(batch, -1, hidden);
            h = torch.cat([prefix, patches + local], 1);
        }
        // Every token of every image is one sample of the hidden features' batch statistics.
        if (bn is not null) h = bn.forward(h.reshape(batch * tokens, hidden)).reshape(batch, tokens, hidden);
        for (int i = 2; i < 6; i++) h = net[i].call(h);
        return h;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            net.Dispose();
            dwconv?.Dispose();
            bn?.Dispose();
        }
        base.Dispose(disposing);
    }
}
