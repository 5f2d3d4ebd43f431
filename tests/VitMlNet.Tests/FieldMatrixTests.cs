using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using SkiaSharp;
using VitMlNet.Cli;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
using VitMlNet.Training;
using Xunit;

namespace VitMlNet.Tests;

/// <summary>
/// Every architecture option against the kinds of images users bring (flat-patch aligned pictures, odd non-square sizes,
/// gray and RGB, the model's own size and others): a few epochs on a learnable task through the pipeline <c>vit train</c>
/// fits, then the saved zip scored by a plain ML.NET consumer, by <c>vit evaluate</c>'s evaluator and by the training
/// self-check, which must all agree; and the model must have learned in evaluation mode, or (the reference's patch
/// LayerNorm on flat patches) be flagged by the self-check.
/// </summary>
public sealed class FieldMatrixTests
{
    /// <summary>How the test images are drawn.</summary>
    public enum Kind
    {
        /// <summary>Low-resolution pictures enlarged with nearest neighbour so that every patch-aligned block is one value.</summary>
        FlatBlocks,
        /// <summary>Smooth pictures with pixel noise at odd, non-square sizes (19–41 pixels a side), resized by the zip's preprocessing.</summary>
        OddSizes,
    }

    private static readonly string[] ClassNames = ["diagonal", "left", "top"];

    /// <summary>The options: (name, architecture).</summary>
    private static ViTConfig Arch(string name)
    {
        var tiny = ViTConfig.Tiny;
        return name switch
        {
            "Patch" => tiny with { Stem = ViTStem.Patch },
            "PatchConv" => tiny,
            "ConvStem" => tiny with { Stem = ViTStem.Conv, StemChannels = 8, StemBatchNorm = true },
            "ConvFeedForward" => tiny with { ConvFeedForward = true, Pooling = ViTPooling.Mean },
            "FeedForwardBatchNorm" => tiny with { FeedForwardBatchNorm = true },
            "LocalityAttention" => tiny with { LocalitySelfAttention = true },
            "DistillationToken" => tiny with { DistillationToken = true },
            "MeanPooling" => tiny with { Pooling = ViTPooling.Mean },
            "ResNet18" or "ResNet18LastStageTrained" => ViTConfig.HybridResNet18 with { PatchSize = 8, Dim = 32, Heads = 2, DimHead = 16, Depth = 1, Dropout = 0 },
            _ => throw new ArgumentException(name),
        };
    }

