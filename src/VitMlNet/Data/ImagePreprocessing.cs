using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace VitMlNet.Data;

/// <summary>How an image of another size or shape becomes the model's input size.</summary>
public enum ImageResizing
{
    /// <summary>
    /// Keep the aspect ratio: scale the shorter side to the model's size and cut the centre out of the longer one
    /// (ML.NET's <c>ResizingKind.IsoCrop</c>, anchor centre; Mitchell cubic resampling in ML.NET 6). An image already of
    /// the model's aspect ratio is resized whole. The default: it resamples smoothly (see docs/benchmarks.md) and never
    /// distorts shapes.
    /// </summary>
    CenterCrop,

    /// <summary>Stretch to the model's size, aspect ratio not kept (ML.NET's <c>ResizingKind.Fill</c>, nearest neighbour in ML.NET 6).</summary>
    Stretch,
}

/// <summary>
/// THE image preprocessing: the one chain of ML.NET transforms that turns an <see cref="MLImage"/> of any size into the
/// model's pixel vector. Training reads its pixels through it and the saved zip scores through the same transforms, so a
/// training tensor and a scoring tensor of the same file are equal (tested).
/// </summary>
/// <remarks>
/// <para>The chain, saved at the head of every zip the CLI, the sweep and the samples write:</para>
/// <list type="number">
/// <item><c>ResizeImages</c> to the model's height × width (<see cref="ImageResizing"/>; an image already of that size
/// passes through untouched);</item>
/// <item>gray models: <c>ConvertToGrayscale</c> (0.3 R + 0.59 G + 0.11 B) and <c>ExtractPixels</c> of one plane;
/// RGB models: <c>ExtractPixels</c> of R, G, B planes;</item>
/// <item>values 0–255 as floats (scaling and mean/std happen inside the model's ONNX graph).</item>
/// </list>
/// <para>What an app feeds: an <see cref="MLImage"/> in the <c>Image</c> column, e.g. <c>MLImage.CreateFromFile(path)</c>,
/// of any size and format SkiaSharp decodes. Transparent pixels count as black (SkiaSharp decodes premultiplied).</para>
/// </remarks>
public static class ImagePreprocessing
{
    /// <summary>The image input column of every zip, an <see cref="MLImage"/> of any size: "Image", the scoring contract's
    /// <see cref="Scoring.ModelInput.ImageColumnName"/>.</summary>
    public const string ImageColumn = Scoring.ModelInput.ImageColumnName;

    /// <summary>The pixel vector column the trainer reads (C×H×W floats, 0–255).</summary>
    public const string PixelsColumn = "Pixels";

    /// <summary>The resizing used when none is named: <see cref="ImageResizing.CenterCrop"/>.</summary>
    public const ImageResizing DefaultResizing = ImageResizing.CenterCrop;

