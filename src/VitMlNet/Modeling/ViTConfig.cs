namespace VitMlNet.Modeling;

/// <summary>How the encoder's output tokens become one embedding for the classifier head.</summary>
public enum ViTPooling
{
    /// <summary>Take the class token (the original ViT, arXiv 2010.11929).</summary>
    Cls,
    /// <summary>Average all tokens.</summary>
    Mean,
}

/// <summary>How images become the token sequence.</summary>
public enum ViTStem
{
    /// <summary>
    /// Non-overlapping patches, LayerNorm → Linear → LayerNorm (the reference, lucidrains' vit-pytorch). The first
    /// LayerNorm normalizes each patch's raw pixels, so every flat patch (one colour: pixel art, icons, scans enlarged
    /// with nearest neighbour so that each patch-aligned block is one value) becomes the same vector whatever its
    /// brightness: such images are invisible to it. Only the <c>seed</c> preset uses it; the other presets use
    /// <see cref="PatchConv"/>, which keeps a flat patch's value.
    /// </summary>
    Patch,
    /// <summary>A small convolutional stem (<see cref="ConvStem"/>): 3×3 convolutions down to the patch grid, then 1×1 to the token width.</summary>
    Conv,
    /// <summary>
    /// The standard ViT patch embedding (<see cref="ConvPatchEmbedding"/>): one p×p convolution with stride p and bias, as in
    /// the original ViT, DeiT, timm, Hugging Face and torchvision (parameters <c>patch_embed.weight</c> [dim, C, p, p], <c>patch_embed.bias</c>).
    /// </summary>
    PatchConv,
    /// <summary>
    /// The hybrid ViT of the ViT paper (section 3.1): the early stages of a ResNet18 (<see cref="ResNetStem"/>; patch
    /// size 4, 8, 16 or 32 picks how many) as the patch embedding, then a 1×1 projection to the token width. With
    /// pretrained ImageNet weights (ML.NET's ResNet18, loaded by the trainer) a ViT learns from a few hundred photos.
    /// RGB only.
    /// </summary>
    ResNet18,
}

/// <summary>
/// A Vision Transformer architecture as data: input geometry, normalization statistics and layer sizes.
/// Named presets (<see cref="Seed"/>, <see cref="Tiny"/>, ...) mirror timm's configuration table.
/// </summary>
/// <remarks>
/// Configurations compare by value over every field (the record's generated equality; <see cref="Mean"/> and
/// <see cref="Std"/> are <see cref="ChannelValues"/>, equal element by element), so two configurations with the same
/// fields are the same architecture.
/// Use <see cref="Validate"/> (the trainer options validate it too) to check a configuration
/// before building a model from it.
/// </remarks>
public sealed partial record ViTConfig
{
    /// <summary>Preset name, informational. The default is "custom".</summary>
    public string Name { get; init; } = "custom";

    /// <summary>Input image height in pixels. The default is 32.</summary>
    public int ImageHeight { get; init; } = 32;

    /// <summary>Input image width in pixels. The default is 32.</summary>
    public int ImageWidth { get; init; } = 32;

    /// <summary>Input channels: 1 (gray) or 3 (RGB). The default is 3.</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Side of the square patches; must divide height and width. The default is 4.</summary>
    public int PatchSize { get; init; } = 4;

    /// <summary>Token embedding width. The default is 128.</summary>
    public int Dim { get; init; } = 128;

    /// <summary>Number of encoder blocks. The default is 6.</summary>
    public int Depth { get; init; } = 6;

    /// <summary>Attention heads per block. The default is 8.</summary>
    public int Heads { get; init; } = 8;

    /// <summary>Width of each attention head (heads × dim_head is the attention's inner width). The default is 64.</summary>
    public int DimHead { get; init; } = 64;

    /// <summary>Feed-forward hidden width as a multiple of <see cref="Dim"/>. The default is 4.</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>Dropout inside attention (on the attention weights and the output projection) and the feed-forward. The default is 0.1.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Dropout on the token sequence after adding position embeddings. The default is 0.1.</summary>
    public double EmbeddingDropout { get; init; } = 0.1;

    /// <summary>Stochastic depth: the drop-path rate of the last block, rising linearly from 0 at the first. The default is 0.</summary>
    public double DropPathRate { get; init; }

