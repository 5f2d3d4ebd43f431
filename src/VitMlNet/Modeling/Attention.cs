using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// Pre-norm multi-head self-attention: LayerNorm → qkv Linear (no bias, or with <see cref="ViTConfig.QkvBias"/>) → softmax(QKᵀ/√d)·V → Linear → Dropout; with
/// <see cref="ViTConfig.LocalitySelfAttention"/>, softmax(mask(QKᵀ/τ))·V with a learnable τ and the diagonal masked.
/// Trains with the explicit formula as batched 3-D products and scores with libtorch's fused scaled-dot-product attention.
/// </summary>
internal sealed class Attention : Module<Tensor, Tensor>
{
    private readonly int heads;
    private readonly double dropout;
    private readonly LayerNorm norm;
    private readonly Linear to_qkv;
    private readonly Sequential to_out;
    private readonly Parameter? temperature;

    /// <summary>Creates the attention layer for <paramref name="config"/>.</summary>
    public Attention(ViTConfig config) : base(nameof(Attention))
    {
        heads = config.Heads;
        dropout = config.Dropout;
        norm = LayerNorm(config.Dim, config.LayerNormEpsilon);
        to_qkv = Linear(config.Dim, config.InnerDim * 3, hasBias: config.QkvBias);
        to_out = Sequential(Linear(config.InnerDim, config.Dim), new FastDropout(config.Dropout));
        if (config.LocalitySelfAttention) temperature = Parameter(torch.full(1, Math.Sqrt(config.DimHead)));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1];
        var qkv = to_qkv.forward(norm.forward(x)).reshape(b, n, 3, heads, -1);
        long d = qkv.shape[4];
        Tensor o;
        if (training)
        {
            // Training: softmax(QKᵀ/√d)·V as two batched 3-D products over [b·heads, n, d]. On CPU its backward is
            // faster than libtorch's fused kernel or 4-D matmul on strided views (timings in docs/benchmarks.md). Dropout on the attention weights as the reference, with a FastDropout mask.
            // unbind, not three selects: its backward stacks the three gradients in one pass, where each select's
            // backward would zero-fill a tensor of the whole qkv size and autograd would then add the three.
            var parts = qkv.permute(2, 0, 3, 1, 4).reshape(3, b * heads, n, d).unbind(0);
            o = TrainingAttention(parts[0], parts[1], parts[2], x.device).reshape(b, heads, n, d);
        }
        else
        {
            var t = qkv.permute(2, 0, 3, 1, 4);
            o = InferenceAttention(t[0], t[1], t[2], x.device);
        }
        return to_out.forward(o.transpose(1, 2).reshape(b, n, -1));
    }

    /// <summary>
    /// The layer's output for the first <paramref name="queries"/> tokens only, [N, queries, dim], attending over all
    /// tokens of <paramref name="x"/>: equal to <c>forward(x)</c> narrowed to those tokens, without computing queries,
    /// attention rows, or the output projection for the others. The class-token-pooled model's last block needs nothing more.
    /// </summary>
    public Tensor ForwardQueries(Tensor x, long queries)
    {
        long b = x.shape[0], n = x.shape[1];
        var h = norm.forward(x);
        var w = to_qkv.weight!;
        var bias = to_qkv.bias;
        long inner = w.shape[0] / 3;
        // The qkv weight's rows are [q; k; v]: project the prefix tokens onto q, every token onto k and v.
        var q = functional.linear(h.narrow(1, 0, queries), w.narrow(0, 0, inner), bias?.narrow(0, 0, inner)).reshape(b, queries, heads, -1);
        var kv = functional.linear(h, w.narrow(0, inner, 2 * inner), bias?.narrow(0, inner, 2 * inner)).reshape(b, n, 2, heads, -1);
        long d = q.shape[3];
        Tensor o;
        if (training)
        {
            var kvParts = kv.permute(2, 0, 3, 1, 4).reshape(2, b * heads, n, d).unbind(0);
            o = TrainingAttention(q.permute(0, 2, 1, 3).reshape(b * heads, queries, d), kvParts[0], kvParts[1], x.device)
                .reshape(b, heads, queries, d);
        }
        else
        {
            var t = kv.permute(2, 0, 3, 1, 4);
            o = InferenceAttention(q.permute(0, 2, 1, 3), t[0], t[1], x.device);
        }
        return to_out.forward(o.transpose(1, 2).reshape(b, queries, -1));
    }

    /// <summary>softmax(QKᵀ/√d)·V (or the locality form) with dropout on the weights, for q [B, m, d], k and v [B, n, d].</summary>
    private Tensor TrainingAttention(Tensor q, Tensor k, Tensor v, Device device)
    {
        long m = q.shape[1], n = k.shape[1], d = q.shape[2];
        var scores = torch.bmm(q, k.transpose(1, 2));
        scores = temperature is null ? scores.mul_(1.0 / Math.Sqrt(d)) : scores.div(temperature).masked_fill_(DiagonalMask(m, n, device), double.NegativeInfinity);
        var attn = scores.softmax(-1);
        if (dropout > 0) attn = attn.mul(DropoutRandom.Mask(attn.shape, dropout, attn.device));
        return torch.bmm(attn, v);
    }

    /// <summary>libtorch's fused scaled-dot-product attention (equal to the explicit formula, tested) for q [N, heads, m, d], k and v [N, heads, n, d].</summary>
    private Tensor InferenceAttention(Tensor q, Tensor k, Tensor v, Device device)
    {
        if (temperature is null) return functional.scaled_dot_product_attention(q, k, v, null, 0.0, false);
        // The kernel divides by √d: pre-scale q so that the scores are divided by the temperature instead.
        long m = q.shape[2], n = k.shape[2];
        var scaled = q.mul(temperature.reciprocal().mul(Math.Sqrt(q.shape[3])));
        var mask = torch.zeros(m, n, device: device).masked_fill_(DiagonalMask(m, n, device), double.NegativeInfinity);
        return functional.scaled_dot_product_attention(scaled, k, v, mask, 0.0, false);
    }

    /// <summary>Attention probabilities [N, heads, tokens, tokens] of this layer for input tokens (explicit formula, no dropout).</summary>
    public Tensor AttentionWeights(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1];
        var qkv = to_qkv.forward(norm.forward(x)).reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4);
        var scores = torch.matmul(qkv[0], qkv[1].transpose(-1, -2));
        scores = temperature is null ? scores.mul(1.0 / Math.Sqrt(qkv.shape[4]))
            : scores.div(temperature).masked_fill_(DiagonalMask(n, n, x.device), double.NegativeInfinity);
        return scores.softmax(-1);
    }

    /// <summary>True on the diagonal of an [m, n] score matrix of the first m tokens' queries (each token's score for itself).</summary>
    private static Tensor DiagonalMask(long m, long n, Device device) => torch.eye(m, n, dtype: ScalarType.Bool, device: device);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            norm.Dispose();
            to_qkv.Dispose();
            to_out.Dispose();
            temperature?.Dispose();
        }
        base.Dispose(disposing);
    }
}
