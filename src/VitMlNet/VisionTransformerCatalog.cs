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
    /// <param name="preset">Recipe: "auto" (the default: chosen from the data when training starts, see
    /// <see cref="VisionTransformerRecipes.ForData"/>), or a preset name such as "seed" (the reference ViT, Adam 3e-4, 10 epochs).</param>
    /// <param name="epochs">Passes over the data. The default (null) is the recipe's; 10 for a plain preset.</param>
    /// <param name="batchSize">Images per step. The default (null) is the recipe's; 64 for a plain preset.</param>
    /// <param name="learningRate">Peak learning rate. The default (null) is the recipe's; 3e-4 for a plain preset.</param>
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
        string preset = VisionTransformerRecipes.Auto,
        int? epochs = null,
        int? batchSize = null,
        double? learningRate = null,
        IDataView? validationSet = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var options = new VisionTransformerOptions
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = predictedLabelColumnName,
            Preset = preset,
            ValidationData = validationSet,
        };
        if (!options.IsAuto)
        {
            options.Epochs = epochs ?? options.Epochs;
            options.BatchSize = batchSize ?? options.BatchSize;
            options.LearningRate = learningRate ?? options.LearningRate;
        }

        return new VisionTransformerTrainer(options, (epochs, batchSize, learningRate));
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
