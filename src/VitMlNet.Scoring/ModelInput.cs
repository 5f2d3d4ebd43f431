using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace VitMlNet.Scoring;

/// <summary>
/// The input row of a model zip written by <c>vit train</c> (or any pipeline that starts with <c>ResizeImages</c> on
/// an <c>Image</c> column): one image of any size, in any format <see cref="MLImage.CreateFromFile(string)"/> reads.
/// </summary>
/// <remarks>
/// <para>
/// ML.NET needs a column-type attribute on an <see cref="MLImage"/> member: without one, creating the data view or
/// the <c>PredictionEngine</c> throws "Could not determine an IDataView type ... for member Image", and the
/// parameterless <c>[ImageType]</c> throws "Must be positive (Parameter 'height')". <c>[ImageType(h, w)]</c> only
/// declares a column type; nothing checks the actual image against it, and the zip's first transform
/// (<c>ResizeImages</c>) resizes whatever image arrives. So <c>[ImageType(1, 1)]</c> accepts images of every size.
/// </para>
/// <code>
/// var ml = new MLContext();
/// var model = ml.Model.Load("model.zip", out _);
/// var engine = ml.Model.CreatePredictionEngine&lt;ModelInput, ModelOutput&gt;(model);
/// using var image = MLImage.CreateFromFile("cat.png");
/// var prediction = engine.Predict(new ModelInput { Image = image });   // prediction.PredictedLabel, prediction.Score
/// </code>
/// <para>From several threads, use <see cref="PredictionEnginePool{TInput, TOutput}"/> instead of one engine.</para>
/// </remarks>
public sealed class ModelInput
{
    /// <summary>The name of the image input column.</summary>
    public const string ImageColumnName = "Image";

    /// <summary>The image to classify, of any size; the model resizes it to its input size the way it was trained (by default keeping the aspect ratio and cutting out the centre, see <c>ImagePreprocessing</c>).</summary>
    [ImageType(1, 1)]
    [ColumnName(ImageColumnName)]
    public MLImage Image { get; set; } = null!;
}
