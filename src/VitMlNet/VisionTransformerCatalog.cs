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
    /// <param name="recipe">Recipe (architecture and training options, <see cref="VisionTransformerRecipes.Names"/>): "auto" (the
    /// default: chosen from the data when training starts, see <see cref="VisionTransformerRecipes.ForData"/>), a tuned
    /// recipe such as "fmnist-fast" or "hybrid-resnet18", or an architecture preset such as "seed" (the reference ViT, Adam
    /// 3e-4, 10 epochs). A name gives the same options here as in <see cref="VisionTransformerRecipes.Resolve(string, int, int, int, int, int, VisionTransformerOptions?)"/>
    /// and <c>vit train --recipe</c>.</param>
    /// <param name="epochs">Passes over the data. The default (null) is the recipe's; 10 for an architecture preset.</param>
    /// <param name="batchSize">Images per step. The default (null) is the recipe's; 64 for an architecture preset.</param>
    /// <param name="learningRate">Peak learning rate. The default (null) is the recipe's; 3e-4 for an architecture preset.</param>
    /// <exception cref="ArgumentException">Unknown recipe; the message lists the known ones.</exception>
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
        string recipe = VisionTransformerRecipes.Auto,
        int? epochs = null,
        int? batchSize = null,
        double? learningRate = null,
        IDataView? validationSet = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(recipe);
        var columns = new VisionTransformerOptions
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = predictedLabelColumnName,
            ValidationData = validationSet,
        };
        var overrides = new RecipeOverrides(epochs, batchSize, learningRate);
        return new VisionTransformerTrainer(VisionTransformerRecipes.ForCatalog(recipe, columns, overrides), overrides);
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
