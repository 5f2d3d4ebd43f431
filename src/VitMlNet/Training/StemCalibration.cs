using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// The calibration of a ResNet18 stem's static int8 scoring graph at the end of a fit: a stratified sample of
/// <see cref="StemQuantization.CalibrationImages"/> training images (the fit's seed) through the float graph.
/// </summary>
internal static class StemCalibration
{
    /// <summary>Whether a model fitted with <paramref name="o"/> gets a static int8 stem: dynamic int8 scoring and a ResNet18 stem.</summary>
    public static bool Applies(ViTConfig config, VisionTransformerOptions o) =>
        o.ScoringPrecision == ViTOnnxWeightPrecision.DynamicInt8 && config.Stem == ViTStem.ResNet18;

    /// <summary>The activation ranges for <paramref name="weights"/> measured on a sample of <paramref name="train"/>, or null when <see cref="Applies"/> is false.</summary>
    public static IReadOnlyDictionary<string, float[]>? Run(ViTConfig config, IReadOnlyDictionary<string, TensorData> weights, ImageCache train, VisionTransformerOptions o)
    {
        if (!Applies(config, o)) return null;
        var indices = Data.ImageSources.SampleIndices(train.Labels.data<long>().Select(l => (int)l).ToArray(), train.NumClasses,
            StemQuantization.CalibrationImages, o.Seed);
        float[] pixels;
        using (var scope = torch.NewDisposeScope())
        {
            using var idx = torch.tensor(indices.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64);
            pixels = train.Images.index_select(0, idx).to(ScalarType.Float32).contiguous().data<float>().ToArray();
        }
        return StemQuantization.Calibrate(config, weights, o.PixelScale, pixels, indices.Length);
    }
}
