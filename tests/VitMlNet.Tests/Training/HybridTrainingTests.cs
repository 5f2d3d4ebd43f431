using TorchSharp;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Training;
using Xunit;

namespace VitMlNet.Tests.Training;

/// <summary>Training the hybrid ViT on ML.NET's pretrained ResNet18: pretrained start, frozen stem, cached views.</summary>
public class HybridTrainingTests
{
    // Two stages of the ResNet (stride 8) on 32×32 images: a 4×4 token grid, fast enough for a unit test.
    private static ViTConfig Config() => (ViTConfig.HybridResNet18 with { PatchSize = 8, Dim = 32, Heads = 2, DimHead = 16, Depth = 1 }).WithInput(3, 32, 32, 3);

    private static ImageCache Cache(int count, int seed)
    {
        var (pixels, labels) = SyntheticImages.Make(count, seed, 3, 32, 32);
        return ImageCache.FromBytes(pixels, labels, 3, 32, 32, 3);
    }

    private static VisionTransformerOptions Options() => new()
    {
        Architecture = Config(), Epochs = 6, BatchSize = 16, LearningRate = 1e-3, Optimizer = VisionTransformerOptimizer.AdamW, Seed = 5, ProgressEverySteps = 0,
        FreezeStem = true, StemFeatureViews = 3, Augmentation = new AugmentationOptions { RandomCropPadding = 2, HorizontalFlip = true },
        Log = m => Assert.Fail($"the test project restores the ResNet18 package; no download expected: {m}"),
    };

    private static Dictionary<string, float[]> State(VisionTransformer model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().flatten().data<float>().ToArray());

    [Fact]
    public void FrozenPretrainedStemWithCachedViewsLearnsAndStaysPretrained()
    {
        using var train = Cache(48, 1);
        using var valid = Cache(24, 2);
        using var result = new ViTTrainingEngine(Options(), Config()).Train(train, valid);

        // An epoch is every cached view of every image.
        Assert.Equal(6, result.History.Count);
        Assert.True(result.History[^1].Loss < result.History[0].Loss, $"loss did not fall: {result.History[0].Loss} -> {result.History[^1].Loss}");
        Assert.True(result.History[^1].ValidationAccuracy >= 0.9, $"validation accuracy {result.History[^1].ValidationAccuracy}");

        // The ResNet is exactly ML.NET's pretrained one after training; the projection and the transformer moved.
        var state = AssertResNetIsPretrained(result.Model);
        torch.manual_seed(5); // the engine's seed: the same initial model
        using var initial = new VisionTransformer(Config());
        Assert.NotEqual(State(initial)["stem.proj.weight"], state["stem.proj.weight"]);
        Assert.Contains(state.Keys, k => k.StartsWith("stem.backbone.layer2", StringComparison.Ordinal));
        Assert.DoesNotContain(state.Keys, k => k.StartsWith("stem.backbone.layer3", StringComparison.Ordinal));
    }

    [Fact]
    public void FrozenPretrainedStemWithoutCachedViewsRunsTheResNetEveryStepLearnsAndStaysPretrained()
    {
        // What the data-aware recipe does when the photos' feature maps would not fit its cache.
        using var train = Cache(48, 1);
        using var valid = Cache(24, 2);
        var options = Options();
        options.StemFeatureViews = 0;
        options.Epochs = 12;
        using var result = new ViTTrainingEngine(options, Config()).Train(train, valid);

        Assert.Equal(12, result.History.Count);
        Assert.True(result.History[^1].Loss < result.History[0].Loss, $"loss did not fall: {result.History[0].Loss} -> {result.History[^1].Loss}");
        Assert.True(result.History[^1].ValidationAccuracy >= 0.9, $"validation accuracy {result.History[^1].ValidationAccuracy}");
        AssertResNetIsPretrained(result.Model);
    }

    /// <summary>Asserts that every ResNet weight of <paramref name="model"/> is ML.NET's pretrained one; returns its state.</summary>
    private static Dictionary<string, float[]> AssertResNetIsPretrained(VisionTransformer model)
    {
        var pretrained = ResNet18Weights.Read(ResNet18Weights.Locate(null, null), Config());
        var state = State(model);
        foreach (var (name, (data, _)) in pretrained) Assert.Equal(data, state[name]);
        return state;
    }

