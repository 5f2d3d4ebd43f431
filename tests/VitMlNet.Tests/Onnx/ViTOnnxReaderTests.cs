using Onnx;
using VitMlNet.ModelZip;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using static VitMlNet.Tests.Onnx.OnnxTestSupport;

namespace VitMlNet.Tests.Onnx;

public class ViTOnnxReaderTests
{
    public static TheoryData<string> ArchitectureNames => Architectures;

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void RoundTripRestoresConfigClassesAndIdenticalWeights(string arch)
    {
        var config = Architecture(arch) with { Name = $"arch-{arch}" };
        using var model = RandomModel(config, seed: 13);
        var weights = VisionTransformerWeights.Extract(model);
        var classes = Enumerable.Range(0, config.NumClasses).Select(i => $"klasse \"{i}\" ü").ToArray();
        var options = new ViTOnnxExportOptions { InputLayout = ViTOnnxInputLayout.Flat, InputName = "Pixels", PixelScale = 1f, FeaturesOutputName = "f" };
        var bytes = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(config, weights, classes, options));

        var read = ViTOnnxReader.Read(bytes);
        AssertSameConfig(config, read.Config);
        Assert.Equal(classes, read.ClassNames);
        Assert.Equal(weights.Keys.Order(StringComparer.Ordinal), read.Weights.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, (data, shape)) in weights)
        {
            Assert.Equal(shape, read.Weights[name].Shape);
            Assert.True(data.AsSpan().SequenceEqual(read.Weights[name].Data), $"{name} differs");
        }
        Assert.NotNull(read.ExportOptions);
        Assert.Equal(ViTOnnxInputLayout.Flat, read.ExportOptions!.InputLayout);
        Assert.Equal("Pixels", read.ExportOptions.InputName);
        Assert.Equal(1f, read.ExportOptions.PixelScale);
        Assert.Equal("f", read.ExportOptions.FeaturesOutputName);
    }

    [Theory]
    [InlineData("distill")]
    [InlineData("seed")]
    public void ModelLoadedFromReadWeightsGivesTheSameLogits(string arch)
    {
        var config = Architecture(arch);
        using var model = RandomModel(config, seed: 17);
        var pixels = RandomPixels(config, 2, seed: 19);
        var expected = TorchLogits(model, pixels, 2);
        var path = Path.Combine(Path.GetTempPath(), $"vitmlnet-{Guid.NewGuid():N}.onnx");
        try
        {
            ViTOnnxWriter.Write(ViTOnnxWriter.Build(model), path);
            using var reloaded = ViTOnnxReader.Read(path).CreateModel();
            reloaded.eval();
            Assert.Equal(expected, TorchLogits(reloaded, pixels, 2));

            // Streams read the same as files; Load into an existing model works as well.
            using var stream = File.OpenRead(path);
            using var other = new VisionTransformer(config);
            VisionTransformerWeights.Load(other, ViTOnnxReader.Read(stream).Weights);
            other.eval();
            Assert.Equal(expected, TorchLogits(other, pixels, 2));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ForeignOnnxModelsAreRejected()
    {
        var foreign = new ModelProto { IrVersion = 8, Graph = new GraphProto() };
        var e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(foreign));
        Assert.Contains("vitmlnet.config", e.Message);
        Assert.False(ViTOnnxReader.IsViTOnnxModel(foreign));
        Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(new byte[] { 0xFF, 0xFF, 0xFF, 0x01, 0x02 }));
    }

    [Fact]
    public void MissingOrMisShapedInitializersAreNamed()
    {
        using var model = RandomModel(Architecture("cls"), seed: 1);
        var proto = ViTOnnxWriter.Build(model);
        proto.Graph.Initializer.Remove(proto.Graph.Initializer.Single(t => t.Name == "head.bias"));
        var e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(proto));
        Assert.Contains("head.bias", e.Message);

        proto = ViTOnnxWriter.Build(model);
        proto.Graph.Initializer.Single(t => t.Name == "pos").Dims[1] = 3;
        e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(proto));
        Assert.Contains("'pos' has shape [1, 3, 32], expected [1, 17, 32]", e.Message);
    }

    [Fact]
    public void LoadRejectsWeightsOfAnotherArchitecture()
    {
        using var small = RandomModel(Architecture("cls"), seed: 1);
        using var other = new VisionTransformer(Architecture("nonsquare"));
        var e = Assert.Throws<ArgumentException>(() => VisionTransformerWeights.Load(other, VisionTransformerWeights.Extract(small)));
        Assert.Contains("'pos' has shape [1, 17, 32], expected [1, 16, 32]", e.Message);
        Assert.Contains("'head.weight' has shape [10, 32], expected [5, 32]", e.Message);
    }

    [Fact]
    public void ZipWithoutAVitModelGivesNull()
    {
        using var buffer = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(zip.CreateEntry("TransformerChain/Model.key").Open());
            writer.Write("not an onnx model, just some text that is long enough");
        }
        buffer.Position = 0;
        Assert.Null(ModelZipFile.FindModelBytesInZip(buffer));
        buffer.Position = 0;
        Assert.Throws<InvalidDataException>(() => ModelZipFile.ReadFromZip(buffer));
    }

    [Fact]
    public void ConfigJsonRoundTripsEveryField()
    {
        var config = ViTConfig.Seed with
        {
            Name = "x", Pooling = ViTPooling.Mean, DistillationToken = true, MlpRatio = 2.5, DropPathRate = 0.15, StemConvsPerStage = 3, StemAntiAlias = true,
            Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f],
        };
        AssertSameConfig(config, ViTOnnxMetadata.DeserializeConfig(ViTOnnxMetadata.SerializeConfig(config)));
        Assert.Contains("\"Pooling\":\"Mean\"", ViTOnnxMetadata.SerializeConfig(config));
    }

    [Fact]
    public void ConfigJsonFromBeforeStemConvsPerStageReadsAsOneConvPerStage()
    {
        // Models saved before the field existed have no "StemConvsPerStage" in their JSON: their stems had one
        // convolution per stage, and that is what the reader must rebuild.
        var config = ViTConfig.FmnistAccurate.WithInput(1, 28, 28, 10) with { StemConvsPerStage = 1 };
        var node = System.Text.Json.Nodes.JsonNode.Parse(ViTOnnxMetadata.SerializeConfig(config))!.AsObject();
        Assert.True(node.Remove("StemConvsPerStage"));
        var read = ViTOnnxMetadata.DeserializeConfig(node.ToJsonString());
        Assert.Equal(1, read.StemConvsPerStage);
        AssertSameConfig(config, read);
    }

    /// <summary>ViTConfig's record equality compares Mean/Std by reference, so compare those by value.</summary>
    internal static void AssertSameConfig(ViTConfig expected, ViTConfig actual)
    {
        Assert.Equal(expected.Mean, actual.Mean);
        Assert.Equal(expected.Std, actual.Std);
        Assert.Equal(expected, actual with { Mean = expected.Mean, Std = expected.Std });
    }
}
