using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// Pre-norm multi-head self-attention: LayerNorm → qkv Linear (no bias) → softmax(QKᵀ/√d)·V → Linear → Dropout.
/// Uses libtorch's fused scaled-dot-product attention where no dropout applies (it equals the explicit formula, tested).
/// </summary>
public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly int heads;
    private readonly double dropout;
    private readonly LayerNorm norm;
    private readonly Linear to_qkv;
    private readonly Sequential to_out;

    /// <summary>Creates the attention layer for <paramref name="config"/>.</summary>
    public Attention(ViTConfig config) : base(nameof(Attention))
    {
        heads = config.Heads;
        dropout = config.Dropout;
        norm = LayerNorm(config.Dim);
        to_qkv = Linear(config.Dim, config.InnerDim * 3, hasBias: false);
        to_out = Sequential(Linear(config.InnerDim, config.Dim), new FastDropout(config.Dropout));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1];
        // [b, n, 3·h·d] → [3, b, h, n, d]
        var qkv = to_qkv.forward(norm.forward(x)).reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4);
        var q = qkv[0];
        var k = qkv[1];
        var v = qkv[2];
        Tensor o;
        if (training && dropout > 0)
        {
            // Dropout on the attention weights, as the reference: explicit softmax(QKᵀ/√d), masked by FastDropout
            // (libtorch's fused kernel has no CPU dropout and would fall back to this path with a slower mask).
            var attn = torch.matmul(q, k.transpose(-1, -2)).mul_(1.0 / Math.Sqrt(q.shape[3])).softmax(-1);
            o = torch.matmul(attn.mul(DropoutRandom.Mask(attn.shape, dropout, attn.device)), v);
        }
        else
        {
            o = functional.scaled_dot_product_attention(q, k, v, null, 0.0, false);
        }
        return to_out.forward(o.transpose(1, 2).reshape(b, n, -1));
    }

    /// <summary>Attention probabilities [N, heads, tokens, tokens] of this layer for input tokens (explicit formula, no dropout).</summary>
    public Tensor AttentionWeights(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1];
        var qkv = to_qkv.forward(norm.forward(x)).reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4);
        var scale = 1.0 / Math.Sqrt(qkv.shape[4]);
        return torch.matmul(qkv[0], qkv[1].transpose(-1, -2)).mul(scale).softmax(-1);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            norm.Dispose();
            to_qkv.Dispose();
            to_out.Dispose();
        }
        base.Dispose(disposing);
    }
}