    /// <summary>How images become tokens. The default is <see cref="ViTStem.Patch"/> (the reference).</summary>
    public ViTStem Stem { get; init; } = ViTStem.Patch;

    /// <summary>
    /// Channels of the first convolution of a <see cref="ViTStem.Conv"/> stem (doubling at each stride-2 convolution);
    /// ignored by the patch stem. The default is 32.
    /// </summary>
    public int StemChannels { get; init; } = 32;

    /// <summary>
    /// Batch normalization after every 3×3 convolution of a <see cref="ViTStem.Conv"/> stem (convolution without bias →
    /// BatchNorm → GELU), as the convolutional stems of "Early Convolutions Help Transformers See Better" (Xiao et al.
    /// 2021). Scoring uses the running statistics; the ONNX export writes them as BatchNormalization nodes. Ignored by
    /// the patch stem. The default is false.
    /// </summary>
    public bool StemBatchNorm { get; init; }

    /// <summary>
    /// 3×3 convolutions per halving stage of a <see cref="ViTStem.Conv"/> stem: the first of each stage has stride 2 and
    /// doubles the channels, the others have stride 1 and keep them, each followed by BatchNorm (with
    /// <see cref="StemBatchNorm"/>) and GELU. 2 gives a ResNet-like stem of two convolutions per resolution, so every
    /// token mixes its neighbours at the token grid before attention. No effect when <see cref="PatchSize"/> is 1 (no
    /// halving). Ignored by the patch stem. The default is 1.
    /// </summary>
    public int StemConvsPerStage { get; init; } = 1;

    /// <summary>
    /// Anti-aliased downsampling in a <see cref="ViTStem.Conv"/> stem ("Making Convolutional Networks Shift-Invariant
    /// Again", Zhang, arXiv 1904.11486): each stride-2 convolution reads its input through a fixed 3×3 binomial blur
    /// ([1 2 1]ᵀ[1 2 1]/16, zero padding, stride 1; no parameters), so that a one-pixel shift of the image moves the
    /// token features smoothly instead of aliasing. Ignored by the patch stem. The default is false. No preset uses it: on
    /// <c>fmnist-accurate</c> its small accuracy gain did not pay for the slower step (docs/benchmarks.md).
    /// </summary>
    public bool StemAntiAlias { get; init; }

    /// <summary>
    /// Leaves out this many basic blocks at the end of a <see cref="ViTStem.ResNet18"/> stem's last stage, so the tokens
    /// come from an earlier, less ImageNet-specific layer (as timm's <c>features_only</c> backbones take features before a
    /// network's end). On the small photo sets of docs/benchmarks.md, 1 did better on one test split and worse on the
    /// larger selection split than the whole network, which <see cref="HybridResNet18"/> keeps. The stage keeps at least
    /// one block. Ignored by other stems. The default is 0.
    /// </summary>
    public int StemSkipLastBlocks { get; init; }

    /// <summary>The largest <see cref="StemConvsPerStage"/> accepted.</summary>
    public const int MaxStemConvsPerStage = 8;

    /// <summary>
    /// Standard deviation of the normal initialization of the class token, the distillation token and the position
    /// embedding. The default is 1 (the reference's <c>torch.randn</c>); timm's ViTs use 0.02.
    /// </summary>
    public double TokenInitStd { get; init; } = 1.0;

    /// <summary>
    /// Adds a 3×3 depthwise convolution over the patch-token grid inside every feed-forward layer, after its first
    /// Linear and before the GELU, as a residual (h + DWConv(h)); prefix tokens (class, distillation) skip it. This gives
    /// the encoder the locality bias of a CNN, which ViTs trained from scratch on small datasets lack (the ConvFFN of
    /// PVTv2, arXiv 2106.13797; LocalViT, arXiv 2104.05707). With class-token pooling the last block has none: its
    /// patch tokens never reach the output. The default is false (the reference).
    /// </summary>
    public bool ConvFeedForward { get; init; }

    /// <summary>
    /// Locality self-attention ("Vision Transformer for Small-Size Datasets", Lee et al., arXiv 2112.13492): every
    /// attention layer divides its scores by a learnable temperature (a scalar <c>temperature</c> parameter, initialized
    /// to √dim_head, the fixed divisor of the reference) instead of the fixed √dim_head, and masks the diagonal, so no
    /// token attends to itself and the softmax is sharper where it needs to be. The default is false (the reference).
    /// </summary>
    public bool LocalitySelfAttention { get; init; }

