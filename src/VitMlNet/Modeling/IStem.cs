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
    static IStem Create(ViTConfig config) => config.Stem switch
    {
        ViTStem.Conv => new ConvStem(config),
        ViTStem.PatchConv => new ConvPatchEmbedding(config),
        ViTStem.ResNet18 => new ResNetStem(config),
        _ => new PatchEmbedding(config),
    };

    /// <summary>The stem's parameters (and floating-point buffers) for <paramref name="config"/>: name and shape.</summary>
    static IEnumerable<(string Name, long[] Shape)> Layout(ViTConfig config) => config.Stem switch
    {
        ViTStem.Conv => ConvStem.ParameterLayout(config),
        ViTStem.PatchConv => ConvPatchEmbedding.ParameterLayout(config),
        ViTStem.ResNet18 => ResNetStem.ParameterLayout(config),
        _ => PatchEmbedding.ParameterLayout(config),
    };

    /// <summary>What the stem of <paramref name="config"/> requires of the rest of the configuration and finds wrong.</summary>
    static IEnumerable<string> Errors(ViTConfig config) => config.Stem switch
    {
        ViTStem.Conv => ConvStem.ConfigErrors(config),
        ViTStem.ResNet18 => ResNetStem.ConfigErrors(config),
        _ => [],
    };
}
