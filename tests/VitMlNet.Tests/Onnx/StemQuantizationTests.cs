using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Onnx;

namespace VitMlNet.Tests.Onnx;

/// <summary>
/// The static int8 ResNet18 stem (<see cref="ViTOnnxExportOptions.StemActivationRanges"/>): ML.NET's pretrained ResNet18
/// (two stages, on 64×64 images so that the test stays fast) under a small random ViT, calibrated on smooth synthetic
/// images, scores like the float graph, and ONNX Runtime runs its convolutions as QLinearConv.
/// </summary>
public class StemQuantizationTests
{
    private static readonly ViTConfig Config =
        (ViTConfig.HybridResNet18 with { PatchSize = 8, Dim = 32, Heads = 2, DimHead = 16, Depth = 1, Dropout = 0 }).WithInput(3, 64, 64, 4);

    /// <summary>Smooth photo-like images: a colour gradient, a few soft discs and a little noise, values 0..255.</summary>
    private static float[] Images(int count, int seed)
    {
        var random = new Random(seed);
        int h = Config.ImageHeight, w = Config.ImageWidth;
        var data = new float[count * 3 * h * w];
        for (int n = 0; n < count; n++)
        {
            var discs = Enumerable.Range(0, 3).Select(_ => (Y: random.Next(h), X: random.Next(w), R: 6 + random.Next(16),
                Colour: new[] { random.Next(256), random.Next(256), random.Next(256) })).ToArray();
            for (int ch = 0; ch < 3; ch++)
            {
                float a = random.Next(256), dy = (float)(random.NextDouble() - 0.5) * 4, dx = (float)(random.NextDouble() - 0.5) * 4;
                for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float v = a + dy * y + dx * x;
                    foreach (var d in discs)
                    {
                        float r = MathF.Sqrt((y - d.Y) * (y - d.Y) + (x - d.X) * (x - d.X));
                        float t = Math.Clamp((d.R - r) / 3f, 0f, 1f);
                        v = v * (1 - t) + d.Colour[ch] * t;
                    }
                    data[((n * 3 + ch) * h + y) * w + x] = MathF.Round(Math.Clamp(v + (float)(random.NextDouble() - 0.5) * 16, 0, 255));
                }
            }
        }
        return data;
    }

    private static (ViTConfig Config, Dictionary<string, TensorData> Weights) PretrainedModel()
    {
        using var model = OnnxTestSupport.RandomModel(Config, seed: 3);
        ResNet18Weights.LoadInto(model, ResNet18Weights.Locate(null, null));
        return (Config, new Dictionary<string, TensorData>(VisionTransformerWeights.Extract(model)));
    }

    private static byte[] Graph(Dictionary<string, TensorData> weights, ViTOnnxWeightPrecision precision, IReadOnlyDictionary<string, float[]>? ranges) =>
        ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(Config, weights, null, new ViTOnnxExportOptions
        {
            WeightPrecision = precision,
            StemActivationRanges = ranges,
            ProbabilitiesOutputName = null,
        }));

    [Fact]
    public void Int8StemLogitsStayCloseToTheFloatStemsAndPredictionsAgreeWithTheFloatGraph()
    {
        var (_, weights) = PretrainedModel();
        var ranges = StemQuantization.Calibrate(Config, weights, 1f / 255f, Images(32, seed: 1), 32);
        const int count = 16;
        var test = Images(count, seed: 2);
        long[] shape = [count, 3, Config.ImageHeight, Config.ImageWidth];
        float[] Logits(ViTOnnxWeightPrecision precision, IReadOnlyDictionary<string, float[]>? r)
        {
            using var session = OnnxTestSupport.Session(Graph(weights, precision, r));
            return OnnxTestSupport.Run(session, "pixels", test, shape)["logits"].Floats!;
        }
        var plain = Logits(ViTOnnxWeightPrecision.Float32, null);
        var floatStem = Logits(ViTOnnxWeightPrecision.DynamicInt8, null);
        var int8Stem = Logits(ViTOnnxWeightPrecision.DynamicInt8, ranges);
        int classes = Config.NumClasses;
        // The stem's share of the error: the int8 stem against the float stem, the encoder int8 in both. Measured in each
        // image's spread of float logits: about 3% with 7-bit weights (StemQuantization.WeightBound); full 8-bit weights
        // give about 12% on an AVX2 machine without VNNI, where ONNX Runtime's u8s8 kernel saturates 16-bit sums, and a
        // wrong scale, zero point or bias gives tens of percent.
        double worst = 0;
        int agree = 0;
        for (int n = 0; n < count; n++)
        {
            var a = plain.AsSpan(n * classes, classes).ToArray();
            var b = floatStem.AsSpan(n * classes, classes).ToArray();
            var q = int8Stem.AsSpan(n * classes, classes).ToArray();
            worst = Math.Max(worst, OnnxTestSupport.MaxAbsDiff(b, q) / (a.Max() - a.Min()));
            if (Array.IndexOf(a, a.Max()) == Array.IndexOf(q, q.Max())) agree++;
        }
        Assert.True(worst < 0.06, $"the int8 stem moves the logits by up to {worst:P1} of an image's logit spread (expected < 6%)");
        Assert.True(agree >= count - 1, $"int8 and float predictions agree on {agree} of {count} images (expected at least {count - 1})");
    }

    [Fact]
    public void OnnxRuntimeRunsTheInt8StemAsQLinearConvAndReadsBackTheDequantizedWeights()
    {
        var (_, weights) = PretrainedModel();
        var ranges = StemQuantization.Calibrate(Config, weights, 1f / 255f, Images(8, seed: 1), 8);
        var bytes = Graph(weights, ViTOnnxWeightPrecision.DynamicInt8, ranges);
        string optimized = Path.Combine(Path.GetTempPath(), $"vitmlnet-int8stem-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { OptimizedModelFilePath = optimized, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL })
            using (new InferenceSession(bytes, options))
            {
            }
            var ops = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
            int backboneConvs = ResNetStem.Layout(Config).Count;
            Assert.Equal(backboneConvs, ops.Count(op => op == "QLinearConv"));
            // The float Conv left is the trained 1×1 projection; nothing of the backbone dequantizes back to a float Conv.
            Assert.Equal(1, ops.Count(op => op is "Conv" or "FusedConv"));
        }
        finally
        {
            File.Delete(optimized);
        }

        var read = ViTOnnxReader.Read(bytes);
        foreach (var (name, _, _, _, _) in ResNetStem.Layout(Config))
        {
            var (original, _) = weights[$"{name}.weight"];
            var back = read.Weights[$"{name}.weight"].Data;
            float max = original.Max(MathF.Abs);
            Assert.True(OnnxTestSupport.MaxAbsDiff(original, back) <= max / StemQuantization.WeightBound * 0.51f, $"{name}.weight read back further than half a quantization step");
        }
    }

    private sealed class PixelRow
    {
        [VectorType(3 * 32 * 32)]
        public float[] Pixels { get; set; } = [];

        public string Label { get; set; } = "";
    }

    [Fact]
    public void FittingAHybridWithInt8ScoringCalibratesTheStemAndTheZipScoresLikeTheEngine()
    {
        var (pixels, labels) = SyntheticImages.Make(48, seed: 4, 3, 32, 32);
        int per = 3 * 32 * 32;
        var rows = labels.Select((l, i) => new PixelRow
        {
            Pixels = pixels.AsSpan(i * per, per).ToArray().Select(b => (float)b).ToArray(), Label = SyntheticImages.ClassNames[l],
        }).ToList();
        var ml = new MLContext(1);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var options = new VisionTransformerOptions
        {
            Architecture = (ViTConfig.HybridResNet18 with { PatchSize = 8, Dim = 32, Heads = 2, DimHead = 16, Depth = 1 }).WithInput(3, 32, 32, 3),
            Epochs = 6, BatchSize = 16, LearningRate = 1e-3, Optimizer = VisionTransformerOptimizer.AdamW, Seed = 5, ProgressEverySteps = 0, FreezeStem = true,
            ScoringPrecision = ViTOnnxWeightPrecision.DynamicInt8,
            Log = m => Assert.Fail($"the test project restores the ResNet18 package; no download expected: {m}"),
        };
        using var vit = ml.MulticlassClassification.Trainers.VisionTransformer(options).Fit(data);
        Assert.NotNull(vit.StemActivationRanges);
        Assert.Equal(ResNetStem.Layout(options.Architecture).Count + 1 + 2 * 2 /* block outputs of two stages */,
            vit.StemActivationRanges!.Count);
        using var stream = new MemoryStream();
        vit.ExportOnnx(stream);
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(stream.ToArray());
        Assert.Contains(proto.Graph.Initializer, t => t.Name == "stem.backbone.conv1.weight" + ViTOnnxMetadata.Int8Suffix);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "QuantizeLinear");
        // The self-check scored the zip (int8 stem and encoder) against the float engine on the training images.
        Assert.True(vit.SelfCheck!.Agreement >= 0.95, $"the int8 zip agrees with the float engine on {vit.SelfCheck.Agreement:P0} of the sample ({vit.SelfCheck})");
    }
}
