using Microsoft.ML;
using Microsoft.ML.Data;

namespace VitMlNet.Data;

/// <summary>
/// A labelled image dataset held as raw uint8 pixels, the form a trainer uses without decoding files:
/// one contiguous N×C×H×W array (planar, channel order R, G, B, or one gray plane) and a label index per image.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Pixels"/> and <see cref="Labels"/> are exposed as arrays for speed and are shared, not copied:
/// treat them as read-only. Every method that derives a dataset (<see cref="Subset"/>, <see cref="Take"/>,
/// <see cref="Split"/>, <see cref="Resize"/>) returns a new instance with its own arrays.
/// </para>
/// <para>
/// <see cref="ToDataView"/> exposes the same images to ML.NET as an <see cref="IDataView"/> with an
/// <c>Image</c> column (<see cref="MLImage"/>, Bgra32) and a <c>Label</c> column (string class name).
/// </para>
/// </remarks>
public sealed class ImageDataset : IImageSource
{
    /// <summary>Creates a dataset from raw pixels and label indices, checking that the sizes agree.</summary>
    /// <param name="pixels">N×C×H×W uint8 pixels, planar, R, G, B channel order (or one gray plane).</param>
    /// <param name="labels">One class index in [0, K) per image.</param>
    /// <param name="classNames">The K class names; index k names label k.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="skippedFiles">Files the reader left out (only with <c>skipBadImages</c>); <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The pixel count does not match the labels and shape, a label is out of range, or a class name is empty.</exception>
    public ImageDataset(byte[] pixels, int[] labels, string[] classNames, int channels, int height, int width,
        IReadOnlyList<SkippedFile>? skippedFiles = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        ImageCodec.ValidateShape(channels, height, width, nameof(ImageDataset));
        long expected = (long)labels.Length * channels * height * width;
        if (pixels.Length != expected)
        {
            throw new ArgumentException(
                $"{labels.Length} images of {channels}x{height}x{width} need {expected} pixel bytes, but {pixels.Length} were given.", nameof(pixels));
        }

        if (classNames.Length == 0)
        {
            throw new ArgumentException("At least one class name is required.", nameof(classNames));
        }

        int emptyName = Array.FindIndex(classNames, string.IsNullOrEmpty);
        if (emptyName >= 0)
        {
            throw new ArgumentException($"Class name {emptyName} is null or empty.", nameof(classNames));
        }

        int bad = Array.FindIndex(labels, l => (uint)l >= (uint)classNames.Length);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"Label {labels[bad]} of image {bad} is out of range for {classNames.Length} classes (0..{classNames.Length - 1}).", nameof(labels));
        }

        Pixels = pixels;
        Labels = labels;
        ClassNames = classNames;
        Channels = channels;
        Height = height;
        Width = width;
        SkippedFiles = skippedFiles ?? [];
    }

    /// <summary>All pixels, N×C×H×W uint8, planar; channel order R, G, B, or a single gray plane.</summary>
    public byte[] Pixels { get; }

    /// <summary>The class index of each image, in [0, <see cref="ClassNames"/>.Length).</summary>
    public int[] Labels { get; }

    /// <summary>The class names; <c>ClassNames[k]</c> names label <c>k</c>.</summary>
    public string[] ClassNames { get; }

    /// <summary>Channels per image: 1 (gray) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>The number of images, N.</summary>
    public int Count => Labels.Length;

    /// <summary>Bytes per image: C×H×W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>Files the reader left out because <c>skipBadImages</c> was set; empty otherwise and for derived datasets.</summary>
    public IReadOnlyList<SkippedFile> SkippedFiles { get; }

    /// <summary>The C×H×W pixels of one image.</summary>
    /// <param name="index">The image index, in [0, <see cref="Count"/>).</param>
    /// <returns>A view into <see cref="Pixels"/>.</returns>
    public ReadOnlySpan<byte> GetPixels(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>One image as a Bgra32 <see cref="MLImage"/> (gray is replicated into the color channels); the caller disposes it.</summary>
    /// <param name="index">The image index, in [0, <see cref="Count"/>).</param>
    /// <returns>A new image.</returns>
    public MLImage GetImage(int index) => ImageCodec.ToMLImage(GetPixels(index), Channels, Height, Width);

    /// <summary>The number of images in each class, indexed by label.</summary>
    /// <returns>An array of length <see cref="ClassNames"/>.Length.</returns>
    public int[] CountPerClass() => ImageSources.CountPerClass(this);

    /// <summary>
    /// Exposes the dataset to ML.NET: an <see cref="IDataView"/> with columns <c>Image</c> (<see cref="MLImage"/>, Bgra32,
    /// built lazily from <see cref="Pixels"/> on each cursor) and <c>Label</c> (string, the class name).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <returns>A streaming data view over this dataset.</returns>
    /// <example><code>
    /// var pipeline = ml.Transforms.ResizeImages("Image", 32, 32)
    ///     .Append(ml.Transforms.ExtractPixels("Pixels", "Image"));
    /// var pixels = pipeline.Fit(view).Transform(view);
    /// </code></example>
    public IDataView ToDataView(MLContext mlContext) => DatasetColumns.Load(mlContext, Rows());

    /// <summary>A new dataset holding the given images, in the given order (repeats allowed).</summary>
    /// <param name="indices">Image indices, each in [0, <see cref="Count"/>).</param>
    /// <returns>A dataset with the same class names and shape.</returns>
    public ImageDataset Subset(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int[] idx = indices.ToArray();
        int size = ImageSize;
        var pixels = new byte[(long)idx.Length * size];
        var labels = new int[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            int j = idx[i];
            if ((uint)j >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), j, $"Index {j} (position {i}) is out of range for a dataset of {Count} images.");
            }

            Array.Copy(Pixels, (long)j * size, pixels, (long)i * size, size);
            labels[i] = Labels[j];
        }

        return new ImageDataset(pixels, labels, ClassNames, Channels, Height, Width);
    }

    /// <summary>The first <paramref name="count"/> images (all of them when there are fewer).</summary>
    /// <param name="count">How many images to keep; not negative.</param>
    /// <returns>A new dataset.</returns>
    public ImageDataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return Subset(Enumerable.Range(0, Math.Min(count, Count)));
    }

    /// <summary>
    /// A seeded, stratified split: in each class, a shuffled <paramref name="testFraction"/> of its images
    /// (rounded to the nearest whole image, halves up) goes to the test part and the rest to the training part;
    /// every class keeps at least one training image. Both parts keep the original image order.
    /// </summary>
    /// <param name="testFraction">The share of each class that goes to the test part, strictly between 0 and 1.</param>
    /// <param name="seed">The shuffle seed; the same seed gives the same split.</param>
    /// <returns>The training part and the test part.</returns>
    public (ImageDataset Train, ImageDataset Test) Split(double testFraction, int seed = 0)
    {
        var (train, test) = ImageSources.SplitIndices(Labels, ClassNames.Length, testFraction, seed);
        return (Subset(train), Subset(test));
    }

    /// <summary>
    /// A copy with every image brought to <paramref name="height"/>×<paramref name="width"/> and
    /// <paramref name="channels"/> channels by <see cref="ImagePreprocessing"/>, the chain a model zip applies.
    /// Returns this instance when nothing changes.
    /// </summary>
    /// <param name="height">The new height in pixels.</param>
    /// <param name="width">The new width in pixels.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="resizing">How the size changes.</param>
    /// <returns>The resized dataset.</returns>
    public ImageDataset Resize(int height, int width, int channels, ImageResizing resizing = ImagePreprocessing.DefaultResizing)
    {
        ImageCodec.ValidateShape(channels, height, width, nameof(Resize));
        return height == Height && width == Width && channels == Channels
            ? this
            : ImagePreprocessing.Apply(new MLContext(0), this, channels, height, width, resizing);
    }

    /// <inheritdoc/>
    MLImage IImageSource.LoadImage(int index) => GetImage(index);

    /// <inheritdoc/>
    string IImageSource.NameOf(int index) => "#" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    IImageSource IImageSource.Select(IEnumerable<int> indices) => Subset(indices);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Count} images of {Channels}x{Height}x{Width}, {ClassNames.Length} classes";

    private IEnumerable<ImageRow> Rows()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return new ImageRow { Image = GetImage(i), Label = ClassNames[Labels[i]] };
        }
    }
}
