using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using VitMlNet.Data;
using VitMlNet.Onnx;

namespace VitMlNet.Cli;

// ModelInput and ModelOutput (the zip's row contract) live in VitMlNet.Scoring, shared with scoring-only apps.

/// <summary>The zip's pipeline and the loading of zips and their embedded ONNX model.</summary>
internal static class ModelFile
{
    /// <summary>The name of the image input column.</summary>
    public const string ImageColumn = ImagePreprocessing.ImageColumn;

    /// <summary>The name of the pixel vector the transformer reads.</summary>
    public const string PixelsColumn = ImagePreprocessing.PixelsColumn;

    /// <summary>
    /// The scoring pipeline <c>vit train</c> fits and saves: <see cref="ImagePreprocessing"/> (the one preprocessing, any
    /// input size) → the Vision Transformer → <c>MapKeyToValue(PredictedLabel)</c>.
    /// </summary>
    /// <remarks>
    /// The label's <c>MapValueToKey</c> is fitted separately and not saved: with it inside the zip, every caller
    /// (a <c>PredictionEngine</c> included) would have to supply a Label column. Evaluation maps labels to the
    /// model's key with the class names the zip carries (the Score slot names).
    /// </remarks>
    public static IEstimator<ITransformer> ScoringPipeline(MLContext ml, int channels, int height, int width, VisionTransformerOptions options,
        ImageResizing resizing = ImagePreprocessing.DefaultResizing) =>
        ImagePreprocessing.Estimator(ml, channels, height, width, resizing)
            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

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
