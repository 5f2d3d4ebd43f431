using Microsoft.ML;
using VitMlNet.Data;

namespace VitMlNet;

/// <summary>
/// The whole training pipeline of a VitMlNet model in one call: <see cref="ImagePreprocessing"/> (the one
/// preprocessing, saved at the head of the zip) → <see cref="VisionTransformerTrainer"/> →
/// <c>MapKeyToValue(PredictedLabel)</c>, and the label's key map that stays out of the zip.
/// </summary>
/// <remarks>
/// <para>Input of <see cref="Create"/>: an <c>Image</c> column (<see cref="Microsoft.ML.Data.MLImage"/> of any size, as
/// every <see cref="DatasetReaders"/> view has) and a key-typed <c>Label</c> column. The label's key map is fitted apart
/// with <see cref="FitLabels"/> and not appended to the saved chain: a zip that contained <c>MapValueToKey</c> would need
/// a Label column from every caller, a <c>PredictionEngine</c> included. Output: <c>Score</c> (one probability per class,
/// slot names = class names) and <c>PredictedLabel</c> (the class name).</para>
/// <code>
/// var labels = VisionTransformerPipeline.FitLabels(ml, train);
/// var model = VisionTransformerPipeline.Create(ml, channels: 3, height: 224, width: 224).Fit(labels.Transform(train));
/// ml.Model.Save(model, null, "model.zip");
/// </code>
/// </remarks>
public static class VisionTransformerPipeline
{
    /// <summary>
    /// The estimator chain <c>ImagePreprocessing → VisionTransformer → MapKeyToValue(PredictedLabel)</c> for a model
    /// input of <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>.
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="height">Model input height in pixels.</param>
    /// <param name="width">Model input width in pixels.</param>
    /// <param name="options">Trainer options. The default (null) is <see cref="VisionTransformerOptions"/> with recipe
    /// "auto", chosen from the data when training starts (<see cref="VisionTransformerRecipes.ForData"/>). Its
    /// <see cref="VisionTransformerOptions.FeatureColumnName"/> names the pixel column between the preprocessing and
    /// the trainer, and its <see cref="VisionTransformerOptions.PredictedLabelColumnName"/> the column mapped back to
    /// class names.</param>
    /// <param name="resizing">How images of another size become the model's size. The default is
    /// <see cref="ImageResizing.CenterCrop"/>.</param>
    /// <returns>The estimator; fit it on data whose label is already a key (<see cref="FitLabels"/>).</returns>
    /// <exception cref="ArgumentException">The channels are not 1 or 3, or a size is not positive.</exception>
    public static IEstimator<ITransformer> Create(MLContext ml, int channels, int height, int width,
        VisionTransformerOptions? options = null, ImageResizing resizing = ImagePreprocessing.DefaultResizing)
    {
        ArgumentNullException.ThrowIfNull(ml);
        options ??= new VisionTransformerOptions { Preset = VisionTransformerRecipes.Auto };
        return ImagePreprocessing.Estimator(ml, channels, height, width, resizing, pixelsColumn: options.FeatureColumnName)
            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue(options.PredictedLabelColumnName));
    }

    /// <summary>
    /// The label's key map (<c>MapValueToKey</c>), fitted on <paramref name="data"/>'s label column and kept out of the
    /// saved chain. Apply it to the training, validation and test data before <see cref="Create"/>'s estimator.
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="data">Data with a text label column.</param>
    /// <param name="classNames">The class names in key order (key k is <c>classNames[k]</c>). The default (null) takes the
    /// labels in the order they first appear in <paramref name="data"/>, as <c>MapValueToKey</c> does.</param>
    /// <param name="labelColumnName">The label column. The default is "Label".</param>
    /// <returns>The fitted key map.</returns>
    public static ITransformer FitLabels(MLContext ml, IDataView data, IEnumerable<string>? classNames = null, string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(data);
        IDataView? keyData = classNames is null ? null : ml.Data.LoadFromEnumerable(classNames.Select(c => new LabelRow { Label = c }));
        return ml.Transforms.Conversion.MapValueToKey(labelColumnName, keyData: keyData).Fit(data);
    }

    private sealed class LabelRow
    {
        public string Label { get; set; } = string.Empty;
    }
}