    /// <summary>
    /// Adds a BatchNorm over the hidden features inside every feed-forward layer, after its first Linear (and the
    /// depthwise convolution of <see cref="ConvFeedForward"/>) and before the GELU, with every token of every image as
    /// one sample of the batch statistics ("Leveraging Batch Normalization for Vision Transformers", Yao et al., ICCVW
    /// 2021: a BN in the feed-forward speeds up a ViT's convergence). At inference it is a fixed per-feature affine map
    /// from the running statistics. The default is false (the reference).
    /// </summary>
    public bool FeedForwardBatchNorm { get; init; }

    /// <summary>Whether encoder block <paramref name="block"/> (0-based) has the depthwise convolution of <see cref="ConvFeedForward"/>.</summary>
    public bool HasConvFeedForward(int block) => ConvFeedForward && (!LastBlockPrefixOnly || block < Depth - 1);

    /// <summary>
    /// Whether only the prefix tokens (class, then distillation) of the last block's output are read: true with class-token
    /// pooling. The model, its ONNX graph and the FLOP count of <c>vit bench</c> then run that block's queries, attention
    /// rows, output projection and feed-forward for the prefix tokens alone, and it has no depthwise-conv feed-forward.
    /// </summary>
    public bool LastBlockPrefixOnly => Pooling == ViTPooling.Cls;

    /// <summary>Pooling of the encoder output. The default is <see cref="ViTPooling.Cls"/>.</summary>
    public ViTPooling Pooling { get; init; } = ViTPooling.Cls;

    /// <summary>Adds a DeiT distillation token with its own head (arXiv 2012.12877). The default is false.</summary>
    public bool DistillationToken { get; init; }

    /// <summary>Number of classes of the classifier head. The default is 10.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>Per-channel mean of pixels scaled to [0,1], subtracted before the model. The default is 0.5 per channel.</summary>
    public ChannelValues Mean { get; init; } = [0.5f, 0.5f, 0.5f];

    /// <summary>Per-channel standard deviation of pixels scaled to [0,1]. The default is 0.5 per channel.</summary>
    public ChannelValues Std { get; init; } = [0.5f, 0.5f, 0.5f];

    /// <summary>Number of patches: (height / patch) × (width / patch).</summary>
    public int NumPatches => (ImageHeight / PatchSize) * (ImageWidth / PatchSize);

    /// <summary>Number of prefix tokens: the class token plus the optional distillation token.</summary>
    public int NumPrefixTokens => DistillationToken ? 2 : 1;

    /// <summary>Values in one flattened patch: channels × patch × patch.</summary>
    public int PatchDim => Channels * PatchSize * PatchSize;

    /// <summary>Feed-forward hidden width: round(dim × mlp ratio).</summary>
    public int MlpHidden => (int)Math.Round(Dim * MlpRatio);

    /// <summary>Attention inner width: heads × dim_head.</summary>
    public int InnerDim => Heads * DimHead;

    /// <summary>
    /// The reference workload's model (the PyTorch seed script): 32×32×3, patch 4, dim 128, depth 6, heads 8,
    /// dim_head 64, MLP ratio 4, dropout 0.1, class-token pooling; 2,383,338 parameters at 10 classes.
    /// </summary>
    /// <remarks>
    /// Kept exactly as the reference, including its patch embedding (<see cref="ViTStem.Patch"/>: LayerNorm over each
    /// patch's raw pixels), which cannot see flat patches: an image whose patch-aligned blocks are each one colour (pixel
    /// art, icons, screenshots, low-resolution scans enlarged with nearest neighbour) maps every such patch to the same
    /// token, so it trains on randomly cropped (shifted) views and then scores the aligned image near chance. The
    /// training self-check (<see cref="VisionTransformerTransformer.SelfCheck"/>) warns when that happens. Every other
    /// preset and recipe uses <see cref="ViTStem.PatchConv"/> or a convolutional stem.
    /// </remarks>
    public static ViTConfig Seed { get; } = new() { Name = "seed" };

