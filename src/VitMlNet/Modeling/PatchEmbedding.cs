using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// Cuts an image batch [N, C, H, W] into non-overlapping patches, flattens each in (p1 p2 c) order and embeds it:
/// LayerNorm → Linear → LayerNorm, as in the reference (lucidrains' vit-pytorch). Output: [N, patches, dim].
/// </summary>
internal sealed class PatchEmbedding : Module<Tensor, Tensor>, IStem
{
    private readonly int patch;
    private readonly Sequential embed;

    /// <summary>Creates the patch embedding for <paramref name="config"/>.</summary>
    public PatchEmbedding(ViTConfig config) : base(nameof(PatchEmbedding))
    {
        patch = config.PatchSize;
        embed = Sequential(LayerNorm(config.PatchDim, config.LayerNormEpsilon), Linear(config.PatchDim, config.Dim), LayerNorm(config.Dim, config.LayerNormEpsilon));
        RegisterComponents();
    }

    /// <summary>The LayerNorm → Linear → LayerNorm stack, registered by the model as <c>embed</c> (the reference's <c>embed.0/1/2</c>).</summary>
    public (string Name, Module Module) Registration => ("embed", embed);

    /// <summary>The parameters for <paramref name="config"/>: the LayerNorm over a flat patch, the Linear, the LayerNorm over a token.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ParameterLayout(ViTConfig config) =>
    [
        ("embed.0.weight", [config.PatchDim]),
        ("embed.0.bias", [config.PatchDim]),
        ("embed.1.weight", [config.Dim, config.PatchDim]),
        ("embed.1.bias", [config.Dim]),
        ("embed.2.weight", [config.Dim]),
        ("embed.2.bias", [config.Dim]),
    ];

    /// <summary>Rearranges [N, C, H, W] into [N, (H/p)(W/p), p·p·C] without embedding.</summary>
    public static Tensor Patchify(Tensor images, int patch)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        return images.reshape(b, c, h / patch, patch, w / patch, patch)
            .permute(0, 2, 4, 3, 5, 1)
            .reshape(b, (h / patch) * (w / patch), patch * patch * c);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images) => embed.forward(Patchify(images, patch));

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) embed.Dispose();
        base.Dispose(disposing);
    }
}