    /// <summary>The preprocessing estimator for a model input of <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>.</summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="height">Model input height.</param>
    /// <param name="width">Model input width.</param>
    /// <param name="resizing">How other sizes are brought to the model's.</param>
    /// <param name="imageColumn">The input image column.</param>
    /// <param name="pixelsColumn">The output pixel column.</param>
    /// <returns>The estimator: ResizeImages → (ConvertToGrayscale) → ExtractPixels.</returns>
    public static IEstimator<ITransformer> Estimator(MLContext ml, int channels, int height, int width,
        ImageResizing resizing = DefaultResizing, string imageColumn = ImageColumn, string pixelsColumn = PixelsColumn)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ImageCodec.ValidateShape(channels, height, width, nameof(Estimator));
        var kind = resizing == ImageResizing.Stretch ? ImageResizingEstimator.ResizingKind.Fill : ImageResizingEstimator.ResizingKind.IsoCrop;
        IEstimator<ITransformer> chain = ml.Transforms.ResizeImages(imageColumn, width, height, imageColumn, kind, ImageResizingEstimator.Anchor.Center);
        return channels == 1
            ? chain.Append(ml.Transforms.ConvertToGrayscale(imageColumn, imageColumn))
                .Append(ml.Transforms.ExtractPixels(pixelsColumn, imageColumn, ImagePixelExtractingEstimator.ColorBits.Red))
            : chain.Append(ml.Transforms.ExtractPixels(pixelsColumn, imageColumn));
    }

    /// <summary>
    /// Runs the preprocessing over every image of <paramref name="source"/> and keeps the result as raw pixels: exactly
    /// the tensors the trainer reads and the zip scores (pixel values are whole numbers 0–255, so bytes hold them exactly).
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="source">The labelled images, at their own sizes.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="height">Model input height.</param>
    /// <param name="width">Model input width.</param>
    /// <param name="resizing">How other sizes are brought to the model's.</param>
    /// <returns>The preprocessed dataset (same order, labels and class names).</returns>
    internal static ImageDataset Apply(MLContext ml, IImageSource source, int channels, int height, int width, ImageResizing resizing = DefaultResizing)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(source);
        var view = source.ToDataView(ml);
        return Read(Estimator(ml, channels, height, width, resizing).Fit(view).Transform(view), source, channels, height, width);
    }

    /// <summary>
    /// Runs a model zip's own leading image transforms (see <see cref="FromModel"/>) over <paramref name="source"/>:
    /// the pixels that model scores for each image.
    /// </summary>
    /// <param name="model">A model with the preprocessing at its head, e.g. one loaded with <c>mlContext.Model.Load</c>.</param>
    /// <param name="source">The labelled images.</param>
    /// <param name="channels">The model's input channels.</param>
    /// <param name="height">The model's input height.</param>
    /// <param name="width">The model's input width.</param>
    /// <returns>The preprocessed dataset.</returns>
    internal static ImageDataset Apply(ITransformer model, IImageSource source, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Read(FromModel(model).Transform(source.ToDataView(new MLContext(0))), source, channels, height, width);
    }

    /// <summary>
    /// The image transforms at the head of a model (ResizeImages, ConvertToGrayscale, ExtractPixels, as
    /// <see cref="Estimator"/> builds them), as one transformer: what the model does to an image before scoring it.
    /// </summary>
    /// <param name="model">A transformer chain, e.g. a loaded zip.</param>
    /// <returns>The leading image transforms.</returns>
    /// <exception cref="ArgumentException">The model does not start with an image-to-pixels chain.</exception>
    public static ITransformer FromModel(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parts = Flatten(model).ToList();
        var head = parts.TakeWhile(t => t is ImageResizingTransformer or ImageGrayscalingTransformer or ImagePixelExtractingTransformer).ToList();
        if (head.Count == 0 || head[^1] is not ImagePixelExtractingTransformer)
        {
            throw new ArgumentException(
                $"The model does not start with the image preprocessing (ResizeImages ... ExtractPixels); its first transform is {parts.FirstOrDefault()?.GetType().Name ?? "none"}.",
                nameof(model));
        }

        return new TransformerChain<ITransformer>(head.ToArray());
    }

    /// <summary>The transformers of <paramref name="model"/>, nested chains opened, in order.</summary>
    internal static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    private static ImageDataset Read(IDataView pixels, IImageSource source, int channels, int height, int width)
    {
        int size = channels * height * width;
        var bytes = new byte[DatasetReaders.CheckedTotal(source.Count, size, "preprocessed dataset")];
        var column = pixels.Schema[PixelsColumn];
        using (var cursor = pixels.GetRowCursor(new[] { column }))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            var buffer = default(VBuffer<float>);
            long offset = 0;
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                if (buffer.Length != size)
                {
                    throw new ArgumentException($"The preprocessing gives {buffer.Length} values per image; expected {size} ({channels}x{height}x{width}).");
                }

                foreach (float v in buffer.DenseValues())
                {
                    bytes[offset++] = (byte)v;
                }
            }
        }

        return new ImageDataset(bytes, (int[])source.Labels.Clone(), source.ClassNames, channels, height, width, source.SkippedFiles);
    }
}
