using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// The standard ViT patch embedding (<see cref="ViTStem.PatchConv"/>): one p×p convolution with stride p and bias
/// (timm's <c>PatchEmbed</c>, torchvision's <c>conv_proj</c>, Hugging Face's <c>patch_embeddings.projection</c>), then the
/// grid flattened row-major into tokens. Input [N, C, H, W]; output [N, (H/p)(W/p), dim].
/// </summary>
internal sealed class ConvPatchEmbedding : Module<Tensor, Tensor>, IStem
{
    private readonly Conv2d proj;

    /// <summary>Creates the patch embedding for <paramref name="config"/>.</summary>
    public ConvPatchEmbedding(ViTConfig config) : base(nameof(ConvPatchEmbedding))
    {
        ArgumentNullException.ThrowIfNull(config);
        proj = Conv2d(config.Channels, config.Dim, config.PatchSize, stride: config.PatchSize);
        RegisterComponents();
    }

    /// <summary>The convolution, registered by the model as <c>patch_embed</c> (timm's <c>patch_embed.proj</c>).</summary>
    public (string Name, Module Module) Registration => ("patch_embed", proj);

    /// <summary>The parameters for <paramref name="config"/>: the p×p convolution's weight and bias.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ParameterLayout(ViTConfig config) =>
    [
        ("patch_embed.weight", [config.Dim, config.Channels, config.PatchSize, config.PatchSize]),
        ("patch_embed.bias", [config.Dim]),
    ];

    /// <inheritdoc />
    public override Tensor forward(Tensor images) => proj.forward(images).flatten(2).transpose(1, 2);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) proj.Dispose();
        base.Dispose(disposing);
    }
}
