using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// A small convolutional stem in place of the patch embedding ("Early Convolutions Help Transformers See Better",
/// Xiao et al., arXiv 2106.14881): a 3×3 convolution at full resolution, then one 3×3 stride-2 convolution per
/// halving of the patch size (channels doubling each time; with <see cref="ViTConfig.StemConvsPerStage"/> above 1, more
/// 3×3 stride-1 convolutions at each halved resolution), each followed by GELU (after a BatchNorm with
/// <see cref="ViTConfig.StemBatchNorm"/>), then a 1×1 convolution to the token width and a LayerNorm over each token.
/// A patch size of 2^k gives the same (H/p)·(W/p) token grid, in the same row-major order, as <see cref="PatchEmbedding"/>. Output: [N, tokens, dim].
/// </summary>
/// <remarks>
/// Parameter names: <c>stem.convs.{2i}.weight/bias</c> for the i-th convolution (GELUs sit at the odd indices) and
/// <c>stem.norm.weight/bias</c>; with <see cref="ViTConfig.StemBatchNorm"/>, <c>stem.convs.{3i}.weight</c> for the
/// convolution and <c>stem.convs.{3i+1}.*</c> for its BatchNorm, whose running statistics are part of the model's
/// state (see <see cref="ConvName"/> and <see cref="NormName"/>).
/// </remarks>
internal sealed class ConvStem : Module<Tensor, Tensor>, IStem
{
    private readonly Sequential convs;
    private readonly LayerNorm norm;
    private readonly HashSet<int> blurBefore = new();

