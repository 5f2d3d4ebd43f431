using TorchSharp;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Tests.Onnx;
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
    public void TrainingTheLastStageOnCachedEarlierMapsMovesOnlyItAndTheOnnxGraphCarriesIt()
    {
        // Patch 8: the last stage is layer2 (2 blocks); both train, at a tenth of the head's rate, on cached layer1 maps.
        using var train = Cache(48, 1);
        using var valid = Cache(24, 2);
        var options = Options();
        options.StemTrainLastBlocks = 2;
        options.StemLearningRateScale = 0.1;
        using var result = new ViTTrainingEngine(options, Config()).Train(train, valid);

        Assert.Equal(6, result.History.Count);
        Assert.True(result.History[^1].Loss < result.History[0].Loss, $"loss did not fall: {result.History[0].Loss} -> {result.History[^1].Loss}");
        Assert.True(result.History[^1].ValidationAccuracy >= 0.9, $"validation accuracy {result.History[^1].ValidationAccuracy}");

        var pretrained = ResNet18Weights.Read(ResNet18Weights.Locate(null, null), Config());
        var state = State(result.Model);
        foreach (var (name, (data, _)) in pretrained)
        {
            if (name.StartsWith("stem.backbone.layer2.", StringComparison.Ordinal)) Assert.NotEqual(data, state[name]);
            else Assert.Equal(data, state[name]);
        }
        // A tenth of 1e-3 for 6 × 9 steps of AdamW: each weight moves by at most about 0.0054.
        double moved = pretrained["stem.backbone.layer2.1.conv2.weight"].Data.Zip(state["stem.backbone.layer2.1.conv2.weight"], (x, y) => Math.Abs(x - y)).Max();
        Assert.InRange(moved, 1e-5, 0.0054 * 1.05);

        // The exported graph scores with the trained layer2: ONNX Runtime equals the model, and differs from the same
        // model with its pretrained layer2 put back.
        const int batch = 4;
        var pixels = OnnxTestSupport.RandomPixels(Config(), batch, seed: 3);
        var onnx = VitMlNet.Onnx.ViTOnnxWriter.ToByteArray(VitMlNet.Onnx.ViTOnnxWriter.Build(result.Model));
        using var session = OnnxTestSupport.Session(onnx);
        var logits = OnnxTestSupport.Run(session, "pixels", pixels, [batch, 3, 32, 32])["logits"].Floats!;
        Assert.True(OnnxTestSupport.MaxAbsDiff(OnnxTestSupport.TorchLogits(result.Model, pixels, batch), logits) <= 1e-4f);
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in result.Model.named_parameters())
                if (pretrained.TryGetValue(name, out var w)) parameter.copy_(torch.tensor(w.Data, parameter.shape));
        }
        float fromPretrained = OnnxTestSupport.MaxAbsDiff(OnnxTestSupport.TorchLogits(result.Model, pixels, batch), logits);
        Assert.True(fromPretrained > 1e-3f, $"the pretrained layer2 scores as the trained one (max diff {fromPretrained})");
    }

    [Fact]
    public void TheTrainedLastBlocksTakeTheirOwnLearningRateGroup()
    {
        torch.manual_seed(1);
        using var model = new VisionTransformer(Config());
        foreach (var (name, parameter) in model.named_parameters())
            if (ResNetStem.IsBackbone(name) && !name.StartsWith("stem.backbone.layer2.1.", StringComparison.Ordinal)) parameter.requires_grad = false;
        var prefixes = ResNetStem.LastBlockPrefixes(Config(), 1);
        Assert.Equal(["stem.backbone.layer2.1."], prefixes);
        var groups = ParameterGroups.Build(model, 1, freezeBackbone: false, weightDecay: true, name => name.StartsWith(prefixes[0], StringComparison.Ordinal) ? 0.25 : 1.0);
        var scaled = groups.Where(g => g.Scale == 0.25).SelectMany(g => g.Parameters).ToList();
        Assert.Equal(4, scaled.Count); // conv1 and conv2, weight and bias
        Assert.All(groups.Where(g => g.Scale != 0.25), g => Assert.Equal(1.0, g.Scale));
        Assert.Equal(model.parameters().Count(p => p.requires_grad), groups.Sum(g => g.Parameters.Count));
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

        var lastBlocks = new VisionTransformerOptions { StemTrainLastBlocks = 1, StemLearningRateScale = 0 }.GetErrors();
        Assert.Contains("StemTrainLastBlocks needs FreezeStem = true (without it the whole ResNet trains)", lastBlocks);
        Assert.Contains("StemLearningRateScale must be in (0, 1] (actual 0)", lastBlocks);
        var tooMany = Options();
        tooMany.StemTrainLastBlocks = 3;
        var blocks = Assert.Throws<ArgumentException>(() => new ViTTrainingEngine(tooMany, Config()));
        Assert.Equal("the stem's trained last blocks must be in [0, 2] (the blocks of layer2) (actual 3)", blocks.Message);

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
