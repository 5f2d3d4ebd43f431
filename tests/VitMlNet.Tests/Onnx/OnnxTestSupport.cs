using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Tests.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Tests.Onnx;

/// <summary>Shared helpers of the ONNX tests: seeded models with every weight random, pixels, and both runtimes.</summary>
internal static class OnnxTestSupport
{
    /// <summary>The architectures the parity tests cover: the model tests' list plus the seed preset and combinations of options.</summary>
    public static TheoryData<string> Architectures => new() { "cls", "mean", "distill", "distill-mean", "gray", "nonsquare", "droppath", "depth1", "seed", "convstem", "convstem-gray", "convstem-distill", "convffn", "convffn-mean", "convffn-distill", "convstem-bn", "convstem-bn-gray", "lsa", "lsa-bn-distill-mean", "ffbn", "ffbn-convffn-bn-distill", "convstem-stages", "convstem-stages3-gray", "convstem-aa", "convstem-aa-gray", "standard", "standard-distill", "standard-mean-gray", "qkvbias-lsa-finalnorm", "hybrid-resnet18-p8", "hybrid-resnet18-p16-skip", "hybrid-resnet18-p32-distill" };

    public static ViTConfig Architecture(string name) => name switch
    {
        "seed" => ViTConfig.Seed,
        "distill-mean" => ViTConfig.Tiny with { DistillationToken = true, Pooling = ViTPooling.Mean },
        "depth1" => ViTConfig.Tiny with { Depth = 1, DistillationToken = true },
        "convstem-distill" => ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, PatchSize = 8, DistillationToken = true },
        "convffn-distill" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 8, Depth = 3, DistillationToken = true, ConvFeedForward = true }).WithInput(3, 16, 24, 6),
        "convstem-bn-gray" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 2, StemBatchNorm = true, Pooling = ViTPooling.Mean, DistillationToken = true }).WithInput(1, 12, 20, 5),
        "lsa-bn-distill-mean" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 2, StemBatchNorm = true, LocalitySelfAttention = true, Pooling = ViTPooling.Mean, DistillationToken = true }).WithInput(1, 12, 20, 5),
        // BatchNorm feed-forward with a depthwise-conv feed-forward before it, a BatchNorm stem and class-token pooling,
        // so the last block's feed-forward runs on the prefix rows only.
        "ffbn-convffn-bn-distill" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 2, StemBatchNorm = true, ConvFeedForward = true, FeedForwardBatchNorm = true, DistillationToken = true }).WithInput(1, 12, 20, 5),
        // Three convs per stage without BatchNorm (convs with biases), on a gray non-square image.
        "convstem-stages3-gray" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 2, StemConvsPerStage = 3, Pooling = ViTPooling.Mean }).WithInput(1, 12, 20, 5),
        // Anti-aliased stride-2 convolutions (blur before each), BatchNorm stem, two convs per stage, gray and non-square.
        "convstem-aa-gray" => (ViTConfig.Tiny with { Stem = ViTStem.Conv, StemChannels = 4, PatchSize = 4, StemBatchNorm = true, StemConvsPerStage = 2, StemAntiAlias = true }).WithInput(1, 12, 20, 5),
        // Standard ViT pieces on gray non-square images with mean pooling, and each piece alone on the seed's layout.
        "standard-mean-gray" => (ViTConfig.Tiny with { Stem = ViTStem.PatchConv, QkvBias = true, FinalNorm = true, LayerNormEpsilon = 1e-12, Pooling = ViTPooling.Mean }).WithInput(1, 12, 20, 5),
        // The hybrid ViT's ResNet18 stem: two stages on a non-square image, and all four (stride 32) with a distillation token.
        "hybrid-resnet18-p8" => (ViTConfig.Tiny with { Stem = ViTStem.ResNet18, PatchSize = 8, QkvBias = true, FinalNorm = true }).WithInput(3, 32, 48, 5),
        "hybrid-resnet18-p16-skip" => (ViTConfig.Tiny with { Stem = ViTStem.ResNet18, PatchSize = 16, StemSkipLastBlocks = 1, Pooling = ViTPooling.Mean }).WithInput(3, 32, 32, 3),
        "hybrid-resnet18-p32-distill" => (ViTConfig.HybridResNet18 with { Dim = 32, Heads = 2, DimHead = 16, DistillationToken = true, Dropout = 0 }).WithInput(3, 64, 96, 4),
        "qkvbias-lsa-finalnorm" => ViTConfig.Tiny with { QkvBias = true, FinalNorm = true, LocalitySelfAttention = true },
        _ => VisionTransformerTests.Architecture(name),
    };

    /// <summary>
    /// A model in eval mode whose every parameter is random (seeded): PyTorch's initializers, then noise on top so that
    /// LayerNorm scales and shifts are not 1 and 0 and a swapped weight would show; BatchNorm running statistics likewise.
    /// </summary>
    public static VisionTransformer RandomModel(ViTConfig config, int seed)
    {
        torch.manual_seed(seed);
        var model = new VisionTransformer(config);
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            foreach (var (_, p) in model.named_parameters())
                p.add_(torch.randn_like(p).mul_(p.dim() == 1 ? 0.2 : 0.05));
            // BatchNorm running statistics too (mean around 0, variance 0.5–1.5), so the export must carry them.
            foreach (var (name, b) in model.named_buffers().Where(b => b.buffer.is_floating_point()))
            {
                if (name.EndsWith(".running_var", StringComparison.Ordinal)) b.copy_(torch.rand_like(b).add_(0.5));
                else b.add_(torch.randn_like(b).mul_(0.2));
            }
        }
        model.eval();
        return model;
    }

    /// <summary>Random integer pixel values 0..255 for a batch in [N, C, H, W] order.</summary>
    public static float[] RandomPixels(ViTConfig config, int batch, int seed)
    {
        var random = new Random(seed);
        var data = new float[batch * config.Channels * config.ImageHeight * config.ImageWidth];
        for (int i = 0; i < data.Length; i++) data[i] = random.Next(256);
        return data;
    }

    /// <summary>Planar pixels ([N, C, H, W] or flat) mirrored left to right: every row of <paramref name="width"/> values reversed.</summary>
    public static float[] Mirror(float[] pixels, int width)
    {
        var mirrored = new float[pixels.Length];
        for (int row = 0; row < pixels.Length / width; row++)
            for (int col = 0; col < width; col++) mirrored[row * width + col] = pixels[row * width + width - 1 - col];
        return mirrored;
    }

    /// <summary>The views that shift averaging scores, as (dy, dx) for <see cref="Shift"/>: the image, then one pixel each way.</summary>
    public static readonly (int Dy, int Dx)[] ShiftViews = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)];

    /// <summary>
    /// The images of <paramref name="pixels"/> (rows of <paramref name="width"/> values, <paramref name="height"/> rows per
    /// channel) moved by <paramref name="dy"/> rows and <paramref name="dx"/> columns: pixel (r, c) of the result is pixel
    /// (r - dy, c - dx) of the source, 0 where that is outside.
    /// </summary>
    public static float[] Shift(float[] pixels, int height, int width, int dy, int dx)
    {
        var shifted = new float[pixels.Length];
        for (int plane = 0; plane < pixels.Length / (height * width); plane++)
            for (int row = 0; row < height; row++)
                for (int col = 0; col < width; col++)
                {
                    int r = row - dy, c = col - dx;
                    if (r >= 0 && r < height && c >= 0 && c < width)
                        shifted[(plane * height + row) * width + col] = pixels[(plane * height + r) * width + c];
                }
        return shifted;
    }

    /// <summary>TorchSharp logits of <paramref name="model"/> on ((x / 255 - mean) / std).</summary>
    public static float[] TorchLogits(VisionTransformer model, float[] pixels, int batch) =>
        RunNormalized(model, pixels, batch, model.forward);

    /// <summary>TorchSharp pooled features of <paramref name="model"/> on normalized pixels.</summary>
    public static float[] TorchFeatures(VisionTransformer model, float[] pixels, int batch) =>
        RunNormalized(model, pixels, batch, model.ForwardFeatures);

    /// <summary>Runs <paramref name="forward"/> (eval semantics, no grad) on ((x / 255 - mean) / std) and returns its values.</summary>
    private static float[] RunNormalized(VisionTransformer model, float[] pixels, int batch, Func<torch.Tensor, torch.Tensor> forward)
    {
        var c = model.Config;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = torch.tensor(pixels, new long[] { batch, c.Channels, c.ImageHeight, c.ImageWidth });
        var mean = torch.tensor(c.Mean.ToArray()).reshape(1, c.Channels, 1, 1);
        var std = torch.tensor(c.Std.ToArray()).reshape(1, c.Channels, 1, 1);
        return forward((x / 255 - mean) / std).data<float>().ToArray();
    }

    /// <summary>A session with a fixed thread count, like the benchmark and ML.NET would use.</summary>
    public static InferenceSession Session(byte[] onnx, int threads = 1)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        return new InferenceSession(onnx, options);
    }

    /// <summary>Runs every output of the model on one float input and returns each output as float or int64 values with its shape.</summary>
    public static Dictionary<string, OnnxResult> Run(InferenceSession session, string inputName, float[] data, long[] shape)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
        using var runOptions = new RunOptions();
        var names = session.OutputNames;
        using var outputs = session.Run(runOptions, new[] { inputName }, new[] { input }, names);
        var result = new Dictionary<string, OnnxResult>();
        for (int i = 0; i < names.Count; i++)
        {
            var info = outputs[i].GetTensorTypeAndShape();
            result[names[i]] = info.ElementDataType switch
            {
                TensorElementType.Float => new OnnxResult(outputs[i].GetTensorDataAsSpan<float>().ToArray(), null, null, info.Shape),
                TensorElementType.Int64 => new OnnxResult(null, outputs[i].GetTensorDataAsSpan<long>().ToArray(), null, info.Shape),
                TensorElementType.UInt32 => new OnnxResult(null, outputs[i].GetTensorDataAsSpan<uint>().ToArray().Select(v => (long)v).ToArray(), null, info.Shape),
                TensorElementType.String => new OnnxResult(null, null, outputs[i].GetStringTensorAsArray(), info.Shape),
                var t => throw new InvalidOperationException($"unexpected output type {t}"),
            };
        }
        return result;
    }

    /// <summary>Largest absolute difference of two equally long arrays.</summary>
    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}

/// <summary>One ONNX Runtime output: float, integer or string values and the shape.</summary>
internal sealed record OnnxResult(float[]? Floats, long[]? Integers, string[]? Strings, long[] Shape);
