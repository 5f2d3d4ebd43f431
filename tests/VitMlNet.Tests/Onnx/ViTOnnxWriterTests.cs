using Onnx;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using Xunit.Abstractions;
using static VitMlNet.Tests.Onnx.OnnxTestSupport;

namespace VitMlNet.Tests.Onnx;

public class ViTOnnxWriterTests(ITestOutputHelper output)
{
    public static TheoryData<string> ArchitectureNames => Architectures;

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void OnnxRuntimeLogitsEqualTorchSharpLogits(string arch)
    {
        var config = Architecture(arch);
        using var model = RandomModel(config, seed: 7);
        const int batch = 3;
        var pixels = RandomPixels(config, batch, seed: 11);
        var expected = TorchLogits(model, pixels, batch);

        var options = new ViTOnnxExportOptions
        {
            FeaturesOutputName = "features", PredictedIndexOutputName = "predicted_index", PredictedLabelOutputName = "predicted_label",
        };
        var onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model, null, options));
        using var session = Session(onnx);
        var outputs = Run(session, "pixels", pixels, [batch, config.Channels, config.ImageHeight, config.ImageWidth]);

        var logits = outputs["logits"];
        Assert.Equal(new long[] { batch, config.NumClasses }, logits.Shape);
        float diff = MaxAbsDiff(expected, logits.Floats!);
        output.WriteLine($"{arch}: max |onnx - torch| logits = {diff:E2}, max |logit| = {expected.Max(Math.Abs):F3}");
        Assert.True(diff <= 1e-4f, $"{arch}: max |onnx - torch| = {diff}");

        var features = outputs["features"];
        Assert.Equal(new long[] { batch, config.Dim }, features.Shape);
        float featureDiff = MaxAbsDiff(TorchFeatures(model, pixels, batch), features.Floats!);
        Assert.True(featureDiff <= 1e-4f, $"{arch}: features max diff {featureDiff}");

        var probabilities = outputs["probabilities"].Floats!;
        var index = outputs["predicted_index"];
        Assert.Equal(new long[] { batch }, index.Shape);
        for (int b = 0; b < batch; b++)
        {
            var row = probabilities.AsSpan(b * config.NumClasses, config.NumClasses).ToArray();
            Assert.InRange(row.Sum(), 1 - 1e-5, 1 + 1e-5);
            var logitRow = expected.AsSpan(b * config.NumClasses, config.NumClasses).ToArray();
            Assert.Equal(Array.IndexOf(logitRow, logitRow.Max()), index.Integers![b]);
            Assert.Equal(Array.IndexOf(row, row.Max()), index.Integers![b]);
            Assert.Equal(index.Integers![b].ToString(System.Globalization.CultureInfo.InvariantCulture), outputs["predicted_label"].Strings![b]);
        }
    }

    [Theory]
    [InlineData("cls")]
    [InlineData("nonsquare")]
    [InlineData("gray")]
    public void FlatAndNchwLayoutsGiveTheSameOutputs(string arch)
    {
        var config = Architecture(arch);
        using var model = RandomModel(config, seed: 3);
        var weights = VisionTransformerWeights.Extract(model);
        const int batch = 2;
        var pixels = RandomPixels(config, batch, seed: 5);
        int size = config.Channels * config.ImageHeight * config.ImageWidth;

        var nchw = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(config, weights));
        var flat = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(config, weights, null,
            new ViTOnnxExportOptions { InputLayout = ViTOnnxInputLayout.Flat, InputName = "Pixels" }));
        using var nchwSession = Session(nchw);
        using var flatSession = Session(flat);
        Assert.Equal(new[] { -1, config.Channels, config.ImageHeight, config.ImageWidth }, nchwSession.InputMetadata["pixels"].Dimensions);
        Assert.Equal(new[] { -1, size }, flatSession.InputMetadata["Pixels"].Dimensions);

        var a = Run(nchwSession, "pixels", pixels, [batch, config.Channels, config.ImageHeight, config.ImageWidth]);
        var b = Run(flatSession, "Pixels", pixels, [batch, size]);
        Assert.Equal(a["logits"].Floats, b["logits"].Floats);
        Assert.Equal(a["probabilities"].Floats, b["probabilities"].Floats);
    }

    [Fact]
    public void BatchDimensionIsDynamic()
    {
        var config = Architecture("distill");
        using var model = RandomModel(config, seed: 1);
        var onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model));
        using var session = Session(onnx);
        var pixels = RandomPixels(config, 5, seed: 2);
        var all = Run(session, "pixels", pixels, [5, config.Channels, config.ImageHeight, config.ImageWidth])["logits"].Floats!;
        int per = config.Channels * config.ImageHeight * config.ImageWidth;
        for (int b = 0; b < 5; b++)
        {
            var single = Run(session, "pixels", pixels.AsSpan(b * per, per).ToArray(), [1, config.Channels, config.ImageHeight, config.ImageWidth])["logits"].Floats!;
            Assert.True(MaxAbsDiff(all.AsSpan(b * config.NumClasses, config.NumClasses).ToArray(), single) <= 1e-5f);
        }
    }

    [Fact]
    public void PixelScaleOneTakesInputsInTheUnitRange()
    {
        var config = Architecture("cls");
        using var model = RandomModel(config, seed: 4);
        var pixels = RandomPixels(config, 2, seed: 6);
        var expected = TorchLogits(model, pixels, 2);
        var onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model, null, new ViTOnnxExportOptions { PixelScale = 1f, ProbabilitiesOutputName = null }));
        using var session = Session(onnx);
        Assert.Equal(new[] { "logits" }, session.OutputNames);
        var unit = pixels.Select(v => v / 255f).ToArray();
        var logits = Run(session, "pixels", unit, [2, config.Channels, config.ImageHeight, config.ImageWidth])["logits"].Floats!;
        Assert.True(MaxAbsDiff(expected, logits) <= 1e-4f);
    }

    [Fact]
    public void PredictedIndexCanBeUInt32()
    {
        var config = Architecture("mean");
        using var model = RandomModel(config, seed: 8);
        var pixels = RandomPixels(config, 4, seed: 9);
        var options = new ViTOnnxExportOptions { PredictedIndexOutputName = "index", PredictedIndexType = ViTOnnxIndexType.UInt32 };
        var onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model, null, options));
        using var session = Session(onnx);
        Assert.Equal(typeof(uint), session.OutputMetadata["index"].ElementType);
        var outputs = Run(session, "pixels", pixels, [4, config.Channels, config.ImageHeight, config.ImageWidth]);
        var logits = outputs["logits"].Floats!;
        for (int b = 0; b < 4; b++)
        {
            var row = logits.AsSpan(b * config.NumClasses, config.NumClasses).ToArray();
            Assert.Equal(Array.IndexOf(row, row.Max()), outputs["index"].Integers![b]);
        }
    }

    [Fact]
    public void ModelCarriesOpsetMetadataAndPreTransposedWeights()
    {
        var config = Architecture("distill");
        using var model = RandomModel(config, seed: 2);
        var proto = ViTOnnxWriter.Build(model, Enumerable.Range(0, 10).Select(i => $"class {i}").ToArray());
        Assert.Equal("VitMlNet", proto.ProducerName);
        Assert.Contains(proto.OpsetImport, o => o.Domain == "" && o.Version == 17);
        var meta = proto.MetadataProps.ToDictionary(m => m.Key, m => m.Value);
        Assert.Contains("\"DistillationToken\":true", meta["vitmlnet.config"]);
        Assert.DoesNotContain("NumPatches", meta["vitmlnet.config"]);
        Assert.StartsWith("[\"class 0\",\"class 1\"", meta["vitmlnet.classes"]);
        var q = proto.Graph.Initializer.Single(t => t.Name == "layers.0.0.to_qkv.weight.q_heads");
        Assert.Equal(new long[] { config.Heads, config.Dim, config.DimHead }, q.Dims);
        var head = proto.Graph.Initializer.Single(t => t.Name == "head.weight.T");
        Assert.Equal(new long[] { config.Dim, config.NumClasses }, head.Dims);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "LayerNormalization");
        Assert.Contains(proto.Graph.Node, n => n.OpType == "Erf");
        // One broadcast MatMul each for q, k and v per block, no Split; no Transpose of any weight.
        Assert.Equal(3 * config.Depth, proto.Graph.Node.Count(n => n.OpType == "MatMul" && n.Input[1].EndsWith("_heads", StringComparison.Ordinal)));
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Split");
        var initializerNames = proto.Graph.Initializer.Select(t => t.Name).ToHashSet();
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Transpose" && initializerNames.Contains(n.Input[0]));
    }

    [Fact]
    public void SerializesToStreamBytesAndFileAlike()
    {
        using var model = RandomModel(Architecture("cls"), seed: 1);
        var proto = ViTOnnxWriter.Build(model);
        var bytes = ViTOnnxWriter.ToByteArray(proto);
        using var stream = new MemoryStream();
        ViTOnnxWriter.Write(proto, stream);
        Assert.Equal(bytes, stream.ToArray());
        var path = Path.Combine(Path.GetTempPath(), $"vitmlnet-{Guid.NewGuid():N}.onnx");
        try
        {
            ViTOnnxWriter.Write(proto, path);
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BuildingFromAModelLeaksNoTensors()
    {
        using var model = RandomModel(Architecture("cls"), seed: 1);
        ViTOnnxWriter.Build(model); // warm-up: lazily created tensors, if any
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) ViTOnnxWriter.Build(model);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void WrongWeightsAreListedByName()
    {
        var config = Architecture("cls");
        using var model = RandomModel(config, seed: 1);
        var weights = VisionTransformerWeights.Extract(model);
        weights.Remove("head.bias");
        weights["pos"] = (new float[3], [1, 1, 3]);
        weights["extra"] = (new float[1], [1]);
        var e = Assert.Throws<ArgumentException>(() => ViTOnnxWriter.Build(config, weights));
        Assert.Contains("missing 'head.bias' [10]", e.Message);
        Assert.Contains("'pos' has shape [1, 1, 3], expected [1, 17, 32]", e.Message);
        Assert.Contains("unexpected 'extra'", e.Message);
    }

    [Fact]
    public void InvalidOptionsAndClassNamesAreRejected()
    {
        using var model = RandomModel(Architecture("cls"), seed: 1);
        var e = Assert.Throws<ArgumentException>(() => ViTOnnxWriter.Build(model, null,
            new ViTOnnxExportOptions { InputName = "", PixelScale = 0, LogitsOutputName = "x", ProbabilitiesOutputName = "x" }));
        Assert.Contains("InputName must not be empty", e.Message);
        Assert.Contains("PixelScale must be positive", e.Message);
        Assert.Contains("'x' is used more than once", e.Message);
        var c = Assert.Throws<ArgumentException>(() => ViTOnnxWriter.Build(model, new[] { "a", "b" }));
        Assert.Contains("Expected 10 class names", c.Message);
    }
}