    /// <summary>
    /// Each option at least once, each input kind at least once: (option, kind, channels, model height, model width,
    /// file height, file width). File sizes of 0 draw odd sizes per file.
    /// </summary>
    public static TheoryData<string, Kind, int, int, int, int, int> Cases() => new()
    {
        { "PatchConv", Kind.FlatBlocks, 1, 16, 16, 16, 16 },
        { "FeedForwardBatchNorm", Kind.FlatBlocks, 3, 16, 16, 16, 16 },
        { "MeanPooling", Kind.FlatBlocks, 1, 16, 24, 16, 24 },
        { "DistillationToken", Kind.FlatBlocks, 3, 16, 16, 40, 40 },
        { "ConvStem", Kind.OddSizes, 3, 16, 24, 0, 0 },
        { "ConvFeedForward", Kind.FlatBlocks, 1, 16, 16, 32, 32 },
        { "LocalityAttention", Kind.OddSizes, 1, 16, 16, 0, 0 },
        { "ResNet18", Kind.FlatBlocks, 3, 32, 32, 32, 32 },
        // The frozen ResNet's last stage (layer2 at patch 8) fine-tuned on cached layer1 maps: the zip must carry it.
        { "ResNet18LastStageTrained", Kind.FlatBlocks, 3, 32, 32, 32, 32 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ZipConsumerEvaluatorAndSelfCheckAgreeAndTheModelLearns(string option, Kind kind, int channels, int height, int width, int fileHeight, int fileWidth)
    {
        using var folder = new Folder(kind, channels, fileHeight, fileWidth, perClass: 20, seed: option.Length);
        var (vit, zip) = Train(folder, Arch(option), channels, height, width, augment: false, trainLastBlocks: option == "ResNet18LastStageTrained" ? 2 : 0);
        var check = vit.SelfCheck!;

        Assert.Equal(folder.Files.Count, check.Images);
        Assert.Equal(1.0, check.Agreement);
        double consumer = ConsumerAccuracy(zip, folder);
        double evaluator = ModelEvaluator.Evaluate(new MLContext(1), new MLContext(1).Model.Load(zip, out _), folder.Source, ClassNames).Accuracy;
        Assert.Equal(consumer, evaluator, 9);
        Assert.Equal(consumer, check.ZipAccuracy, 9);
        Assert.True(check.EngineAccuracy >= 0.8, $"{option} on {kind}: evaluation-mode accuracy {check.EngineAccuracy:F3} (training {check.TrainingAccuracy:F3})");
        Assert.Null(check.Warning);
        File.Delete(zip);
    }

    [Fact]
    public void TheReferencePatchLayerNormCannotSeeFlatPatchesAndTheSelfCheckSaysSo()
    {
        // Random crops shift the block grid in training, so training sees edges inside patches and learns; evaluation
        // sees the aligned grid, whose flat patches all normalize to the same token.
        using var folder = new Folder(Kind.FlatBlocks, 1, 16, 16, perClass: 20, seed: 3);
        var (vit, zip) = Train(folder, Arch("Patch"), 1, 16, 16, augment: true);
        var check = vit.SelfCheck!;

        Assert.NotNull(check.Warning);
        Assert.Contains("evaluation-mode accuracy", check.Warning);
        Assert.True(check.EngineAccuracy < 0.45, $"evaluation-mode accuracy {check.EngineAccuracy:F3}");
        Assert.Equal(ConsumerAccuracy(zip, folder), check.ZipAccuracy, 9);
        Assert.Contains(vit.TrainingHistory, e => e.EvaluationAccuracy < 0.45 && e.TrainAccuracy > 0.6);
        File.Delete(zip);
    }

    /// <summary>Fits the pipeline <c>vit train</c> fits and saves the zip as it does (no input schema).</summary>
    private static (VisionTransformerTransformer Vit, string Zip) Train(Folder folder, ViTConfig arch, int channels, int height, int width, bool augment, int trainLastBlocks = 0)
    {
        var ml = new MLContext(1);
        var options = new VisionTransformerOptions
        {
            Architecture = arch, Epochs = augment ? 25 : 12, BatchSize = 12, LearningRate = 2e-3, Optimizer = VisionTransformerOptimizer.AdamW,
            Schedule = VisionTransformerLearningRateSchedule.WarmupCosine, WarmupEpochs = 1, Seed = 7, ProgressEverySteps = 0,
            Augmentation = augment ? new AugmentationOptions { RandomCropPadding = 2 } : new AugmentationOptions(),
            FreezeStem = arch.Stem == ViTStem.ResNet18, StemTrainLastBlocks = trainLastBlocks, StemFeatureViews = trainLastBlocks > 0 ? 2 : 0,
            Log = m => Assert.Fail($"the test project restores the ResNet18 package; no download expected: {m}"),
        };
        var view = folder.Source.ToDataView(ml);
        var keyed = VisionTransformerPipeline.FitLabels(ml, view, folder.Source.ClassNames).Transform(view);
        var model = VisionTransformerPipeline.Create(ml, channels, height, width, options).Fit(keyed);
        var vit = ((IEnumerable<ITransformer>)model).OfType<VisionTransformerTransformer>().Single();
        string zip = Path.Combine(folder.Root, "model.zip");
        ml.Model.Save(model, null, zip);
        return (vit, zip);
    }

    /// <summary>What a business app does: <c>Model.Load</c> and a <c>PredictionEngine</c> over each file, ML.NET and ONNX Runtime only.</summary>
    private static double ConsumerAccuracy(string zip, Folder folder)
    {
        var ml = new MLContext();
        var model = ml.Model.Load(zip, out _);
        using var engine = ml.Model.CreatePredictionEngine<ConsumerInput, ConsumerOutput>(model);
        int correct = 0;
        foreach (var (path, label) in folder.Files)
        {
            var output = engine.Predict(new ConsumerInput { Image = MLImage.CreateFromFile(path) });
            if (output.PredictedLabel == label) correct++;
        }
        return (double)correct / folder.Files.Count;
    }

    private sealed class ConsumerInput
    {
        [ImageType(1, 1)]
        [ColumnName("Image")]
        public MLImage Image { get; set; } = null!;
    }

    private sealed class ConsumerOutput
    {
        public string PredictedLabel { get; set; } = "";

        public float[] Score { get; set; } = [];
    }

    /// <summary>
    /// An image folder of the three classes (upper-left triangle, left half, top half bright) as PNG files. Flat blocks:
    /// a grid of 4×4-pixel blocks (8×8 at 32 pixels a side), each one random level, bright or dark by class, and no
    /// pixel noise. Odd sizes: the same layout drawn smoothly at a random size per file, with pixel noise.
    /// </summary>
    private sealed class Folder : IDisposable
    {
        public Folder(Kind kind, int channels, int height, int width, int perClass, int seed)
        {
            Root = Path.Combine(Path.GetTempPath(), "vit-field-" + Guid.NewGuid().ToString("N"));
            var random = new Random(seed);
            var paths = new List<string>();
            var labels = new List<int>();
            for (int k = 0; k < ClassNames.Length; k++)
            {
                Directory.CreateDirectory(Path.Combine(Root, ClassNames[k]));
                for (int i = 0; i < perClass; i++)
                {
                    int h = height > 0 ? height : random.Next(19, 42), w = width > 0 ? width : random.Next(19, 42);
                    int block = kind == Kind.FlatBlocks ? Math.Max(4, Math.Min(h, w) / 4) : 1;
                    // Per-block (flat) or per-pixel (odd sizes) levels, each channel its own.
                    var levels = new Dictionary<(int, int, int), byte>();
                    using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
                    for (int y = 0; y < h; y++)
                    {
                        for (int x = 0; x < w; x++)
                        {
                            int by = y / block, bx = x / block;
                            double u = (bx + 0.5) * block / w, v = (by + 0.5) * block / h;
                            bool on = k switch { 0 => u + v < 1, 1 => u < 0.5, _ => v < 0.5 };
                            byte Level(int c)
                            {
                                if (kind == Kind.OddSizes) return (byte)Math.Clamp((on ? 190 : 50) + random.Next(-30, 31), 0, 255);
                                if (!levels.TryGetValue((by, bx, c), out byte level))
                                    levels[(by, bx, c)] = level = (byte)(on ? random.Next(150, 250) : random.Next(10, 100));
                                return level;
                            }
                            byte r = Level(0), g = channels == 1 ? r : Level(1), b = channels == 1 ? r : Level(2);
                            bitmap.SetPixel(x, y, new SKColor(r, g, b));
                        }
                    }
                    string file = Path.Combine(Root, ClassNames[k], $"{i:D3}.png");
                    using (var image = SKImage.FromBitmap(bitmap))
                    using (var data = image.Encode(SKEncodedImageFormat.Png, 100))
                    using (var stream = File.Create(file))
                        data.SaveTo(stream);
                    Files.Add((file, ClassNames[k]));
                    paths.Add(file);
                    labels.Add(k);
                }
            }
            Source = new ImageFileSet(Root, paths, labels.ToArray(), ClassNames);
        }

        public string Root { get; }

        public List<(string Path, string Label)> Files { get; } = [];

        public ImageFileSet Source { get; }

        public void Dispose()
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, true);
        }
    }
}
