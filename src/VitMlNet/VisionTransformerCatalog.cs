using Microsoft.ML;

namespace VitMlNet;

/// <summary>Extension methods that add the Vision Transformer trainer to ML.NET's multiclass catalog.</summary>
public static class VisionTransformerCatalog
{
    /// <summary>
    /// Creates a <see cref="VisionTransformerTrainer"/> that trains a Vision Transformer on the pixel vector in
    /// <paramref name="featureColumnName"/> (from <c>ExtractPixels</c>) and the key label in <paramref name="labelColumnName"/>.
    /// </summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column. The default is "Label".</param>
    /// <param name="featureColumnName">Pixel vector column. The default is "Pixels".</param>
    /// <param name="scoreColumnName">Output column of class probabilities. The default is "Score".</param>
    /// <param name="predictedLabelColumnName">Output column of the predicted key. The default is "PredictedLabel".</param>
    /// <param name="preset">Architecture preset. The default is "seed" (the reference ViT).</param>
    /// <param name="epochs">Passes over the data. The default is 10.</param>
    /// <param name="batchSize">Images per step. The default is 64.</param>
    /// <param name="learningRate">Adam learning rate. The default is 3e-4.</param>
    /// <param name="validationSet">Optional validation data, evaluated after every epoch. The default is null.</param>
    /// <example><code>
    /// var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    ///     .Append(ml.Transforms.LoadImages("Image", imageFolder, "ImagePath"))
    ///     .Append(ml.Transforms.ResizeImages("Image", 32, 32))
    ///     .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
    ///     .Append(ml.MulticlassClassification.Trainers.VisionTransformer())
    ///     .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
    /// </code></example>
    public static VisionTransformerTrainer VisionTransformer(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label",
        string featureColumnName = "Pixels",
        string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel",
        string preset = "seed",
        int epochs = 10,
        int batchSize = 64,
        double learningRate = 3e-4,
        IDataView? validationSet = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new VisionTransformerTrainer(new VisionTransformerOptions
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = predictedLabelColumnName,
            Preset = preset,
            Epochs = epochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
            ValidationData = validationSet,
        });
    }

    /// <summary>Creates a <see cref="VisionTransformerTrainer"/> from a full set of options.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">Trainer options; validated here, listing every invalid field in one exception.</param>
    public static VisionTransformerTrainer VisionTransformer(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        VisionTransformerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new VisionTransformerTrainer(options);
    }
}
