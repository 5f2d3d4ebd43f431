using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// Cuts an image batch [N, C, H, W] into non-overlapping patches, flattens each in (p1 p2 c) order and embeds it:
/// LayerNorm → Linear → LayerNorm, as in the reference (lucidrains' vit-pytorch). Output: [N, patches, dim].
/// </summary>
internal sealed class PatchEmbedding : Module<Tensor, Tensor>
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

    /// <summary>The LayerNorm → Linear → LayerNorm stack (the reference's <c>embed.0/1/2</c>).</summary>
    internal Sequential Sequential => embed;

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
