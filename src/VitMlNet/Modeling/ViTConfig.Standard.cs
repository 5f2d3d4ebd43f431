namespace VitMlNet.Modeling;

// The standard ViT / DeiT architecture options and presets (timm, Hugging Face transformers, torchvision).
public sealed partial record ViTConfig
{
    /// <summary>ImageNet's per-channel mean (RGB), used by DeiT, timm's defaults and torchvision.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet's per-channel standard deviation (RGB), used by DeiT, timm's defaults and torchvision.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// A bias on the attention's q, k and v projections (<c>to_qkv.bias</c> [3·heads·dim_head]), as the standard ViT
    /// (timm's <c>qkv_bias=True</c>). The default is false (the reference has none).
    /// </summary>
    public bool QkvBias { get; init; }

    /// <summary>
    /// A LayerNorm over the tokens after the last block, before pooling (<c>norm.weight</c>, <c>norm.bias</c>), as the
    /// standard ViT. The default is false (the reference has none).
    /// </summary>
    public bool FinalNorm { get; init; }

    /// <summary>
    /// Epsilon of every LayerNorm. The default is 1e-5 (PyTorch's default, the reference); timm and torchvision ViTs
    /// use 1e-6, Hugging Face's ViT 1e-12.
    /// </summary>
    public double LayerNormEpsilon { get; init; } = 1e-5;

    /// <summary>
    /// The standard ViT architecture (arXiv 2010.11929) at 224×224 with 16×16 patches, as timm builds it: convolutional
    /// patch embedding, qkv with bias, pre-norm blocks, GELU MLP of ratio 4, final LayerNorm (epsilon 1e-6), class
    /// token and learned position embedding, 1000 classes, ImageNet mean/std, tokens initialized with std 0.02, no dropout.
    /// </summary>
    public static ViTConfig Standard(string name, int dim, int depth, int heads) => new()
    {
        Name = name, ImageHeight = 224, ImageWidth = 224, Channels = 3, PatchSize = 16, Dim = dim, Depth = depth, Heads = heads,
        DimHead = dim / heads, MlpRatio = 4, Dropout = 0, EmbeddingDropout = 0, Stem = ViTStem.PatchConv, QkvBias = true,
        FinalNorm = true, LayerNormEpsilon = 1e-6, TokenInitStd = 0.02, NumClasses = 1000, Mean = ImageNetMean.ToArray(), Std = ImageNetStd.ToArray(),
    };

    /// <summary>ViT-Ti/16 at 224 (timm's <c>vit_tiny_patch16_224</c>): dim 192, depth 12, 3 heads; 5,717,416 parameters at 1000 classes.</summary>
    public static ViTConfig VitTinyPatch16 { get; } = Standard("vit-tiny-patch16-224", 192, 12, 3);

    /// <summary>ViT-S/16 at 224 (timm's <c>vit_small_patch16_224</c>): dim 384, depth 12, 6 heads; 22,050,664 parameters.</summary>
    public static ViTConfig VitSmallPatch16 { get; } = Standard("vit-small-patch16-224", 384, 12, 6);

    /// <summary>ViT-B/16 at 224 (timm's <c>vit_base_patch16_224</c>, torchvision's <c>vit_b_16</c>, <c>google/vit-base-patch16-224</c>): dim 768, depth 12, 12 heads; 86,567,656 parameters.</summary>
    public static ViTConfig VitBasePatch16 { get; } = Standard("vit-base-patch16-224", 768, 12, 12);

    /// <summary>DeiT-Ti (Touvron et al., arXiv 2012.12877; <c>deit_tiny_patch16_224</c>): ViT-Ti/16 with drop-path 0.1; 5,717,416 parameters (5.7M).</summary>
    public static ViTConfig DeitTinyPatch16 { get; } = Standard("deit-tiny-patch16-224", 192, 12, 3) with { DropPathRate = 0.1 };

    /// <summary>DeiT-S (<c>deit_small_patch16_224</c>): ViT-S/16 with drop-path 0.1; 22,050,664 parameters (22M).</summary>
    public static ViTConfig DeitSmallPatch16 { get; } = Standard("deit-small-patch16-224", 384, 12, 6) with { DropPathRate = 0.1 };

    /// <summary>DeiT-B (<c>deit_base_patch16_224</c>): ViT-B/16 with drop-path 0.1; 86,567,656 parameters (86.6M).</summary>
    public static ViTConfig DeitBasePatch16 { get; } = Standard("deit-base-patch16-224", 768, 12, 12) with { DropPathRate = 0.1 };
}
