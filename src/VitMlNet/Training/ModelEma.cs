using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// Exponential moving average of a model's parameters and BatchNorm running statistics (its
/// <see cref="VisionTransformer.NamedState"/>; Polyak averaging, as timm's ModelEmaV2):
/// after each step, ema = decay·ema + (1 − decay)·weights. Owns a model copy used for validation and export.
/// </summary>
public sealed class ModelEma : IDisposable
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

    /// <summary>Folds the source model's current weights into the average.</summary>
    public void Update()
    {
        using var noGrad = torch.no_grad();
        foreach (var (ema, src) in pairs) ema.mul_(decay).add_(src, alpha: 1 - decay);
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