    /// <summary>
    /// A very small model for tests and smoke runs: 16×16×3, patch 4 (<see cref="ViTStem.PatchConv"/>), dim 32, depth 2,
    /// heads 2, dim_head 16.
    /// </summary>
    public static ViTConfig Tiny { get; } = new()
    {
        Name = "tiny", Stem = ViTStem.PatchConv, ImageHeight = 16, ImageWidth = 16, PatchSize = 4, Dim = 32, Depth = 2, Heads = 2, DimHead = 16,
        MlpRatio = 2, Dropout = 0, EmbeddingDropout = 0,
    };

    /// <summary>
    /// A small, fast ViT for 28×28 gray images such as Fashion-MNIST: the standard convolutional patch embedding
    /// (<see cref="ViTStem.PatchConv"/>, patch 4, 49 tokens), dim 64, depth 4, heads 4 × 16, MLP ratio 2, no dropout;
    /// Fashion-MNIST mean/std. Sized for minutes per epoch on a small CPU (docs/benchmarks.md).
    /// </summary>
    public static ViTConfig FmnistFast { get; } = new()
    {
        Name = "fmnist-fast", Stem = ViTStem.PatchConv, ImageHeight = 28, ImageWidth = 28, Channels = 1, PatchSize = 4, Dim = 64, Depth = 4, Heads = 4, DimHead = 16,
        MlpRatio = 2, Dropout = 0, EmbeddingDropout = 0, Mean = new[] { 0.286f }, Std = new[] { 0.353f },
    };

    /// <summary>
    /// A deeper ViT for 28×28 gray images, for accuracy: a convolutional stem with batch normalization and two
    /// convolutions per stage (32 → 64 → 128 channels down to a 7×7 grid of 49 tokens), dim 96, depth 5, heads 4 × 24, MLP ratio 2 with a BatchNorm in each
    /// feed-forward, drop-path 0.05; Fashion-MNIST mean/std.
    /// </summary>
    public static ViTConfig FmnistAccurate { get; } = FmnistFast with
    {
        Name = "fmnist-accurate", Dim = 96, Depth = 5, Heads = 4, DimHead = 24, DropPathRate = 0.05, Stem = ViTStem.Conv, StemChannels = 32,
        StemBatchNorm = true, StemConvsPerStage = 2, FeedForwardBatchNorm = true,
    };

    /// <summary>
    /// The hybrid ViT for small photo datasets: ML.NET's pretrained ResNet18 (all four stages, <see cref="ViTStem.ResNet18"/>)
    /// turns a 288×288 photo into a 9×9 grid of 512-channel features, a 1×1 projection makes them 81 tokens of width 192,
    /// and a 2-block ViT (3 heads × 64, MLP ratio 2, qkv bias, final LayerNorm, class-token pooling) classifies them. Mean
    /// and std are the pretrained network's (its per-channel mean pixel, on the 0..255 scale it was trained on). The ResNet
    /// was trained at 224×224; 288 won over 224 and 320 on both of bench/small-data's selection splits (docs/benchmarks.md).
    /// </summary>
    public static ViTConfig HybridResNet18 { get; } = new()
    {
        Name = "hybrid-resnet18-288", ImageHeight = 288, ImageWidth = 288, Channels = 3, PatchSize = 32, Stem = ViTStem.ResNet18,
        Dim = 192, Depth = 2, Heads = 3, DimHead = 64, MlpRatio = 2, Dropout = 0.1, EmbeddingDropout = 0, TokenInitStd = 0.02,
        QkvBias = true, FinalNorm = true, Mean = Checkpoints.ResNet18Weights.Mean, Std = Checkpoints.ResNet18Weights.Std,
    };

    /// <summary>Known preset names, case-insensitive.</summary>
    public static IReadOnlyList<string> PresetNames => Presets.Keys.ToArray();

