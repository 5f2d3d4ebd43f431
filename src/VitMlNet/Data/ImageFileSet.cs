using Microsoft.ML;
using Microsoft.ML.Data;

namespace VitMlNet.Data;

/// <summary>
/// A labelled list of image files, as read from an image folder (<see cref="DatasetReaders.ListImageFolder"/>) or a
/// CSV/TSV list (<see cref="DatasetReaders.ListImageCsv"/>). Nothing is decoded until it is used: <see cref="ToDataView"/>
/// loads each image when a cursor reaches it, <see cref="ToDataset"/> decodes all of them into raw pixels.
/// </summary>
public sealed class ImageFileSet : IImageSource
{
    /// <summary>Creates a file set, checking that paths and labels agree.</summary>
    /// <param name="source">The folder or list file the paths came from (used in messages).</param>
    /// <param name="paths">Full image file paths.</param>
    /// <param name="labels">One class index in [0, K) per path.</param>
    /// <param name="classNames">The K class names.</param>
    /// <param name="skippedFiles">Files already left out while listing; <see langword="null"/> for none.</param>
    /// <param name="warnings">Doubts about the labels found while listing (see <see cref="Warnings"/>); <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">Counts differ, a label is out of range, or there are no class names.</exception>
    public ImageFileSet(string source, IReadOnlyList<string> paths, int[] labels, string[] classNames,
        IReadOnlyList<SkippedFile>? skippedFiles = null, IReadOnlyList<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (paths.Count != labels.Length)
        {
            throw new ArgumentException($"{paths.Count} paths but {labels.Length} labels.", nameof(labels));
        }

        if (classNames.Length == 0)
        {
            throw new ArgumentException("At least one class name is required.", nameof(classNames));
        }

        int bad = Array.FindIndex(labels, l => (uint)l >= (uint)classNames.Length);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"Label {labels[bad]} of '{paths[bad]}' is out of range for {classNames.Length} classes (0..{classNames.Length - 1}).", nameof(labels));
        }

        Source = source;
        Paths = paths;
        Labels = labels;
        ClassNames = classNames;
        SkippedFiles = skippedFiles ?? [];
        Warnings = warnings ?? [];
    }

    /// <summary>The folder or list file the paths came from.</summary>
    public string Source { get; }

    /// <summary>Full path of each image file.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>The class index of each file, in [0, <see cref="ClassNames"/>.Length).</summary>
    public int[] Labels { get; }

    /// <summary>The class names; <c>ClassNames[k]</c> names label <c>k</c>.</summary>
    public string[] ClassNames { get; }

    /// <summary>The number of image files.</summary>
    public int Count => Labels.Length;

    /// <summary>Files left out while listing because <c>skipBadImages</c> was set (missing or unrecognised files).</summary>
    public IReadOnlyList<SkippedFile> SkippedFiles { get; }

    /// <summary>
    /// Doubts about the labels found while listing, one line each: byte-identical image files under different classes,
    /// and a file a list names twice with different labels. The files are still used; the caller decides whether to
    /// warn or stop.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// An <see cref="IDataView"/> with columns <c>Image</c> (<see cref="MLImage"/> loaded with
    /// <see cref="LoadImage"/> when a cursor reaches the row), <c>Label</c> (string class name) and
    /// <c>ImagePath</c> (string, full path).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <returns>A streaming data view; a file that fails to load then throws a <see cref="DatasetException"/> naming it.</returns>
    public IDataView ToDataView(MLContext mlContext) => DatasetColumns.Load(mlContext, Rows());

    /// <summary>
    /// Reads every file through <see cref="ImagePreprocessing"/> (the chain a model zip applies) at
    /// <paramref name="height"/>×<paramref name="width"/> and <paramref name="channels"/> channels.
    /// </summary>
    /// <param name="height">Target height in pixels.</param>
    /// <param name="width">Target width in pixels.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="resizing">How other sizes are brought to the target size.</param>
    /// <returns>The preprocessed dataset; its <see cref="ImageDataset.SkippedFiles"/> are this set's <see cref="SkippedFiles"/>.</returns>
    /// <exception cref="DatasetException">A file cannot be decoded.</exception>
    public ImageDataset ToDataset(int height, int width, int channels = 3, ImageResizing resizing = ImagePreprocessing.DefaultResizing) =>
        ImagePreprocessing.Apply(new MLContext(0), this, channels, height, width, resizing);

    /// <summary>Whether every file is a gray image by its header (read once, then remembered): such data trains a 1-channel model by default.</summary>
    /// <returns>True when all files are gray.</returns>
    public bool IsGrayscale() => isGray ??= Paths.AsParallel().All(ImageCodec.IsGray);

    private bool? isGray;

    /// <summary>A file set holding the given files in the given order.</summary>
    /// <param name="indices">File indices, each in [0, <see cref="Count"/>).</param>
    /// <returns>The subset, with the same class names.</returns>
    public ImageFileSet Subset(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int[] idx = indices.ToArray();
        return new ImageFileSet(Source, idx.Select(i => Paths[i]).ToArray(), idx.Select(i => Labels[i]).ToArray(), ClassNames, SkippedFiles, Warnings);
    }

    /// <summary>
    /// Loads file <paramref name="index"/> as an app would (<see cref="MLImage.CreateFromFile"/>), after checking that it
    /// decodes completely: SkiaSharp would otherwise hand back a truncated file's partial image without a word.
    /// </summary>
    /// <param name="index">The file index.</param>
    /// <returns>The image; the caller owns it.</returns>
    /// <exception cref="DatasetException">The file is missing, truncated or not an image.</exception>
    public MLImage LoadImage(int index) => ImageCodec.LoadChecked(Paths[index]);

    /// <inheritdoc/>
    string IImageSource.NameOf(int index) => Paths[index];

    /// <inheritdoc/>
    IImageSource IImageSource.Select(IEnumerable<int> indices) => Subset(indices);

    /// <inheritdoc/>
    public override string ToString() => $"{Count} image files in {ClassNames.Length} classes from '{Source}'";

    private IEnumerable<ImageFileRow> Rows()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return new ImageFileRow { Image = LoadImage(i), Label = ClassNames[Labels[i]], ImagePath = Paths[i] };
        }
    }
}

/// <summary>Row of the IDataView built from an <see cref="ImageFileSet"/>.</summary>
internal sealed class ImageFileRow
{
    [AnySizeImageType]
    [ColumnName(DatasetColumns.Image)]
    public MLImage Image { get; set; } = null!;

    public string Label { get; set; } = string.Empty;

    public string ImagePath { get; set; } = string.Empty;
}
