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
    [MemberData(nameof(ArchitectureNames))]
    [InlineData("convffn-depth1")]
    public void EveryInitializerIsReadByANode(string arch)
    {
        // No dead weights: ONNX Runtime warns about (and drops) initializers no node reads. With class-token pooling
        // a depth-1 ConvFeedForward model has no convolution at all, so its grid constants must not be written either.
        var config = arch == "convffn-depth1" ? ViTConfig.Tiny with { Depth = 1, ConvFeedForward = true } : Architecture(arch);
        using var model = RandomModel(config, seed: 3);
        foreach (var precision in new[] { ViTOnnxWeightPrecision.Float32, ViTOnnxWeightPrecision.DynamicInt8 })
        {
            var graph = ViTOnnxWriter.Build(model, null, new ViTOnnxExportOptions { WeightPrecision = precision }).Graph;
            var read = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
            var unused = graph.Initializer.Select(t => t.Name).Where(name => !read.Contains(name)).ToList();
            Assert.True(unused.Count == 0, $"{arch} {precision}: unused initializers {string.Join(", ", unused)}");
        }
    }

    [Theory]
    [InlineData("cls", false)]
    [InlineData("distill-mean", false)]
    [InlineData("nonsquare", true)]
    [InlineData("convstem-bn-gray", true)]
    [InlineData("convffn-distill", false)]
    public void FlipAverageEqualsTheMeanOfTorchSharpOnTheImageAndItsMirror(string arch, bool flat)
    {
        var config = Architecture(arch);
        using var model = RandomModel(config, seed: 5);
        const int batch = 3;
        var pixels = RandomPixels(config, batch, seed: 9);
        var mirrored = Mirror(pixels, config.ImageWidth);
        int w = config.ImageWidth;
        float[] Mean(float[] a, float[] b) => a.Zip(b, (x, y) => (x + y) / 2).ToArray();
        var expectedLogits = Mean(TorchLogits(model, pixels, batch), TorchLogits(model, mirrored, batch));
        var expectedFeatures = Mean(TorchFeatures(model, pixels, batch), TorchFeatures(model, mirrored, batch));

        var options = new ViTOnnxExportOptions { FlipAverage = true, FeaturesOutputName = "features", PredictedIndexOutputName = "predicted_index" };
        if (flat) options.InputLayout = ViTOnnxInputLayout.Flat;
        var graph = ViTOnnxWriter.Build(model, null, options);
        var read = graph.Graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        Assert.All(graph.Graph.Initializer, t => Assert.Contains(t.Name, read));
        using var session = Session(ViTOnnxWriter.ToByteArray(graph));
        long[] shape = flat ? [batch, config.Channels * config.ImageHeight * w] : [batch, config.Channels, config.ImageHeight, w];
        var outputs = Run(session, "pixels", pixels, shape);

        Assert.Equal(new long[] { batch, config.NumClasses }, outputs["logits"].Shape);
        Assert.Equal(new long[] { batch, config.Dim }, outputs["features"].Shape);
        float diff = MaxAbsDiff(expectedLogits, outputs["logits"].Floats!);
        Assert.True(diff <= 1e-4f, $"{arch}: max |onnx - torch mean of both views| = {diff}");
        Assert.True(MaxAbsDiff(expectedFeatures, outputs["features"].Floats!) <= 1e-4f);
        // The mirror matters: the plain model's logits differ from the averaged ones.
        Assert.True(MaxAbsDiff(TorchLogits(model, pixels, batch), expectedLogits) > 1e-3f);
        for (int b = 0; b < batch; b++)
        {
            var row = expectedLogits.AsSpan(b * config.NumClasses, config.NumClasses).ToArray();
            Assert.Equal(Array.IndexOf(row, row.Max()), outputs["predicted_index"].Integers![b]);
        }
    }

    [Theory]
    [InlineData("nonsquare", false, false)]
    [InlineData("convstem-bn-gray", true, true)]
    [InlineData("ffbn-convffn-bn-distill", true, false)]
    public void ShiftAverageEqualsTheMeanOfTorchSharpOverTheOnePixelShifts(string arch, bool flip, bool flat)
    {
        var config = Architecture(arch);
        using var model = RandomModel(config, seed: 6);
        const int batch = 3;
        int h = config.ImageHeight, w = config.ImageWidth;
        var pixels = RandomPixels(config, batch, seed: 10);
        var views = ShiftViews.Select(s => Shift(pixels, h, w, s.Dy, s.Dx)).ToList();
        if (flip) views.AddRange(views.ToArray().Select(v => Mirror(v, w)));
        float[] Mean(IEnumerable<float[]> all) =>
            all.Aggregate(new float[batch * config.NumClasses], (sum, v) => sum.Zip(v, (a, b) => a + b).ToArray()).Select(v => v / views.Count).ToArray();
        var expected = Mean(views.Select(v => TorchLogits(model, v, batch)));

        var options = new ViTOnnxExportOptions { ShiftAverage = true, FlipAverage = flip, FeaturesOutputName = "features" };
        if (flat) options.InputLayout = ViTOnnxInputLayout.Flat;
        var graph = ViTOnnxWriter.Build(model, null, options);
        using var session = Session(ViTOnnxWriter.ToByteArray(graph));
        long[] shape = flat ? [batch, config.Channels * h * w] : [batch, config.Channels, h, w];
        var outputs = Run(session, "pixels", pixels, shape);

        Assert.Equal(new long[] { batch, config.NumClasses }, outputs["logits"].Shape);
        Assert.Equal(new long[] { batch, config.Dim }, outputs["features"].Shape);
        float diff = MaxAbsDiff(expected, outputs["logits"].Floats!);
        Assert.True(diff <= 1e-4f, $"{arch}: max |onnx - torch mean of the {views.Count} views| = {diff}");
        // The shifts matter: the mean over the image alone (and its mirror) differs.
        var fewer = flip
            ? TorchLogits(model, views[0], batch).Zip(TorchLogits(model, views[5], batch), (a, b) => (a + b) / 2).ToArray()
            : TorchLogits(model, pixels, batch);
        Assert.True(MaxAbsDiff(fewer, expected) > 1e-3f);
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
        weights["pos"] = new(new float[3], [1, 1, 3]);
        weights["extra"] = new(new float[1], [1]);
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

    [Theory]
    [InlineData("cls")]
    [InlineData("seed")]
    [InlineData("convstem-distill")]
    [InlineData("standard-distill")]
    public void Int8GraphTracksTheFloatModelAndReadsBackDequantizedWeights(string arch)
    {
        var config = Architecture(arch);
        using var model = RandomModel(config, seed: 5);
        const int batch = 16;
        var pixels = RandomPixels(config, batch, seed: 13);
        var expected = TorchLogits(model, pixels, batch);

        var proto = ViTOnnxWriter.Build(model, null, new ViTOnnxExportOptions { WeightPrecision = ViTOnnxWeightPrecision.DynamicInt8 });
        // Per block: q, k, v, output projection, two MLP layers; k and v share one quantized input (q too, except in a
        // class-token model's last block, whose queries are the prefix tokens only).
        Assert.Equal(6 * config.Depth, proto.Graph.Node.Count(n => n.OpType == "MatMulInteger"));
        Assert.Equal(4 * config.Depth + (config.Pooling == ViTPooling.Cls ? 1 : 0), proto.Graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
        Assert.DoesNotContain(proto.Graph.Initializer, t => t.Name.EndsWith(".q_heads", StringComparison.Ordinal));
        var onnx = ViTOnnxWriter.ToByteArray(proto);
        var floatBytes = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model));
        Assert.True(onnx.Length < floatBytes.Length, $"int8 graph {onnx.Length} bytes, float graph {floatBytes.Length}");

        using var session = Session(onnx);
        var logits = Run(session, "pixels", pixels, [batch, config.Channels, config.ImageHeight, config.ImageWidth])["logits"].Floats!;
        double err = Math.Sqrt(expected.Zip(logits, (a, b) => (double)(a - b) * (a - b)).Sum());
        double norm = Math.Sqrt(expected.Sum(a => (double)a * a));
        int agree = 0;
        for (int b = 0; b < batch; b++)
        {
            var e = expected.AsSpan(b * config.NumClasses, config.NumClasses).ToArray();
            var q = logits.AsSpan(b * config.NumClasses, config.NumClasses).ToArray();
            if (Array.IndexOf(e, e.Max()) == Array.IndexOf(q, q.Max())) agree++;
        }
        output.WriteLine($"{arch}: relative logit error {err / norm:P2}, top-1 agreement {agree}/{batch}");
        Assert.True(err / norm < 0.10, $"{arch}: relative logit error {err / norm:P2}");
        Assert.True(agree >= batch - 2, $"{arch}: top-1 agreement {agree}/{batch}");

        // Reading back gives the dequantized weights: each within half a quantization step of the original.
        var read = ViTOnnxReader.Read(proto);
        Assert.Equal(config, read.Config);
        var original = VisionTransformerWeights.Extract(model);
        foreach (var (name, (data, shape)) in original)
        {
            var back = read.Weights[name].Data;
            if (!name.Contains(".to_", StringComparison.Ordinal) && !name.Contains(".net.", StringComparison.Ordinal) || shape.Length != 2)
            {
                Assert.Equal(data, back);
                continue;
            }
            // Linear [out, in]: one scale per output row here (per column of the stored [in, out] transpose); q/k/v likewise.
            int rows = (int)shape[0], cols = (int)shape[1];
            for (int r = 0; r < rows; r++)
            {
                float step = 0;
                for (int c = 0; c < cols; c++) step = Math.Max(step, Math.Abs(data[r * cols + c]));
                step /= StemQuantization.WeightBound;
                for (int c = 0; c < cols; c++)
                    Assert.True(Math.Abs(data[r * cols + c] - back[r * cols + c]) <= step / 2 + 1e-7f, $"{name}[{r},{c}]");
            }
        }
    }

    [Fact]
    public void QuantizeColumnsUsesOneSymmetricScalePerColumnAndRoundTrips()
    {
        float[] w = [1f, -0.5f, 0f, 0.25f, -2f, 0f];   // [3 rows, 2 columns]: column 0 = 1, 0, -2; column 1 = -0.5, 0.25, 0
        var (values, scales) = ViTOnnxWriter.QuantizeColumns(w, [3, 2]);
        Assert.Equal(new[] { 2f / 63f, 0.5f / 63f }, scales);   // 7-bit values (see QuantizeColumns)
        Assert.Equal(new sbyte[] { 31, -63, 0, 31, -63, 0 }, values);   // 1 / (2 / 63f) rounds to 31 in float
        var back = ViTOnnxWriter.DequantizeColumns(values, scales, [3, 2]);
        for (int i = 0; i < w.Length; i++) Assert.InRange(back[i] - w[i], -scales[i % 2] / 2, scales[i % 2] / 2);
        var (_, zeroScales) = ViTOnnxWriter.QuantizeColumns(new float[4], [2, 2]);
        Assert.Equal(new[] { 1f, 1f }, zeroScales);
    }
}