    /// <summary>Creates the stem for <paramref name="config"/> (which must use <see cref="ViTStem.Conv"/>).</summary>
    public ConvStem(ViTConfig config) : base(nameof(ConvStem))
    {
        var layers = new List<Module<Tensor, Tensor>>();
        var layout = Layout(config);
        for (int i = 0; i < layout.Count; i++)
        {
            var (inChannels, outChannels, kernel, stride) = layout[i];
            bool norm = HasBatchNorm(config, i);
            layers.Add(Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, bias: !norm));
            if (norm) layers.Add(BatchNorm2d(outChannels));
            if (kernel != 1) layers.Add(GELU());
        }
        convs = Sequential(layers);
        norm = LayerNorm(config.Dim, config.LayerNormEpsilon);
        for (int i = 0; i < layout.Count; i++)
            if (HasBlur(config, i)) blurBefore.Add(ModuleIndex(config, i));
        RegisterComponents();
    }

    /// <summary>The stem itself, registered by the model as <c>stem</c>.</summary>
    public (string Name, Module Module) Registration => ("stem", this);

    /// <summary>
    /// The parameters for <paramref name="config"/>: each convolution's weight, then its BatchNorm's weight, bias and
    /// running statistics with <see cref="ViTConfig.StemBatchNorm"/> (else its bias), then the LayerNorm over each token.
    /// </summary>
    public static IEnumerable<(string Name, long[] Shape)> ParameterLayout(ViTConfig config)
    {
        var list = new List<(string, long[])>();
        var convs = Layout(config);
        for (int i = 0; i < convs.Count; i++)
        {
            var (inChannels, outChannels, kernel, _) = convs[i];
            string conv = ConvName(config, i);
            list.Add(($"{conv}.weight", [outChannels, inChannels, kernel, kernel]));
            if (HasBatchNorm(config, i))
            {
                string norm = NormName(config, i);
                list.Add(($"{norm}.weight", [outChannels]));
                list.Add(($"{norm}.bias", [outChannels]));
                list.Add(($"{norm}.running_mean", [outChannels]));
                list.Add(($"{norm}.running_var", [outChannels]));
            }
            else list.Add(($"{conv}.bias", [outChannels]));
        }
        list.Add(("stem.norm.weight", [config.Dim]));
        list.Add(("stem.norm.bias", [config.Dim]));
        return list;
    }

    /// <summary>What the stem requires of <paramref name="config"/> and finds wrong: a power-of-two patch size, positive
    /// <see cref="ViTConfig.StemChannels"/>, <see cref="ViTConfig.StemConvsPerStage"/> in range.</summary>
    public static IEnumerable<string> ConfigErrors(ViTConfig config)
    {
        int patch = config.PatchSize;
        if (patch > 0 && (patch & (patch - 1)) != 0)
            yield return $"a convolutional stem needs a power-of-two PatchSize (actual {patch})";
        if (config.StemChannels <= 0) yield return $"StemChannels must be positive (actual {config.StemChannels})";
        if (config.StemConvsPerStage is < 1 or > ViTConfig.MaxStemConvsPerStage)
            yield return $"StemConvsPerStage must be in [1, {ViTConfig.MaxStemConvsPerStage}] (actual {config.StemConvsPerStage})";
    }

    /// <summary>
    /// The convolutions of the stem for <paramref name="config"/>, in order: input and output channels, kernel side and
    /// stride (padding is kernel / 2). All but the last (the 1×1 projection) are followed by GELU.
    /// </summary>
    public static IReadOnlyList<(int InChannels, int OutChannels, int Kernel, int Stride)> Layout(ViTConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var list = new List<(int, int, int, int)>();
        int width = config.StemChannels;
        list.Add((config.Channels, width, 3, 1));
        for (int p = config.PatchSize; p > 1; p /= 2)
        {
            list.Add((width, width * 2, 3, 2));
            width *= 2;
            for (int k = 1; k < config.StemConvsPerStage; k++) list.Add((width, width, 3, 1));
        }
        list.Add((width, config.Dim, 1, 1));
        return list;
    }

    /// <summary>Parameter-name prefix of convolution <paramref name="index"/> of <see cref="Layout"/> (e.g. <c>stem.convs.0</c>).</summary>
    public static string ConvName(ViTConfig config, int index)
    {
        ArgumentNullException.ThrowIfNull(config);
        return $"stem.convs.{ModuleIndex(config, index)}";
    }

    /// <summary>Position in the module sequence of convolution <paramref name="index"/> of <see cref="Layout"/>: each 3×3 one is followed by its GELU (and BatchNorm).</summary>
    private static int ModuleIndex(ViTConfig config, int index) => index * (config.StemBatchNorm ? 3 : 2);

    /// <summary>Whether convolution <paramref name="index"/> of <see cref="Layout"/> is followed by a BatchNorm (every 3×3 one, with <see cref="ViTConfig.StemBatchNorm"/>).</summary>
    public static bool HasBatchNorm(ViTConfig config, int index)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.StemBatchNorm && Layout(config)[index].Kernel != 1;
    }

    /// <summary>Whether convolution <paramref name="index"/> of <see cref="Layout"/> reads its input through <see cref="Blur"/> (every stride-2 one, with <see cref="ViTConfig.StemAntiAlias"/>).</summary>
    public static bool HasBlur(ViTConfig config, int index)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.StemAntiAlias && Layout(config)[index].Stride > 1;
    }

    /// <summary>Parameter-name prefix of the BatchNorm after convolution <paramref name="index"/> (with <see cref="ViTConfig.StemBatchNorm"/>).</summary>
    public static string NormName(ViTConfig config, int index)
    {
        ArgumentNullException.ThrowIfNull(config);
        return $"stem.convs.{index * 3 + 1}";
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        Tensor x;
        if (blurBefore.Count == 0) x = convs.forward(images);
        else
        {
            x = images;
            for (int k = 0; k < convs.Count; k++)
            {
                if (blurBefore.Contains(k)) x = Blur(x);
                x = convs[k].call(x);
            }
        }
        // x: [N, dim, H/p, W/p]
        x = x.flatten(2).transpose(1, 2);           // [N, tokens, dim], row-major over the grid
        return norm.forward(x);
    }

    /// <summary>
    /// The fixed 3×3 binomial blur of <see cref="ViTConfig.StemAntiAlias"/> on [N, C, H, W], same size out: two 2×2
    /// stride-1 averages, the first zero-padded by one on every side, give ([1 2 1]ᵀ[1 2 1]/16) ∗ x with zero padding.
    /// </summary>
    public static Tensor Blur(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var once = functional.avg_pool2d(x, 2, stride: 1, padding: 1, count_include_pad: true);
        return functional.avg_pool2d(once, 2, stride: 1);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            convs.Dispose();
            norm.Dispose();
        }
        base.Dispose(disposing);
    }
}
