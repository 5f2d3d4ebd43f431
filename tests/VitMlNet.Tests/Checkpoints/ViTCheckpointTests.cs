using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using static VitMlNet.Tests.Checkpoints.CheckpointFixtures;
using static VitMlNet.Tests.Onnx.OnnxTestSupport;

namespace VitMlNet.Tests.Checkpoints;

public class ViTCheckpointTests
{
    // The family travels as object: xUnit needs public test members, and CheckpointFamily is internal.
    public static TheoryData<string, string, object> Fixtures => new()
    {
        { "timm_vit.safetensors", "timm_vit.safetensors", CheckpointFamily.Timm },
        { "timm_deit_distilled.pth", "timm_deit_distilled.pth", CheckpointFamily.Timm },
        { "hf_vit", "hf_vit/pytorch_model.bin", CheckpointFamily.HuggingFace },
        { "hf_vit/pytorch_model.bin", "hf_vit/pytorch_model.bin", CheckpointFamily.HuggingFace },
        { "torchvision_vit.pth", "torchvision_vit.pth", CheckpointFamily.TorchVision },
    };

    private static CheckpointImportOptions Options(string file) =>
        new() { Heads = file.StartsWith("hf_vit", StringComparison.Ordinal) ? null : Heads }; // Hugging Face's config.json gives the heads

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void ImportedLogitsEqualPyTorchsInTorchSharpAndInOnnxRuntime(string file, string reference, object familyValue)
    {
        var family = (CheckpointFamily)familyValue;
        var checkpoint = ViTCheckpoint.Load(PathOf(file), Options(file));
        Assert.Equal(family, checkpoint.Family);
        var c = checkpoint.Config;
        Assert.Equal((32, 32, 8, 32, 2, 2, 10), (c.ImageHeight, c.ImageWidth, c.PatchSize, c.Dim, c.Depth, c.Heads, c.NumClasses));
        Assert.Equal(ViTConfig.ImageNetMean, c.Mean);
        Assert.Equal(file.Contains("deit", StringComparison.Ordinal), c.DistillationToken);
        Assert.Equal(family == CheckpointFamily.HuggingFace ? 1e-12 : 1e-6, c.LayerNormEpsilon);
        var expected = Logits(reference);
        var pixels = Pixels(32);

        using var model = checkpoint.CreateModel();
        model.eval();
        var torchLogits = TorchLogits(model, pixels, 2);
        Assert.True(MaxAbsDiff(expected, torchLogits) <= 1e-4, $"TorchSharp differs from PyTorch by {MaxAbsDiff(expected, torchLogits)}");

        var onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(checkpoint.Config, checkpoint.Weights, checkpoint.ClassNames));
        using var session = Session(onnx);
        var onnxLogits = Run(session, "pixels", pixels, [2, 3, 32, 32])["logits"].Floats!;
        Assert.True(MaxAbsDiff(expected, onnxLogits) <= 1e-4, $"ONNX Runtime differs from PyTorch by {MaxAbsDiff(expected, onnxLogits)}");

