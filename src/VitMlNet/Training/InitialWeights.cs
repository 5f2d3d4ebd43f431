using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
using VitMlNet.Onnx;

namespace VitMlNet.Training;

/// <summary>
/// The starting weights of continued training or fine-tuning (<see cref="VisionTransformerOptions.InitialModel"/>): an
/// earlier VitMlNet model (a model zip or an exported .onnx) or a pretrained timm / Hugging Face / torchvision checkpoint.
/// </summary>
internal static class InitialWeights
{
    /// <summary>
    /// Reads the model at <paramref name="path"/> and returns a TorchSharp model with its weights. A VitMlNet model's
    /// input geometry must match <paramref name="target"/>, and a different class count resets its head; a checkpoint
    /// is fitted to the data (<see cref="FromCheckpoint"/>).
    /// </summary>
    public static VisionTransformer Load(string path, ViTConfig target, int seed)
    {
        if (ViTCheckpoint.IsCheckpointPath(path)) return FromCheckpoint(path, target, seed);
        ViTOnnxModel stored;
        try
        {
            stored = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? ViTOnnxReader.Read(path) : ModelZipFile.ReadFromZip(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new InvalidDataException($"InitialModel '{path}' is not a VitMlNet model zip or ONNX file: {e.Message}", e);
        }
        var c = stored.Config;
        if (c.Channels != target.Channels || c.ImageHeight != target.ImageHeight || c.ImageWidth != target.ImageWidth)
        {
            throw new ArgumentException(
                $"InitialModel '{path}' takes {c.Channels}x{c.ImageHeight}x{c.ImageWidth} images but the training data is {target.Channels}x{target.ImageHeight}x{target.ImageWidth}.");
        }
        TorchSharp.torch.manual_seed(seed);
        var model = stored.CreateModel();
        if (c.NumClasses != target.NumClasses) model.ResetClassifier(target.NumClasses);
        return model;
    }

    /// <summary>
    /// Reads the checkpoint at <paramref name="path"/> and fits it to the training data of <paramref name="target"/>:
    /// the data's image size (position embedding resampled), class count (new head), and channel count (a gray input
    /// sums the RGB patch-embedding filters, as timm's <c>adapt_input_conv</c>). The heads come from
    /// <paramref name="target"/> when it is a standard ViT of the checkpoint's width, else from the checkpoint's rules;
    /// mean, std and LayerNorm epsilon are the checkpoint family's.
    /// </summary>
    public static VisionTransformer FromCheckpoint(string path, ViTConfig target, int seed)
    {
        var options = new CheckpointImportOptions
        {
            ImageHeight = target.ImageHeight,
            ImageWidth = target.ImageWidth,
            NumClasses = target.NumClasses,
            Seed = seed,
            Heads = target.Stem == ViTStem.PatchConv ? target.Heads : null,
        };
        ViTCheckpoint checkpoint;
        try
        {
            checkpoint = ViTCheckpoint.Load(path, options);
        }
        catch (InvalidDataException) when (options.Heads is not null)
        {
            // The target's heads may belong to another width: fall back on the checkpoint's own rules.
            options.Heads = null;
            checkpoint = ViTCheckpoint.Load(path, options);
        }
        var config = checkpoint.Config;
        if (target.Stem == ViTStem.PatchConv && target.Dim == config.Dim && target.Depth == config.Depth)
            config = config with { DropPathRate = target.DropPathRate, Dropout = target.Dropout, EmbeddingDropout = target.EmbeddingDropout, Name = target.Name };
        var weights = checkpoint.Weights.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (config.Channels != target.Channels)
        {
            if (config.Channels != 3 || target.Channels != 1)
                throw new ArgumentException($"InitialModel '{path}' takes {config.Channels}-channel images; the training data has {target.Channels}.");
            var (data, shape) = weights["patch_embed.weight"];
            long dim = shape[0], area = shape[2] * shape[3];
            var gray = new float[dim * area];
            for (long o = 0; o < dim; o++)
                for (long c = 0; c < 3; c++)
                    for (long i = 0; i < area; i++) gray[o * area + i] += data[(o * 3 + c) * area + i];
            weights["patch_embed.weight"] = new(gray, [dim, 1, shape[2], shape[3]]);
            config = config with { Channels = 1, Mean = [config.Mean.Average()], Std = [config.Std.Average()] };
        }
        TorchSharp.torch.manual_seed(seed);
        return VisionTransformerWeights.CreateModel(config, weights);
    }
}
