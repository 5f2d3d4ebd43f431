using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>Pre-norm MLP: LayerNorm → Linear → GELU → Dropout → Linear → Dropout.</summary>
public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Sequential net;

    /// <summary>Creates the feed-forward layer for <paramref name="config"/>.</summary>
    public FeedForward(ViTConfig config) : base(nameof(FeedForward))
    {
        net = Sequential(
            LayerNorm(config.Dim),
            Linear(config.Dim, config.MlpHidden),
            GELU(),
            new FastDropout(config.Dropout),
            Linear(config.MlpHidden, config.Dim),
            new FastDropout(config.Dropout));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => net.forward(x);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) net.Dispose();
        base.Dispose(disposing);
    }
}
