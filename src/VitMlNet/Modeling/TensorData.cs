namespace VitMlNet.Modeling;

/// <summary>
/// One tensor of a model's state dict as plain arrays: its float32 values, row-major, and its PyTorch shape (a Linear
/// weight is [out, in]). Keyed by state-dict name, it is what moves between the TorchSharp model, its ONNX graph,
/// checkpoints and safetensors files (e.g. <see cref="Checkpoints.ViTCheckpoint.Weights"/>).
/// </summary>
/// <param name="Data">The values, row-major; as many as the product of <paramref name="Shape"/>.</param>
/// <param name="Shape">The dimensions.</param>
public readonly record struct TensorData(float[] Data, long[] Shape);
