using Microsoft.ML;
using Microsoft.ML.Data;

namespace VitMlNet.Bench.SmallData;

/// <summary>
/// ML.NET's own small-data image pipeline, the peer of this bench and VitMlNet's teacher: ResizeImages 224×224 →
/// ExtractPixels → DnnFeaturizeImage (pretrained ImageNet ResNet18, package Microsoft.ML.DnnImageFeaturizer.ResNet18) →
/// LbfgsMaximumEntropy → MapKeyToValue. Its zip reads an <c>Image</c> column, like a VitMlNet zip.
/// </summary>
internal static class ResNetPipeline
{
    public static IEstimator<ITransformer> Estimator(MLContext ml) =>
        ml.Transforms.ResizeImages("Image", 224, 224, "Image")
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy("Label", "Features"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    /// <summary>The model's predicted class names for the images of <paramref name="images"/> (in order).</summary>
    public static string[] Predict(MLContext ml, ITransformer model, IDataView images)
    {
        var scored = model.Transform(images);
        return scored.GetColumn<string>("PredictedLabel").ToArray();
    }
}
