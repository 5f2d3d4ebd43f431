using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using static TorchSharp.torch;

namespace VitMlNet.Tests.Modeling;

public class VisionTransformerTests
{
    [Fact]
    public void SeedPresetHasTheReferenceParameterCount()
    {
        using var model = new VisionTransformer(ViTConfig.Seed);
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(2_383_338, count);
    }

    [Fact]
    public void FmnistAccuratePresetHasTheDocumentedParameterCount()
    {
        // docs/benchmarks.md quotes this size for the accuracy recipe (depth 5; 745,322 at depth 6).
        var config = ViTConfig.FmnistAccurate.WithInput(1, 28, 28, 10);
        using var model = new VisionTransformer(config);
        Assert.Equal(670_442, model.parameters().Sum(p => p.numel()));
        using var deeper = new VisionTransformer(config with { Depth = 6 });
        Assert.Equal(745_322, deeper.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void ParameterNamesFollowTheReferenceStateDict()
    {
        using var model = new VisionTransformer(ViTConfig.Seed);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("embed.0.weight", names);
        Assert.Contains("embed.1.weight", names);
        Assert.Contains("embed.2.bias", names);
        Assert.Contains("cls", names);
        Assert.Contains("pos", names);
        Assert.Contains("layers.0.0.norm.weight", names);
        Assert.Contains("layers.0.0.to_qkv.weight", names);
        Assert.DoesNotContain("layers.0.0.to_qkv.bias", names);
        Assert.Contains("layers.5.0.to_out.0.weight", names);
        Assert.Contains("layers.5.1.net.0.weight", names);
        Assert.Contains("layers.5.1.net.1.weight", names);
        Assert.Contains("layers.5.1.net.4.bias", names);
        Assert.Contains("head.weight", names);
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    public static TheoryData<string> Architectures => new() { "cls", "mean", "distill", "gray", "nonsquare", "droppath", "convstem", "convstem-gray", "convffn", "convffn-mean", "convstem-bn", "lsa", "ffbn", "convstem-stages", "convstem-aa", "standard", "standard-distill" };

    internal static ViTConfig Architecture(string name) => name switch
    {
        "cls" => ViTConfig.Tiny,
        "mean" => ViTConfig.Tiny with { Pooling = ViTPooling.Mean },
        "distill" => ViTConfig.Tiny with { DistillationToken = true },
        "gray" => ViTConfig.Tiny.WithInput(1, 16, 16, 10),
        "nonsquare" => ViTConfig.Tiny.WithInput(3, 12, 20, 5),
        "droppath" => ViTConfig.Tiny with { DropPathRate = 0.2, Dropout = 0.1, EmbeddingDropout = 0.1 },
        "convstem" => ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8 },
        "convstem-gray" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 2, Pooling = ViTPooling.Mean }).WithInput(1, 12, 20, 5),
        "convffn" => ViTConfig.Tiny with { ConvFeedForward = true },
        "convffn-mean" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 2, Pooling = ViTPooling.Mean, ConvFeedForward = true }).WithInput(1, 12, 20, 5),
        "convstem-bn" => ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true },
        "lsa" => ViTConfig.Tiny with { LocalitySelfAttention = true },
        "ffbn" => ViTConfig.Tiny with { FeedForwardBatchNorm = true },
        "convstem-stages" => ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true, StemConvsPerStage = 2 },
        "convstem-aa" => ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true, StemAntiAlias = true },
        // The standard ViT (timm / DeiT): convolutional patch embedding, qkv bias, final LayerNorm, epsilon 1e-6.
        "standard" => ViTConfig.Tiny with { Stem = ViTStem.PatchConv, QkvBias = true, FinalNorm = true, LayerNormEpsilon = 1e-6 },
        "standard-distill" => ViTConfig.Tiny with { Stem = ViTStem.PatchConv, QkvBias = true, FinalNorm = true, LayerNormEpsilon = 1e-6, DistillationToken = true, PatchSize = 8 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ForwardGivesFiniteLogitsAndEveryParameterGetsAGradient(string arch)
    {
        var config = Architecture(arch);
        torch.manual_seed(1);
        using var scope = torch.NewDisposeScope();
        using var model = new VisionTransformer(config);
        model.train();
        var x = torch.randn(4, config.Channels, config.ImageHeight, config.ImageWidth);
        var (logits, distLogits) = model.ForwardWithDistillation(x);
        Assert.Equal(new long[] { 4, config.NumClasses }, logits.shape);
        var loss = logits.square().mean() + (distLogits is null ? torch.zeros(1) : distLogits.square().mean());
        loss.backward();
        Assert.False(logits.isnan().any().item<bool>());
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} has a zero gradient");
        }
        Assert.Equal(new long[] { 4, config.Dim }, model.ForwardFeatures(x).shape);
    }

    [Fact]
    public void StemBatchNormLearnsRunningStatisticsThatTheNamedStateCarries()
    {
        var config = ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true };
        torch.manual_seed(3);
        using var scope = torch.NewDisposeScope();
        using var model = new VisionTransformer(config);
        var state = model.NamedState().ToDictionary(s => s.Name, s => s.Tensor);
        // conv (no bias) → BatchNorm → GELU for each 3×3 convolution; the 1×1 projection keeps its bias and has no norm.
        Assert.Equal(3, state.Keys.Count(k => k.EndsWith(".running_mean", StringComparison.Ordinal)));
        Assert.Equal(3, state.Keys.Count(k => k.EndsWith(".running_var", StringComparison.Ordinal)));
        Assert.DoesNotContain("stem.convs.0.bias", state.Keys);
        Assert.Contains("stem.convs.9.bias", state.Keys);
        Assert.DoesNotContain(state.Keys, k => k.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        Assert.Equal(ViTParameterLayout.For(config).Select(l => l.Name).Order(), state.Keys.Order());

        var mean = state["stem.convs.1.running_mean"];
        Assert.True(mean.eq(0).all().item<bool>());
        var x = torch.randn(8, 3, 16, 16).mul(3).add(1);
        model.train();
        using (torch.no_grad()) model.forward(x);
        Assert.False(mean.eq(0).all().item<bool>(), "a training-mode forward updates the running mean");

        // Eval mode uses the running statistics: the same input alone or in another batch gives the same logits.
        model.eval();
        using var noGrad = torch.no_grad();
        var together = model.forward(x);
        var alone = model.forward(x.narrow(0, 0, 1));
        Assert.True(together.narrow(0, 0, 1).allclose(alone, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void FeedForwardBatchNormNormalizesEveryTokenByBatchStatisticsAndScoresWithRunningStatistics()
    {
        var config = (ViTConfig.Tiny with { FeedForwardBatchNorm = true, Dropout = 0, DistillationToken = true }).WithInput(3, 12, 20, 4);
        torch.manual_seed(5);
        using var scope = torch.NewDisposeScope();
        using var ff = new FeedForward(config);
        var state = ff.named_parameters().Select(p => p.name).Concat(ff.named_buffers().Select(b => b.name)).ToHashSet();
        Assert.Contains("bn.weight", state);
        Assert.Contains("bn.running_var", state);
        Assert.Equal(config.Depth * 4, ViTParameterLayout.For(config).Count(l => l.Name.Contains(".1.bn.", StringComparison.Ordinal)));

        // Training mode: the hidden features after the first Linear are standardized over all tokens of all images.
        var x = torch.randn(6, 17, config.Dim).mul(2).add(0.5);
        ff.train();
        var parts = ff.named_modules().ToDictionary(m => m.name, m => m.module);
        var hidden = ((nn.Module<Tensor, Tensor>)parts["net.1"]).call(((nn.Module<Tensor, Tensor>)parts["net.0"]).call(x)).reshape(-1, config.MlpHidden);
        var expected = ((nn.Module<Tensor, Tensor>)parts["net.4"]).call(nn.functional.gelu(
            hidden.sub(hidden.mean([0L], keepdim: true)).div(hidden.var([0L], unbiased: false, keepdim: true).add(1e-5).sqrt()))).reshape(6, 17, config.Dim);
        Assert.True(ff.forward(x).allclose(expected, rtol: 1e-4, atol: 1e-5));
        var runningMean = (Tensor)ff.named_buffers().Single(b => b.name == "bn.running_mean").buffer;
        Assert.False(runningMean.eq(0).all().item<bool>(), "a training-mode forward updates the running mean");

        // Eval mode: a per-feature affine map from the running statistics, so each token is scored independently.
        ff.eval();
        using var noGrad = torch.no_grad();
        var together = ff.forward(x);
        Assert.True(together.narrow(0, 0, 1).narrow(1, 3, 1).allclose(ff.forward(x.narrow(0, 0, 1).narrow(1, 3, 1)), rtol: 1e-4, atol: 1e-5));
        Assert.NotEqual(ViTConfig.Tiny, ViTConfig.Tiny with { FeedForwardBatchNorm = true });
    }

    [Fact]
    public void FusedAttentionEqualsTheExplicitFormula()
    {
        torch.manual_seed(3);
        using var scope = torch.NewDisposeScope();
        var config = ViTConfig.Tiny;
        using var attention = new Attention(config);
        attention.eval();
        var x = torch.randn(2, 5, config.Dim);
        var fused = attention.forward(x);
        var p = attention.named_parameters().ToDictionary(t => t.name, t => t.parameter);
        var h = torch.nn.functional.layer_norm(x, new long[] { config.Dim }, p["norm.weight"], p["norm.bias"]);
        var qkv = torch.nn.functional.linear(h, p["to_qkv.weight"]).chunk(3, -1);
        Tensor Split(Tensor t) => t.reshape(2, 5, config.Heads, config.DimHead).transpose(1, 2);
        var attn = torch.matmul(Split(qkv[0]), Split(qkv[1]).transpose(-1, -2)).mul(1.0 / Math.Sqrt(config.DimHead)).softmax(-1);
        var o = torch.matmul(attn, Split(qkv[2])).transpose(1, 2).reshape(2, 5, -1);
        var expected = torch.nn.functional.linear(o, p["to_out.0.weight"], p["to_out.0.bias"]);
        Assert.True(fused.allclose(expected, rtol: 1e-5, atol: 1e-5), $"max diff {(fused - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void LocalitySelfAttentionMasksTheDiagonalAndLearnsItsTemperature()
    {
        torch.manual_seed(5);
        using var scope = torch.NewDisposeScope();
        var config = ViTConfig.Tiny with { LocalitySelfAttention = true };
        using var attention = new Attention(config);
        var x = torch.randn(2, 6, config.Dim);
        var weights = attention.AttentionWeights(x);                       // [2, heads, 6, 6]
        Assert.Equal(0f, weights.diagonal(0, -2, -1).abs().max().item<float>());
        Assert.True(weights.sum(-1).allclose(torch.ones(2, config.Heads, 6), rtol: 1e-5, atol: 1e-5));

        var temperature = attention.named_parameters().Single(p => p.name == "temperature").parameter;
        Assert.Equal(Math.Sqrt(config.DimHead), temperature.item<float>(), 5);
        attention.train();
        attention.forward(x).sum().backward();
        Assert.NotEqual(0f, temperature.grad!.item<float>());
        using var model = new VisionTransformer(config);
        Assert.Contains("layers.0.0.temperature", model.NoWeightDecayParameterNames);

        // The learned temperature is the divisor: doubling it flattens the attention toward uniform.
        var before = attention.AttentionWeights(x).max().item<float>();
        using (torch.no_grad()) temperature.mul_(2);
        Assert.True(attention.AttentionWeights(x).max().item<float>() < before);
    }

    [Fact]
    public void WrongInputShapeNamesExpectedAndActual()
    {
        using var model = new VisionTransformer(ViTConfig.Tiny);
        using var x = torch.zeros(1, 3, 30, 16);
        var e = Assert.Throws<ArgumentException>(() => model.forward(x));
        Assert.Contains("[1, 3, 30, 16]", e.Message);
        Assert.Contains("[N, 3, 16, 16]", e.Message);
    }

    [Fact]
    public void SameSeedGivesSameInitialWeights()
    {
        torch.manual_seed(42);
        using var a = new VisionTransformer(ViTConfig.Tiny);
        torch.manual_seed(42);
        using var b = new VisionTransformer(ViTConfig.Tiny);
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.equal(pb).all().item<bool>(), name);
    }

    [Fact]
    public void ResetClassifierChangesClassCountAndKeepsTheEncoder()
    {
        using var model = new VisionTransformer(ViTConfig.Tiny with { DistillationToken = true });
        var before = model.named_parameters().First(p => p.name == "pos").parameter.clone();
        model.ResetClassifier(3);
        using var x = torch.randn(2, 3, 16, 16);
        Assert.Equal(new long[] { 2, 3 }, model.forward(x).shape);
        Assert.Equal(3, model.Config.NumClasses);
        Assert.True(before.equal(model.named_parameters().First(p => p.name == "pos").parameter).all().item<bool>());
        Assert.Single(model.named_parameters(), p => p.name == "head.weight");
    }

    [Fact]
    public void NoWeightDecayListHoldsTokensNormsAndBiases()
    {
        using var model = new VisionTransformer(ViTConfig.Tiny with { Stem = ViTStem.Patch });
        var set = model.NoWeightDecayParameterNames;
        Assert.Contains("pos", set);
        Assert.Contains("cls", set);
        Assert.Contains("embed.0.weight", set);
        Assert.Contains("head.bias", set);
        Assert.DoesNotContain("head.weight", set);
        Assert.DoesNotContain("layers.0.0.to_qkv.weight", set);
    }

    [Fact]
    public void InvalidConfigurationListsEveryProblem()
    {
        var e = Assert.Throws<ArgumentException>(() => new VisionTransformer(ViTConfig.Seed with { PatchSize = 5, Heads = 0, NumClasses = 1 }));
        Assert.Contains("PatchSize (5) must divide the image size (32x32)", e.Message);
        Assert.Contains("Heads must be positive (actual 0)", e.Message);
        Assert.Contains("NumClasses must be at least 2 (actual 1)", e.Message);
    }

    [Fact]
    public void ConvStemKeepsThePatchGridAndCountsItsParameters()
    {
        var config = ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8 };
        var layout = ConvStem.Layout(config);
        // 3x3 s1 (3->8), 3x3 s2 (8->16), 3x3 s2 (16->32), 1x1 (32->dim): patch 4 = two halvings.
        Assert.Equal(new[] { (3, 8, 3, 1), (8, 16, 3, 2), (16, 32, 3, 2), (32, config.Dim, 1, 1) }, layout);
        using var scope = torch.NewDisposeScope();
        using var model = new VisionTransformer(config);
        using var patchModel = new VisionTransformer(ViTConfig.Tiny);
        long stem = model.named_parameters().Where(p => p.name.StartsWith("stem.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        long expected = layout.Sum(l => (long)l.OutChannels * l.InChannels * l.Kernel * l.Kernel + l.OutChannels) + 2L * config.Dim;
        Assert.Equal(expected, stem);
        Assert.DoesNotContain(model.named_parameters(), p => p.name.StartsWith("embed.", StringComparison.Ordinal));
        var tokensConv = model.ForwardFeatures(torch.randn(2, 3, 16, 16));
        Assert.Equal(new long[] { 2, config.Dim }, tokensConv.shape);
        Assert.Equal(new long[] { 2, 4, 4 }, model.AttentionRollout(torch.randn(2, 3, 16, 16)).shape);
    }

    [Fact]
    public void StemConvsPerStageAddStrideOneConvsAtEveryHalvedResolution()
    {
        var config = ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true, StemConvsPerStage = 2 };
        // 3x3 s1 (3->8); stage 1: 3x3 s2 (8->16), 3x3 s1 (16->16); stage 2: 3x3 s2 (16->32), 3x3 s1 (32->32); 1x1 (32->dim).
        Assert.Equal(new[] { (3, 8, 3, 1), (8, 16, 3, 2), (16, 16, 3, 1), (16, 32, 3, 2), (32, 32, 3, 1), (32, config.Dim, 1, 1) }, ConvStem.Layout(config));
        Assert.Equal(new[] { (3, 8, 3, 1), (8, 16, 3, 2), (16, 16, 3, 1), (16, 16, 3, 1), (16, 32, 3, 2), (32, 32, 3, 1), (32, 32, 3, 1), (32, config.Dim, 1, 1) },
            ConvStem.Layout(config with { StemConvsPerStage = 3 }));
        // Patch size 1: no halving stage, so nothing is added.
        var full = (config with { PatchSize = 1 }).WithInput(1, 6, 10, 5);
        Assert.Equal(new[] { (1, 8, 3, 1), (8, full.Dim, 1, 1) }, ConvStem.Layout(full));
        Assert.True(ConvStem.HasBatchNorm(config, 2) && ConvStem.HasBatchNorm(config, 4) && !ConvStem.HasBatchNorm(config, 5));

        using var scope = torch.NewDisposeScope();
        using var model = new VisionTransformer(config);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("stem.convs.6.weight", names);   // the stage-1 stride-1 conv (index 2 × 3)
        Assert.Contains("stem.convs.13.bias", names);    // the stage-2 stride-1 conv's BatchNorm (index 4 × 3 + 1)
        Assert.Contains("stem.convs.15.bias", names);    // the 1x1 projection keeps its bias
        long two = model.named_parameters().Sum(p => p.parameter.numel());
        using var one = new VisionTransformer(config with { StemConvsPerStage = 1 });
        // The added convs: 16·16·3·3 and 32·32·3·3 weights without bias, each with a BatchNorm's scale and shift.
        Assert.Equal(16L * 16 * 9 + 2 * 16 + 32L * 32 * 9 + 2 * 32, two - one.named_parameters().Sum(p => p.parameter.numel()));
        Assert.Equal(new long[] { 3, config.NumClasses }, model.forward(torch.randn(3, 3, 16, 16)).shape);
        Assert.NotEqual(config, config with { StemConvsPerStage = 1 });
    }

    [Fact]
    public void StemAntiAliasBlursTheInputOfEveryStrideTwoConvolutionWithoutNewParameters()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(23);
        // The blur is the zero-padded 3×3 binomial filter, channel by channel.
        var x = torch.randn(2, 3, 7, 10);
        var kernel = torch.tensor(new float[] { 1, 2, 1, 2, 4, 2, 1, 2, 1 }).div(16).reshape(1, 1, 3, 3).expand(3, 1, 3, 3).contiguous();
        var expected = nn.functional.conv2d(x, kernel, padding: new long[] { 1, 1 }, groups: 3);
        Assert.True(ConvStem.Blur(x).allclose(expected, rtol: 1e-5, atol: 1e-6), $"max difference {(ConvStem.Blur(x) - expected).abs().max().item<float>()}");

        var config = ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true, StemConvsPerStage = 2 };
        using var plain = new VisionTransformer(config);
        using var blurred = new VisionTransformer(config with { StemAntiAlias = true });
        Assert.Equal(plain.named_parameters().Select(p => p.name), blurred.named_parameters().Select(p => p.name));
        blurred.load_state_dict(plain.state_dict());
        plain.eval();
        blurred.eval();
        // Same weights, different function: the blurs change what the stride-2 convolutions see.
        var images = torch.randn(2, 3, 16, 16);
        Assert.False(plain.forward(images).allclose(blurred.forward(images), rtol: 1e-3, atol: 1e-4));
        // By hand: run the stem's modules in order, blurring before the two stride-2 convolutions (module indices 3 and 9).
        var modules = blurred.named_modules().ToDictionary(m => m.name, m => m.module);
        var h = images;
        for (int k = 0; k < 16; k++)
        {
            if (k is 3 or 9) h = ConvStem.Blur(h);
            h = ((nn.Module<Tensor, Tensor>)modules[$"stem.convs.{k}"]).call(h);
        }
        var tokens = ((nn.Module<Tensor, Tensor>)modules["stem.norm"]).call(h.flatten(2).transpose(1, 2));
        var stem = (ConvStem)modules["stem"];
        Assert.True(stem.forward(images).allclose(tokens, rtol: 1e-4, atol: 1e-5));
        Assert.NotEqual(config, config with { StemAntiAlias = true });
    }

    [Fact]
    public void TokenInitStdScalesTheTokensAndPositionEmbedding()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        using var model = new VisionTransformer(ViTConfig.Seed with { TokenInitStd = 0.02, DistillationToken = true });
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Assert.InRange(p["pos"].std().item<float>(), 0.018, 0.022);
        Assert.InRange(p["cls"].abs().max().item<float>(), 1e-4, 0.1);
        Assert.InRange(p["dist"].abs().max().item<float>(), 1e-4, 0.1);
        using var reference = new VisionTransformer(ViTConfig.Seed);
        Assert.InRange(reference.named_parameters().First(x => x.name == "pos").parameter.std().item<float>(), 0.95, 1.05);
        Assert.Contains((ViTConfig.Tiny with { TokenInitStd = 0 }).GetErrors(), e => e.Contains("TokenInitStd", StringComparison.Ordinal));
    }

    [Fact]
    public void ConvFeedForwardMixesOnlyGridNeighboursAndSkipsPrefixTokens()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        // A 3x5 grid of patch tokens (non-square, so swapped axes would show) behind two prefix tokens.
        var config = (ViTConfig.Tiny with { ConvFeedForward = true, DistillationToken = true, Dropout = 0 }).WithInput(3, 12, 20, 4);
        using var ff = new FeedForward(config, convFeedForward: true);
        ff.eval();
        var x = torch.randn(1, 2 + 15, config.Dim);
        var changed = x.clone();
        int row = 1, col = 3, token = 2 + row * 5 + col;
        changed[0, token] = torch.randn(config.Dim);
        var diff = (ff.forward(changed) - ff.forward(x)).abs().amax(2)[0];
        for (int t = 0; t < 17; t++)
        {
            bool neighbour = t >= 2 && Math.Abs((t - 2) / 5 - row) <= 1 && Math.Abs((t - 2) % 5 - col) <= 1;
            Assert.True(neighbour == diff[t].item<float>() > 1e-6, $"token {t}: change {diff[t].item<float>()}, neighbour {neighbour}");
        }

        using var plain = new FeedForward(config);
        Assert.Equal(plain.parameters().Sum(p => p.numel()) + 10L * config.MlpHidden, ff.parameters().Sum(p => p.numel()));
        // With class-token pooling the last block's patch tokens never reach the output, so it has no convolution.
        using var model = new VisionTransformer(config);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("layers.0.1.dwconv.weight", names);
        Assert.DoesNotContain($"layers.{config.Depth - 1}.1.dwconv.weight", names);
        using var meanModel = new VisionTransformer(config with { Pooling = ViTPooling.Mean });
        Assert.Contains($"layers.{config.Depth - 1}.1.dwconv.weight", meanModel.named_parameters().Select(p => p.name));
        Assert.NotEqual(ViTConfig.Tiny, ViTConfig.Tiny with { ConvFeedForward = true });
    }

    [Theory]
    [InlineData("cls")]
    [InlineData("convffn-mean")]
    [InlineData("lsa")]
    public void TrainingAttentionPathEqualsTheFusedInferencePathWithoutDropout(string arch)
    {
        // Training runs attention as explicit batched products, inference through libtorch's fused kernel: with every
        // random element off (no dropout, no drop-path) both modes must give the same logits and gradients flow.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var config = Architecture(arch) with { Dropout = 0, EmbeddingDropout = 0, DropPathRate = 0 };
        using var model = new VisionTransformer(config);
        var images = torch.randn(3, config.Channels, config.ImageHeight, config.ImageWidth);
        model.eval();
        var inference = model.forward(images);
        model.train();
        var training = model.forward(images);
        Assert.True(training.requires_grad);
        Assert.True(torch.allclose(training, inference, rtol: 1e-4, atol: 1e-5), $"max difference {(training - inference).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData("cls", true)]
    [InlineData("cls", false)]
    [InlineData("lsa", true)]
    [InlineData("lsa", false)]
    [InlineData("distill", true)]
    [InlineData("ffbn", false)]
    public void PrefixQueriesOfABlockEqualItsFullOutputNarrowedWithTheSameGradients(string arch, bool training)
    {
        // A class-token-pooled model runs its last block for the prefix tokens only (EncoderBlock.ForwardQueries). It
        // must be the same function as the whole block narrowed to those tokens, in both modes, gradients included
        // (with everything random off; a FeedForwardBatchNorm in training mode takes its statistics from the prefix
        // tokens alone, by design, so it is checked in eval mode only).
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(17);
        var config = Architecture(arch) with { Dropout = 0, EmbeddingDropout = 0, DropPathRate = 0 };
        using var block = new EncoderBlock(config, 0);
        block.train(training);
        int prefix = config.NumPrefixTokens;
        var x = torch.randn(3, config.NumPatches + prefix, config.Dim).requires_grad_(true);
        var probe = torch.randn(3, prefix, config.Dim);

        var full = block.forward(x).narrow(1, 0, prefix);
        full.mul(probe).sum().backward();
        var fullGrads = block.parameters().Select(p => p.grad!.clone()).Append(x.grad!.clone()).ToArray();
        block.zero_grad();
        x.grad!.zero_();

        var part = block.ForwardQueries(x, prefix);
        Assert.Equal(new long[] { 3, prefix, config.Dim }, part.shape);
        Assert.True(part.allclose(full, rtol: 1e-4, atol: 1e-5), $"max difference {(part - full).abs().max().item<float>()}");
        part.mul(probe).sum().backward();
        var partGrads = block.parameters().Select(p => p.grad!).Append(x.grad!).ToArray();
        Assert.Equal(fullGrads.Length, partGrads.Length);
        for (int i = 0; i < fullGrads.Length; i++)
            Assert.True(partGrads[i].allclose(fullGrads[i], rtol: 1e-4, atol: 1e-5), $"gradient {i}: max difference {(partGrads[i] - fullGrads[i]).abs().max().item<float>()}");
    }

    [Fact]
    public void ClassPooledModelGivesTheSameLogitsAsRunningEveryTokenThroughTheLastBlock()
    {
        // Whole model: logits of the prefix-only last block equal the head applied to the full last block's class token.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(19);
        var config = ViTConfig.Tiny with { Stem = ViTStem.Patch, Dropout = 0, EmbeddingDropout = 0, DropPathRate = 0 };
        using var model = new VisionTransformer(config);
        model.eval();
        using var noGrad = torch.no_grad();
        var images = torch.randn(2, config.Channels, config.ImageHeight, config.ImageWidth);
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var blocks = Enumerable.Range(0, config.Depth).Select(i => (EncoderBlock)modules[$"layers.{i}"]).ToArray();
        // Rebuild the encoder input by hand: stem/embedding, class token, position embedding.
        var state = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var tokens = ((nn.Module<Tensor, Tensor>)modules["embed"]).call(
            images.reshape(2, 3, 4, 4, 4, 4).permute(0, 2, 4, 3, 5, 1).reshape(2, 16, 48));
        var x = torch.cat([state["cls"].expand(2, -1, -1), tokens], 1) + state["pos"];
        foreach (var b in blocks) x = b.forward(x);
        var expected = ((nn.Module<Tensor, Tensor>)modules["head"]).call(x[.., 0]);
        var actual = model.forward(images);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max difference {(actual - expected).abs().max().item<float>()}");
    }
}

public class AttentionRolloutTests
{
    [Fact]
    public void RolloutGivesANormalizedMapPerImageOverThePatchGrid()
    {
        torch.manual_seed(4);
        using var model = new VisionTransformer(ViTConfig.Tiny.WithInput(3, 12, 20, 4) with { DistillationToken = true });
        using var x = torch.randn(2, 3, 12, 20);
        using var map = model.AttentionRollout(x);
        Assert.Equal(new long[] { 2, 3, 5 }, map.shape);
        using var sums = map.sum(new long[] { 1, 2 });
        Assert.True(sums.allclose(torch.ones(2), 1e-5, 1e-5));
        Assert.True(map.ge(0).all().item<bool>());
        Assert.True(model.training);
    }
}

public class ViTConfigTests
{
    [Fact]
    public void ConfigsCompareByValueIncludingMeanAndStd()
    {
        var a = ViTConfig.Tiny with { Mean = new[] { 0.1f, 0.2f, 0.3f } };
        var b = ViTConfig.Tiny with { Mean = new List<float> { 0.1f, 0.2f, 0.3f } };
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Mean = new[] { 0.1f, 0.2f, 0.4f } });
        Assert.NotEqual(a, b with { Depth = 3 });
        Assert.Equal(ViTConfig.Seed, ViTConfig.FromPreset("SEED"));
    }

    [Fact]
    public void WithInputAdaptsGeometryClassesAndChannelStatistics()
    {
        var gray = ViTConfig.Seed.WithInput(1, 28, 28, 7);
        Assert.Equal((1, 28, 28, 7), (gray.Channels, gray.ImageHeight, gray.ImageWidth, gray.NumClasses));
        Assert.Single(gray.Mean);
        Assert.Single(gray.Std);
        Assert.Empty(gray.GetErrors());
    }

    [Fact]
    public void ConvStemNeedsAPowerOfTwoPatchAndPositiveChannels()
    {
        var bad = ViTConfig.Tiny.WithInput(3, 18, 18, 4) with { Stem = ViTStem.Conv, PatchSize = 6, StemChannels = 0 };
        var errors = bad.GetErrors();
        Assert.Contains(errors, e => e.Contains("power-of-two PatchSize (actual 6)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("StemChannels must be positive (actual 0)", StringComparison.Ordinal));
        Assert.Empty((bad with { Stem = ViTStem.Patch, StemChannels = 0 }).GetErrors());
        Assert.Contains((ViTConfig.Tiny with { Stem = ViTStem.Conv, StemConvsPerStage = 0 }).GetErrors(),
            e => e.Contains("StemConvsPerStage must be in [1, 8] (actual 0)", StringComparison.Ordinal));
        Assert.Contains((ViTConfig.Tiny with { Stem = ViTStem.Conv, StemConvsPerStage = 9 }).GetErrors(),
            e => e.Contains("StemConvsPerStage must be in [1, 8] (actual 9)", StringComparison.Ordinal));
        Assert.NotEqual(ViTConfig.Tiny, ViTConfig.Tiny with { Stem = ViTStem.Conv });
    }
}
