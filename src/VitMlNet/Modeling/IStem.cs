using static TorchSharp.torch;

namespace VitMlNet.Modeling;

/// <summary>
/// The model's first module: it turns normalized images [N, C, H, W] into patch tokens [N, (H/p)·(W/p), dim], row-major
/// over the grid. One of four (<see cref="ViTConfig.Stem"/>), each in its own file with everything that belongs to it:
/// the module, the names and shapes of its parameters (<c>ParameterLayout</c>) and its configuration rules
/// (<c>ConfigErrors</c>); its ONNX twin is <c>Onnx/Emitters/&lt;Stem&gt;Emitter.cs</c>. The static members below are the
/// one place that picks the stem of a configuration.
/// </summary>
internal interface IStem : IDisposable
{
    /// <summary>The state-dict prefix of the stem's weights (<c>embed</c>, <c>stem</c> or <c>patch_embed</c>) and the module
    /// the model registers under it.</summary>
    (string Name, nn.Module Module) Registration { get; }

    /// <summary>Patch tokens [N, (H/p)·(W/p), dim] of normalized images [N, C, H, W].</summary>
    Tensor forward(Tensor images);

    /// <summary>A freshly initialized stem for <paramref name="config"/>.</summary>
    static IStem Create(ViTConfig config) => Of(config).Create(config);

    /// <summary>The stem's parameters (and floating-point buffers) for <paramref name="config"/>: name and shape.</summary>
    static IEnumerable<(string Name, long[] Shape)> Layout(ViTConfig config) => Of(config).Layout(config);

    /// <summary>What the stem of <paramref name="config"/> requires of the rest of the configuration and finds wrong.</summary>
    static IEnumerable<string> Errors(ViTConfig config) => Of(config).Errors(config);

    /// <summary>The one choice of stem: its module, layout and configuration rules for <see cref="ViTConfig.Stem"/>.</summary>
    private static StemKind Of(ViTConfig config) => config.Stem switch
    {
        ViTStem.Conv => new(c => new ConvStem(c), ConvStem.ParameterLayout, ConvStem.ConfigErrors),
        ViTStem.PatchConv => new(c => new ConvPatchEmbedding(c), ConvPatchEmbedding.ParameterLayout, _ => []),
        ViTStem.ResNet18 => new(c => new ResNetStem(c), ResNetStem.ParameterLayout, ResNetStem.ConfigErrors),
        _ => new(c => new PatchEmbedding(c), PatchEmbedding.ParameterLayout, _ => []),
    };

    /// <summary>What a stem file provides.</summary>
    private sealed record StemKind(
        Func<ViTConfig, IStem> Create,
        Func<ViTConfig, IEnumerable<(string Name, long[] Shape)>> Layout,
        Func<ViTConfig, IEnumerable<string>> Errors);
}
