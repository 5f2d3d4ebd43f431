using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// Exponential moving average of a model's parameters and BatchNorm running statistics (its
/// <see cref="VisionTransformer.NamedState"/>; Polyak averaging, as timm's ModelEmaV2):
/// after each step, ema = decay·ema + (1 − decay)·weights, with the start debiased as Adam debiases its moments: the
/// t-th update uses decay·(1 − decayᵗ⁻¹)/(1 − decayᵗ), so the average is exactly Σ decayᵗ⁻ⁱ·wᵢ / Σ decayᵗ⁻ⁱ over the
/// weights seen so far and never holds the random initialization. The plain average gives the initial weights a share
/// of decayᵗ (0.999: 37% after 1,000 steps, so short runs validated and returned a near-random model; 0.7% after
/// 5,000), the debiased one none; once decayᵗ is negligible the two are the same. Owns a model copy used for validation
/// and export.
/// </summary>
internal sealed class ModelEma : IDisposable
{
    private readonly double decay;
    private readonly (Tensor Ema, Tensor Source)[] pairs;

    /// <summary>Creates the average, starting from a copy of <paramref name="source"/>'s current weights.</summary>
    public ModelEma(VisionTransformer source, double decay)
    {
        this.decay = decay;
        Model = new VisionTransformer(source.Config);
        Model.to(source.parameters().First().device);
        Model.eval();
        var target = Model.NamedState().ToDictionary(p => p.Name, p => p.Tensor);
        pairs = source.NamedState().Select(p => (target[p.Name], p.Tensor)).ToArray();
        using (torch.no_grad())
        {
            foreach (var (ema, src) in pairs) ema.copy_(src);
        }
        foreach (var (ema, _) in pairs) ema.requires_grad_(false);
    }

    /// <summary>The averaged model (eval mode).</summary>
    public VisionTransformer Model { get; }

    /// <summary>Updates folded in so far (checkpoints save and restore it, so a resumed average continues exactly).</summary>
    public long Updates { get; set; }

    /// <summary>Folds the source model's current weights into the average.</summary>
    public void Update()
    {
        long t = ++Updates;
        double step = decay * (1 - Math.Pow(decay, t - 1)) / (1 - Math.Pow(decay, t));
        using var noGrad = torch.no_grad();
        foreach (var (ema, src) in pairs) ema.mul_(step).add_(src, alpha: 1 - step);
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