    private static readonly Dictionary<string, Func<ViTConfig>> Presets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["seed"] = () => Seed,
        ["tiny"] = () => Tiny,
        ["fmnist-fast"] = () => FmnistFast,
        ["fmnist-accurate"] = () => FmnistAccurate,
        ["hybrid-resnet18-288"] = () => HybridResNet18,
        ["vit-tiny-patch16-224"] = () => VitTinyPatch16!,
        ["vit-small-patch16-224"] = () => VitSmallPatch16!,
        ["vit-base-patch16-224"] = () => VitBasePatch16!,
        ["deit-tiny-patch16-224"] = () => DeitTinyPatch16!,
        ["deit-small-patch16-224"] = () => DeitSmallPatch16!,
        ["deit-base-patch16-224"] = () => DeitBasePatch16!,
        ["deit-tiny-distilled-patch16-224"] = () => DeitTinyPatch16! with { Name = "deit-tiny-distilled-patch16-224", DistillationToken = true },
        ["deit-small-distilled-patch16-224"] = () => DeitSmallPatch16! with { Name = "deit-small-distilled-patch16-224", DistillationToken = true },
        ["deit-base-distilled-patch16-224"] = () => DeitBasePatch16! with { Name = "deit-base-distilled-patch16-224", DistillationToken = true },
    };

    /// <summary>Returns the preset with the given name.</summary>
    /// <exception cref="ArgumentException">The name is not a known preset; the message lists the known ones.</exception>
    public static ViTConfig FromPreset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Presets.TryGetValue(name, out var make)) return make();
        throw new ArgumentException($"Unknown ViT preset '{name}'. Known presets: {string.Join(", ", Presets.Keys)}.", nameof(name));
    }

    /// <summary>Returns this configuration adapted to an input geometry and class count (mean/std follow the channel count).</summary>
    public ViTConfig WithInput(int channels, int height, int width, int numClasses)
    {
        var c = this with { Channels = channels, ImageHeight = height, ImageWidth = width, NumClasses = numClasses };
        if (Mean.Count != channels) c = c with { Mean = Enumerable.Repeat(Mean.Count > 0 ? Mean.Average() : 0.5f, channels).ToArray() };
        if (Std.Count != channels) c = c with { Std = Enumerable.Repeat(Std.Count > 0 ? Std.Average() : 0.5f, channels).ToArray() };
        return c;
    }

    /// <summary>Lists every problem of this configuration; empty when it is valid.</summary>
    public IReadOnlyList<string> GetErrors()
    {
        var e = new List<string>();
        if (Channels is not (1 or 3)) e.Add($"Channels must be 1 or 3 (actual {Channels})");
        if (ImageHeight <= 0 || ImageWidth <= 0) e.Add($"image size must be positive (actual {ImageHeight}x{ImageWidth})");
        if (PatchSize <= 0) e.Add($"PatchSize must be positive (actual {PatchSize})");
        else if (ImageHeight % PatchSize != 0 || ImageWidth % PatchSize != 0)
            e.Add($"PatchSize ({PatchSize}) must divide the image size ({ImageHeight}x{ImageWidth})");
        e.AddRange(IStem.Errors(this));
        if (Dim <= 0) e.Add($"Dim must be positive (actual {Dim})");
        if (Depth <= 0) e.Add($"Depth must be positive (actual {Depth})");
        if (Heads <= 0) e.Add($"Heads must be positive (actual {Heads})");
        if (DimHead <= 0) e.Add($"DimHead must be positive (actual {DimHead})");
        if (MlpRatio <= 0) e.Add($"MlpRatio must be positive (actual {MlpRatio})");
        if (Dropout is < 0 or >= 1) e.Add($"Dropout must be in [0, 1) (actual {Dropout})");
        if (EmbeddingDropout is < 0 or >= 1) e.Add($"EmbeddingDropout must be in [0, 1) (actual {EmbeddingDropout})");
        if (DropPathRate is < 0 or >= 1) e.Add($"DropPathRate must be in [0, 1) (actual {DropPathRate})");
        if (!(TokenInitStd > 0) || double.IsInfinity(TokenInitStd)) e.Add($"TokenInitStd must be positive and finite (actual {TokenInitStd})");
        if (!(LayerNormEpsilon > 0) || double.IsInfinity(LayerNormEpsilon)) e.Add($"LayerNormEpsilon must be positive and finite (actual {LayerNormEpsilon})");
        if (NumClasses < 2) e.Add($"NumClasses must be at least 2 (actual {NumClasses})");
        if (Mean.Count != Channels) e.Add($"Mean must have one value per channel (expected {Channels}, actual {Mean.Count})");
        if (Std.Count != Channels) e.Add($"Std must have one value per channel (expected {Channels}, actual {Std.Count})");
        else if (Std.Any(s => s <= 0)) e.Add("Std values must be positive");
        return e;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every problem, if any.</summary>
    public void Validate()
    {
        var errors = GetErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid ViT configuration '{Name}': {string.Join("; ", errors)}.");
    }
}
