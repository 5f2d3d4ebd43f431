using VitMlNet.Modeling;
using VitMlNet.Onnx;

namespace VitMlNet.ModelZip;

/// <summary>Loads the starting weights for continued training or fine-tuning from an earlier VitMlNet model.</summary>
internal static class InitialWeights
{
    /// <summary>
    /// Reads the ViT in <paramref name="path"/> (a model zip or an exported .onnx) and returns a TorchSharp model
    /// with its weights. The input geometry must match <paramref name="target"/>; a different class count resets the head.
    /// </summary>
    public static VisionTransformer Load(string path, ViTConfig target, int seed)
    {
        // A timm / Hugging Face / torchvision checkpoint: fitted to the data's size, classes and channels.
        if (Checkpoints.ViTCheckpoint.IsCheckpointPath(path)) return Checkpoints.CheckpointInitialWeights.Load(path, target, seed);
        ViTOnnxModel stored;
        try
        {
            stored = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? ViTOnnxReader.Read(path) : ViTOnnxReader.ReadFromZip(path);
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
}
