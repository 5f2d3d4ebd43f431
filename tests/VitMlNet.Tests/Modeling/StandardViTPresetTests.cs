using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;

namespace VitMlNet.Tests.Modeling;

public class StandardViTPresetTests
{
    // Published parameter counts at 1000 classes (timm's model cards; DeiT paper: Ti 5.7M, S 22M, B 86M; ViT-B/16 86.6M).
    [Theory]
    [InlineData("vit-tiny-patch16-224", 5_717_416)]
    [InlineData("vit-small-patch16-224", 22_050_664)]
    [InlineData("vit-base-patch16-224", 86_567_656)]
    [InlineData("deit-tiny-patch16-224", 5_717_416)]
    [InlineData("deit-small-patch16-224", 22_050_664)]
    [InlineData("deit-base-patch16-224", 86_567_656)]
    [InlineData("deit-tiny-distilled-patch16-224", 5_910_800)]
    [InlineData("deit-small-distilled-patch16-224", 22_436_432)]
    [InlineData("deit-base-distilled-patch16-224", 87_338_192)]
    public void PresetsHaveThePublishedParameterCounts(string preset, long expected)
    {
        var config = ViTConfig.FromPreset(preset);
        Assert.Equal(expected, ViTParameterLayout.For(config).Sum(p => ViTParameterLayout.Numel(p.Shape)));
        Assert.Equal(224, config.ImageHeight);
        Assert.Equal(16, config.PatchSize);
        Assert.Equal(64, config.DimHead);
    }

    [Fact]
    public void DeitTinyModelHasItsLayoutsParameters()
    {
        torch.manual_seed(1);
        using var model = new VisionTransformer(ViTConfig.FromPreset("deit-tiny-distilled-patch16-224"));
        var layout = ViTParameterLayout.For(model.Config).ToDictionary(p => p.Name, p => p.Shape);
        var state = model.NamedState().ToList();
        Assert.Equal(layout.Count, state.Count);
        foreach (var (name, tensor) in state) Assert.Equal(layout[name], tensor.shape);
        Assert.Equal(5_910_800, model.parameters().Sum(p => p.numel()));
        model.eval();
        using var logits = model.call(torch.zeros(1, 3, 224, 224));
        Assert.Equal(new long[] { 1, 1000 }, logits.shape);
    }
}
