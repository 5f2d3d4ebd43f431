using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using VitMlNet.Onnx;

namespace VitMlNet.Cli;

/// <summary>
/// The input row of a model zip written by <c>vit train</c>: one image of any size, in any format
/// <see cref="MLImage.CreateFromFile(string)"/> reads. This is the exact class a business app copies.
/// </summary>
/// <remarks>
/// <para>
/// Microsoft.ML 5.0.1 needs a column-type attribute on an <see cref="MLImage"/> member: without one, creating the data
/// view or the <c>PredictionEngine</c> throws "Could not determine an IDataView type ... for member Image", and the
/// parameterless <c>[ImageType]</c> throws "Must be positive (Parameter 'height')". <c>[ImageType(h, w)]</c> only
/// declares a column type; nothing checks the actual image against it, and the zip's first transform
/// (<c>ResizeImages</c>) resizes whatever image arrives. So <c>[ImageType(1, 1)]</c> accepts images of every size
/// (tested with sizes other than the training size).
/// </para>
/// <code>
/// public class ModelInput  { [ImageType(1, 1)] public MLImage Image { get; set; } }
/// public class ModelOutput { public string PredictedLabel { get; set; } public float[] Score { get; set; } }
///
/// var ml = new MLContext();
/// var model = ml.Model.Load("model.zip", out _);
/// var engine = ml.Model.CreatePredictionEngine&lt;ModelInput, ModelOutput&gt;(model);
/// using var image = MLImage.CreateFromFile("cat.png");
/// var prediction = engine.Predict(new ModelInput { Image = image });   // prediction.PredictedLabel, prediction.Score
/// </code>
/// <para>Score holds one probability per class; its slot names (<c>engine.OutputSchema["Score"].GetSlotNames</c>)
/// are the class names in order.</para>
/// </remarks>
internal sealed class ModelInput
{
    /// <summary>The image to classify; the model resizes it (stretching, aspect ratio not kept) to its input size.</summary>
    [ImageType(1, 1)]
    public MLImage Image { get; set; } = null!;
}

/// <summary>The output row of a model zip written by <c>vit train</c>.</summary>
internal sealed class ModelOutput
{
    /// <summary>The predicted class name.</summary>
    public string PredictedLabel { get; set; } = string.Empty;

    /// <summary>One probability per class, in the order of the Score column's slot names.</summary>
    public float[] Score { get; set; } = [];
}

/// <summary>The zip's pipeline and the loading of zips and their embedded ONNX model.</summary>
internal static class ModelFile
{
    /// <summary>The name of the image input column.</summary>
    public const string ImageColumn = "Image";

    /// <summary>The name of the pixel vector the transformer reads.</summary>
    public const string PixelsColumn = "Pixels";

    /// <summary>
    /// The scoring pipeline <c>vit train</c> fits and saves: <c>ResizeImages</c> (fill, so any size works) →
    /// gray models: <c>ConvertToGrayscale</c> + <c>ExtractPixels(Red)</c>, RGB models: <c>ExtractPixels</c> →
    /// the Vision Transformer → <c>MapKeyToValue(PredictedLabel)</c>.
    /// </summary>
    /// <remarks>
    /// The label's <c>MapValueToKey</c> is fitted separately and not saved: with it inside the zip, every caller
    /// (a <c>PredictionEngine</c> included) would have to supply a Label column. Evaluation maps labels to the
    /// model's key with the class names the zip carries (the Score slot names).
    /// </remarks>
    public static IEstimator<ITransformer> ScoringPipeline(MLContext ml, int channels, int height, int width, VisionTransformerOptions options) =>
        Preprocessing(ml, channels, height, width)
            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    /// <summary>
    /// The image preprocessing of every zip the CLI writes (train and sweep): <c>ResizeImages</c> (fill, any input
    /// size) → gray: <c>ConvertToGrayscale</c> + <c>ExtractPixels(Red)</c>, RGB: <c>ExtractPixels</c>.
    /// </summary>
    public static IEstimator<ITransformer> Preprocessing(MLContext ml, int channels, int height, int width)
    {
        IEstimator<ITransformer> pipeline = ml.Transforms.ResizeImages(ImageColumn, width, height, ImageColumn,
            ImageResizingEstimator.ResizingKind.Fill);
        return channels == 1
            ? pipeline.Append(ml.Transforms.ConvertToGrayscale(ImageColumn, ImageColumn))
                .Append(ml.Transforms.ExtractPixels(PixelsColumn, ImageColumn, ImagePixelExtractingEstimator.ColorBits.Red))
            : pipeline.Append(ml.Transforms.ExtractPixels(PixelsColumn, ImageColumn));
    }

    /// <summary>The zip's input: the <c>Image</c> column only, of any size. (The zip stores no input schema: ML.NET's
    /// binary saver cannot store an image column.)</summary>
    public static DataViewSchema InputSchema()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(ImageColumn, new ImageDataViewType());
        return builder.ToSchema();
    }

    /// <summary>Checks that a model path names an existing file.</summary>
    public static void CheckExists(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException(Directory.Exists(path)
                ? $"'{path}' is a folder; expected a model zip written by 'vit train'."
                : $"model file '{path}' not found.");
        }
    }

    /// <summary>
    /// Loads a VitMlNet zip with ML.NET after checking it: the archive's CRCs, the VitMlNet graph inside (finite
    /// weights, shapes that match its configuration), and that the zip's preprocessing feeds that graph the number of
    /// pixel values it takes.
    /// </summary>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema? inputSchema)
    {
        var onnx = ReadOnnx(path);
        ITransformer model;
        try
        {
            model = ml.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException or ArgumentException)
        {
            throw new UsageException($"'{path}' is not an ML.NET model zip: {e.Message}", e);
        }
        CheckPreprocessing(path, model, onnx.Config);
        return model;
    }

    private static void CheckPreprocessing(string path, ITransformer model, Modeling.ViTConfig config)
    {
        DataViewSchema schema;
        try
        {
            schema = model.GetOutputSchema(InputSchema());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UsageException($"'{path}' is not a VitMlNet image model: its pipeline does not take one '{ImageColumn}' image column ({Guard.OneLine(e.Message)}).", e);
        }
        long expected = (long)config.Channels * config.ImageHeight * config.ImageWidth;
        if (schema.GetColumnOrNull(PixelsColumn)?.Type is VectorDataViewType pixels && pixels.Size != expected)
        {
            throw new UsageException($"'{path}' is inconsistent: its preprocessing gives {pixels.Size} pixel values per image, but its ONNX graph " +
                $"({config.Channels}x{config.ImageHeight}x{config.ImageWidth}) takes {expected}.");
        }
    }

    /// <summary>Reads the VitMlNet ONNX model embedded in a zip (architecture, class names, weights).</summary>
    public static ViTOnnxModel ReadOnnx(string path)
    {
        CheckExists(path);
        try
        {
            VitMlNet.IO.ZipIntegrity.Verify(path);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException(e.Message, e);
        }
        try
        {
            return ViTOnnxReader.ReadFromZip(path);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"'{path}' is not a VitMlNet image model zip: {e.Message}", e);
        }
    }

    /// <summary>The slot names of a vector column (the class names of <c>Score</c>).</summary>
    public static string[] SlotNames(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column) ?? throw new UsageException($"the model has no '{column}' output column.");
        if (!col.HasSlotNames())
        {
            return Enumerable.Range(0, (col.Type as VectorDataViewType)?.Size ?? 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        col.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
