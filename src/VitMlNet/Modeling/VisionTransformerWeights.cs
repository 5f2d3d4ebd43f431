using TorchSharp;
using static TorchSharp.torch;

namespace VitMlNet.Modeling;

/// <summary>
/// Moves weights between a TorchSharp <see cref="VisionTransformer"/> and plain arrays keyed by state-dict name,
/// the currency of the ONNX writer and reader and of the checkpoint import.
/// </summary>
internal static class VisionTransformerWeights
{
    /// <summary>
    /// Copies every parameter of <paramref name="model"/> to CPU float arrays, keyed by state-dict name, with its
    /// PyTorch shape (Linear weights [out, in]). Temporary tensors are disposed; the model is not modified.
    /// </summary>
    /// <returns>The weights, in the model's parameter order.</returns>
    public static Dictionary<string, TensorData> Extract(VisionTransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var (name, parameter) in model.NamedState())
        {
            var t = parameter.detach().to(ScalarType.Float32, CPU).contiguous();
            result[name] = new(t.data<float>().ToArray(), t.shape);
        }
        return result;
    }

    /// <summary>
    /// Copies <paramref name="weights"/> into the parameters of <paramref name="model"/> (under no_grad, keeping each
    /// parameter's device and dtype). Every parameter must be present with its exact shape.
    /// </summary>
    /// <exception cref="ArgumentException">Weights are missing, unexpected or mis-shaped; the message lists each one.</exception>
    public static void Load(VisionTransformer model, IReadOnlyDictionary<string, TensorData> weights)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        var errors = ViTParameterLayout.Check(model.Config, weights);
        if (errors.Count > 0)
            throw new ArgumentException($"The weights do not fit the model '{model.Config.Name}': {string.Join("; ", errors)}.", nameof(weights));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var (name, parameter) in model.NamedState())
        {
            var (data, shape) = weights[name];
            var source = torch.tensor(data, shape, ScalarType.Float32);
            parameter.copy_(source);
        }
    }

    /// <summary>Builds a model for <paramref name="config"/> and loads <paramref name="weights"/> into it.</summary>
    /// <returns>The model, in training mode like any freshly built module; call <c>eval()</c> before scoring.</returns>
    /// <exception cref="ArgumentException">The configuration is invalid or the weights do not fit it.</exception>
    public static VisionTransformer CreateModel(ViTConfig config, IReadOnlyDictionary<string, TensorData> weights)
    {
        var model = new VisionTransformer(config);
        try
        {
            Load(model, weights);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
