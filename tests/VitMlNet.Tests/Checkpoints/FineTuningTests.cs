using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Training;
using static VitMlNet.Tests.Checkpoints.CheckpointFixtures;

namespace VitMlNet.Tests.Checkpoints;

public class FineTuningTests
{
    private sealed class PixelRow
    {
        [KeyType(10)]
        public uint Label { get; set; }

        [VectorType(3 * 32 * 32)]
        public float[] Pixels { get; set; } = [];
    }

    [Theory]
    [InlineData("timm_vit.safetensors", "timm_vit.safetensors")]
    [InlineData("hf_vit", "hf_vit/pytorch_model.bin")]
    [InlineData("torchvision_vit.pth", "torchvision_vit.pth")]
    [InlineData("timm_deit_distilled.pth", "timm_deit_distilled.pth")]
    public void AnImportedCheckpointScoresLikePyTorchThroughASavedAndReloadedZip(string file, string reference)
    {
        var checkpoint = ViTCheckpoint.Load(PathOf(file), new CheckpointImportOptions { Heads = Heads });
        var ml = new MLContext(1);
        var pixels = Pixels(32);
        int plane = 3 * 32 * 32;
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 2).Select(i => new PixelRow { Label = 1, Pixels = pixels.AsSpan(i * plane, plane).ToArray() }));
        using var model = checkpoint.CreateModel();
        using var transformer = VisionTransformerTransformer.Create(model, checkpoint.ClassNames, new VisionTransformerOptions(), [], data);
        string zip = Path.Combine(Path.GetTempPath(), "vit-ckpt-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            ml.Model.Save(transformer, data.Schema, zip);
            var loaded = new MLContext(2).Model.Load(zip, out _);
            var scores = loaded.Transform(data).GetColumn<float[]>("Score").ToArray();
            var logits = Logits(reference);
            for (int i = 0; i < 2; i++)
            {
                var row = logits.AsSpan(i * 10, 10).ToArray();
                double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
                for (int k = 0; k < 10; k++) Assert.Equal(Math.Exp(row[k] - max) / sum, scores[i][k], 1e-5);
            }
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void TheTrainerFineTunesACheckpointAtTheDatasImageSizeWithItsMeanAndStd()
    {
        using var images = new ImageFolderFixture(48, 41);
        var ml = new MLContext(1);
        var options = new VisionTransformerOptions
        {
            InitialModel = PathOf("hf_vit"), Epochs = 1, BatchSize = 16, LearningRate = 1e-4, LayerDecay = 0.75, Seed = 4,
            Optimizer = VisionTransformerOptimizer.AdamW,
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 48, 48))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options));
        var trained = pipeline.Fit(ml.Data.LoadFromEnumerable(images.Rows));
        var vit = ((IEnumerable<ITransformer>)trained).OfType<VisionTransformerTransformer>().Single();
        var c = vit.Architecture;
        Assert.Equal((ViTStem.PatchConv, 48, 48, 3, 2, 1e-12), (c.Stem, c.ImageHeight, c.ImageWidth, c.NumClasses, c.Heads, c.LayerNormEpsilon));
        Assert.Equal(ViTConfig.ImageNetMean, c.Mean);
        Assert.All(trained.Transform(ml.Data.LoadFromEnumerable(images.Rows)).GetColumn<float[]>("Score"), s => Assert.True(float.IsFinite(s.Sum())));
    }

    [Fact]
    public void AGrayDatasetSumsTheRgbPatchFilters()
    {
        var target = ViTConfig.Tiny.WithInput(1, 32, 32, 4);
        using var model = InitialWeights.FromCheckpoint(PathOf("hf_vit"), target, seed: 1);
        var rgb = ViTCheckpoint.Load(PathOf("hf_vit")).Weights["patch_embed.weight"];
        Assert.Equal(1, model.Config.Channels);
        Assert.Equal(4, model.Config.NumClasses);
        var gray = VitMlNet.Modeling.VisionTransformerWeights.Extract(model)["patch_embed.weight"];
        Assert.Equal(new long[] { 32, 1, 8, 8 }, gray.Shape);
        Assert.Equal(rgb.Data[0] + rgb.Data[64] + rgb.Data[128], gray.Data[0], 5);
    }

    [Fact]
    public void LayerDecayScalesEachBlocksRateAndAFrozenBackboneTrainsTheHeadsOnly()
    {
        var config = ViTCheckpoint.Load(PathOf("timm_deit_distilled.pth"), new CheckpointImportOptions { Heads = Heads }).Config;
        torch.manual_seed(1);
        using var model = new VisionTransformer(config);
        Assert.Equal(0, ParameterGroups.LayerId("patch_embed.weight", 2));
        Assert.Equal(0, ParameterGroups.LayerId("dist", 2));
        Assert.Equal(2, ParameterGroups.LayerId("layers.1.0.to_qkv.weight", 2));
        Assert.Equal(3, ParameterGroups.LayerId("norm.weight", 2));
        Assert.Equal(3, ParameterGroups.LayerId("head_dist.bias", 2));
        var groups = ParameterGroups.Build(model, 0.5, freezeBackbone: false, weightDecay: true);
        Assert.Equal([0.125, 0.125, 0.25, 0.25, 0.5, 0.5, 1, 1], groups.Select(g => g.Scale));
        Assert.Equal(model.parameters().Count(), groups.Sum(g => g.Parameters.Count));

        var frozen = ParameterGroups.Build(model, 1, freezeBackbone: true, weightDecay: true);
        Assert.Equal(4, frozen.Sum(g => g.Parameters.Count)); // head and head_dist, weight and bias
        Assert.Equal(4, model.parameters().Count(p => p.requires_grad));
    }

    [Fact]
    public void FreezingTheBackboneLeavesTheEncoderAsImported()
    {
        using var images = new ImageFolderFixture(32, 43);
        var ml = new MLContext(1);
        var options = new VisionTransformerOptions
        {
            InitialModel = PathOf("hf_vit"), Epochs = 1, BatchSize = 16, LearningRate = 1e-2, FreezeBackbone = true, Seed = 4,
            Optimizer = VisionTransformerOptimizer.AdamW, GradientClipNorm = 1,
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 32, 32))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options));
        var vit = ((IEnumerable<ITransformer>)pipeline.Fit(ml.Data.LoadFromEnumerable(images.Rows))).OfType<VisionTransformerTransformer>().Single();
        var imported = ViTCheckpoint.Load(PathOf("hf_vit")).Weights;
        var trained = vit.Weights;
        Assert.Equal(imported["layers.1.1.net.4.weight"].Data, trained["layers.1.1.net.4.weight"].Data);
        Assert.Equal(imported["pos"].Data, trained["pos"].Data);
        Assert.Equal(new long[] { 3, 32 }, trained["head.weight"].Shape);
    }
}