    [Fact]
    public void CachedViewsAreSeededSoTwoRunsGiveTheSameWeights()
    {
        using var train = Cache(24, 3);
        var options = Options();
        options.Epochs = 2;
        using var a = new ViTTrainingEngine(options, Config()).Train(train);
        using var b = new ViTTrainingEngine(options, Config()).Train(train);
        Assert.Equal(State(a.Model)["head.weight"], State(b.Model)["head.weight"]);
        Assert.Equal(State(a.Model)["stem.proj.weight"], State(b.Model)["stem.proj.weight"]);
    }

    [Fact]
    public void WithoutFreezingTheResNetFineTunesFromThePretrainedWeights()
    {
        using var train = Cache(24, 4);
        var options = Options();
        options.FreezeStem = false;
        options.StemFeatureViews = 0;
        options.Epochs = 1;
        using var result = new ViTTrainingEngine(options, Config()).Train(train);
        var pretrained = ResNet18Weights.Read(ResNet18Weights.Locate(null, null), Config());
        var conv1 = State(result.Model)["stem.backbone.conv1.weight"];
        Assert.NotEqual(pretrained["stem.backbone.conv1.weight"].Data, conv1);
        // Started from the pretrained filters: one epoch at 1e-3 moves them a little, not to a random init's.
        double diff = pretrained["stem.backbone.conv1.weight"].Data.Zip(conv1, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(diff < 0.05, $"conv1 moved by {diff}");
    }

    [Fact]
    public void OptionsRefuseCachedViewsWithoutAFrozenStemAndFreezingWithoutAHybrid()
    {
        var options = new VisionTransformerOptions { StemFeatureViews = 4, ResNet18Path = "/no/such/ResNet18.onnx" };
        var errors = options.GetErrors();
        Assert.Contains("StemFeatureViews needs FreezeStem = true", errors);
        Assert.Contains(errors, e => e.Contains("ResNet18Path file not found: '/no/such/ResNet18.onnx'", StringComparison.Ordinal));

        var skipAll = (ViTConfig.HybridResNet18 with { StemSkipLastBlocks = 3 }).GetErrors();
        Assert.Contains("StemSkipLastBlocks must be in [0, 2] for patch 32 (actual 3)", skipAll);

        using var train = Cache(8, 5);
        var plain = new VisionTransformerOptions { Architecture = ViTConfig.Tiny.WithInput(3, 32, 32, 3), FreezeStem = true, Epochs = 1 };
        var e = Assert.Throws<ArgumentException>(() => new ViTTrainingEngine(plain, plain.Architecture).Train(train));
        Assert.Contains("FreezeStem needs an architecture with the ResNet18 stem", e.Message);
    }
}

/// <summary>The FLOP count of <c>vit bench</c> and <c>vit bench-scoring</c>'s floor includes a hybrid's ResNet.</summary>
public class HybridFlopTests
{
    [Fact]
    public void ForwardFlopsCountTheResNetStem()
    {
        // ML.NET's ResNet18 at 224x224: torchvision's 1.82 GMAC plus its extra 512-channel block (2 × 3×3×512×512 at 7×7 = 0.23 GMAC).
        var whole = ViTConfig.HybridResNet18.WithInput(3, 224, 224, 5);
        double resnetGflop = (VitMlNet.Cli.BenchCommand.ForwardFlopsPerImage(whole)
            - VitMlNet.Cli.BenchCommand.ForwardFlopsPerImage(ViTConfig.Seed with { ImageHeight = 224, ImageWidth = 224, PatchSize = 32, Dim = 192, Depth = 2, Heads = 3, DimHead = 64, MlpRatio = 2, QkvBias = true, FinalNorm = true, NumClasses = 5 })) / 1e9;
        Assert.InRange(resnetGflop, 2 * 2.0, 2 * 2.1);
        var hybrid = (ViTConfig.HybridResNet18 with { StemSkipLastBlocks = 1 }).WithInput(3, 224, 224, 5);
        Assert.True(VitMlNet.Cli.BenchCommand.ForwardFlopsPerImage(hybrid) < VitMlNet.Cli.BenchCommand.ForwardFlopsPerImage(whole));
    }
}