        // int8 encoder weights: the same predictions, logits within the quantization error.
        var int8 = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(checkpoint.Config, checkpoint.Weights, null,
            new ViTOnnxExportOptions { WeightPrecision = ViTOnnxWeightPrecision.DynamicInt8 }));
        using var int8Session = Session(int8);
        var int8Logits = Run(int8Session, "pixels", pixels, [2, 3, 32, 32])["logits"].Floats!;
        double norm = Math.Sqrt(expected.Sum(v => (double)v * v));
        double err = Math.Sqrt(expected.Zip(int8Logits, (a, b) => (double)(a - b) * (a - b)).Sum());
        Assert.True(err / norm < 0.05, $"int8 relative error {err / norm}");
    }

    [Fact]
    public void HuggingFaceConfigGivesHeadsAndClassNames()
    {
        var checkpoint = ViTCheckpoint.Load(PathOf("hf_vit"));
        Assert.Equal(2, checkpoint.Config.Heads);
        Assert.Equal("class0", checkpoint.ClassNames[0]);
        Assert.Equal("class9", checkpoint.ClassNames[9]);
    }

    [Fact]
    public void TimmsHubConfigGivesMeanAndStd()
    {
        string dir = Directory.CreateTempSubdirectory("vit-ckpt-").FullName;
        try
        {
            File.Copy(PathOf("timm_vit.safetensors"), Path.Combine(dir, "model.safetensors"));
            File.WriteAllText(Path.Combine(dir, "config.json"), """{"architecture": "vit_tiny_patch16_224", "pretrained_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}""");
            var checkpoint = ViTCheckpoint.Load(dir, Options("timm"));
            Assert.Equal([0.5f, 0.5f, 0.5f], checkpoint.Config.Mean);
            Assert.Equal([0.5f, 0.5f, 0.5f], checkpoint.Config.Std);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AnotherImageSizeResamplesThePositionEmbeddingLikeTimm()
    {
        var checkpoint = ViTCheckpoint.Load(PathOf("timm_vit.safetensors"), new CheckpointImportOptions { Heads = Heads, ImageHeight = 48, ImageWidth = 48 });
        Assert.Equal(new long[] { 1, 37, 32 }, checkpoint.Weights["pos"].Shape);
        using var model = checkpoint.CreateModel();
        model.eval();
        var logits = TorchLogits(model, Pixels(48), 2);
        Assert.True(MaxAbsDiff(Logits("timm_vit.safetensors@48"), logits) <= 1e-4, $"differs by {MaxAbsDiff(Logits("timm_vit.safetensors@48"), logits)}");
    }

    [Fact]
    public void ANewClassCountReplacesTheHeadAndKeepsTheEncoder()
    {
        var original = ViTCheckpoint.Load(PathOf("timm_deit_distilled.pth"), Options("timm"));
        var fresh = ViTCheckpoint.Load(PathOf("timm_deit_distilled.pth"), new CheckpointImportOptions { Heads = Heads, NumClasses = 3 });
        Assert.Equal(3, fresh.Config.NumClasses);
        Assert.Equal(new long[] { 3, 32 }, fresh.Weights["head.weight"].Shape);
        Assert.Equal(new long[] { 3, 32 }, fresh.Weights["head_dist.weight"].Shape);
        Assert.Equal(original.Weights["layers.1.0.to_qkv.weight"].Data, fresh.Weights["layers.1.0.to_qkv.weight"].Data);
        Assert.Equal(["0", "1", "2"], fresh.ClassNames);
        using var model = fresh.CreateModel();
        model.eval();
        Assert.Equal(6, TorchLogits(model, Pixels(32), 2).Length);
    }

    [Fact]
    public void AMissingOrExtraTensorIsAnErrorThatNamesIt()
    {
        var (tensors, _) = SafetensorsFile.Read(PathOf("timm_vit.safetensors"));
        string dir = Directory.CreateTempSubdirectory("vit-ckpt-").FullName;
        try
        {
            var missing = tensors.Where(kv => kv.Key != "blocks.1.mlp.fc2.weight").Select(kv => (kv.Key, kv.Value.Data, kv.Value.Shape));
            SafetensorsFile.Write(Path.Combine(dir, "missing.safetensors"), missing);
            var e = Assert.Throws<InvalidDataException>(() => ViTCheckpoint.Load(Path.Combine(dir, "missing.safetensors"), Options("timm")));
            Assert.Contains("missing 'blocks.1.mlp.fc2.weight'", e.Message, StringComparison.Ordinal);

            var extra = tensors.Select(kv => (kv.Key, kv.Value.Data, kv.Value.Shape)).Append(("blocks.0.ls1.gamma", new float[32], new long[] { 32 }));
            SafetensorsFile.Write(Path.Combine(dir, "extra.safetensors"), extra);
            e = Assert.Throws<InvalidDataException>(() => ViTCheckpoint.Load(Path.Combine(dir, "extra.safetensors"), Options("timm")));
            Assert.Contains("unexpected 'blocks.0.ls1.gamma'", e.Message, StringComparison.Ordinal);

            e = Assert.Throws<InvalidDataException>(() => ViTCheckpoint.Load(PathOf("timm_vit.safetensors")));
            Assert.Contains("heads cannot be inferred", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SafetensorsExportUsesTimmNamesAndReadsBackExactly()
    {
        var hf = ViTCheckpoint.Load(PathOf("hf_vit"));
        string dir = Directory.CreateTempSubdirectory("vit-ckpt-").FullName;
        try
        {
            string path = Path.Combine(dir, "export.safetensors");
            using (var model = hf.CreateModel()) ViTCheckpoint.SaveTimmSafetensors(model, path, hf.ClassNames);
            var (tensors, metadata) = SafetensorsFile.Read(path);
            var timmNames = SafetensorsFile.Read(PathOf("timm_vit.safetensors")).Tensors.Keys.Order(StringComparer.Ordinal);
            Assert.Equal(timmNames, tensors.Keys.Order(StringComparer.Ordinal));
            Assert.Equal("pt", metadata["format"]);

            var back = ViTCheckpoint.Load(path); // heads, epsilon, mean/std and classes from the metadata
            Assert.Equal(CheckpointFamily.Timm, back.Family);
            Assert.Equal(hf.Config, back.Config);
            Assert.Equal(hf.ClassNames, back.ClassNames);
            foreach (var (name, value) in hf.Weights) Assert.Equal(value.Data, back.Weights[name].Data);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void OnlyStandardViTsExportWithTimmNames()
    {
        var seed = ViTConfig.Seed;
        var e = Assert.Throws<ArgumentException>(() => ViTCheckpoint.SaveTimmSafetensors(seed, new Dictionary<string, TensorData>(), "x.safetensors"));
        Assert.Contains("PatchConv", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointPathsAreRecognizedByExtensionOrFolder()
    {
        Assert.True(ViTCheckpoint.IsCheckpointPath("a/b.safetensors"));
        Assert.True(ViTCheckpoint.IsCheckpointPath("deit.pth"));
        Assert.True(ViTCheckpoint.IsCheckpointPath(PathOf("hf_vit")));
        Assert.False(ViTCheckpoint.IsCheckpointPath("model.zip"));
        Assert.False(ViTCheckpoint.IsCheckpointPath("model.onnx"));
    }
}
