using Microsoft.ML;
using Microsoft.ML.Data;

namespace VitMlNet.Data;

/// <summary>
/// A labelled list of image files, as read from an image folder (<see cref="DatasetReaders.ListImageFolder"/>) or a
/// CSV/TSV list (<see cref="DatasetReaders.ListImageCsv"/>). Nothing is decoded until it is used: <see cref="ToDataView"/>
/// loads each image when a cursor reaches it, <see cref="ToDataset"/> decodes all of them into raw pixels.
/// </summary>
public sealed class ImageFileSet
{
    /// <summary>Creates a file set, checking that paths and labels agree.</summary>
    /// <param name="source">The folder or list file the paths came from (used in messages).</param>
    /// <param name="paths">Full image file paths.</param>
    /// <param name="labels">One class index in [0, K) per path.</param>
    /// <param name="classNames">The K class names.</param>
    /// <param name="skippedFiles">Files already left out while listing; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">Counts differ, a label is out of range, or there are no class names.</exception>
    public ImageFileSet(string source, IReadOnlyList<string> paths, int[] labels, string[] classNames,
        IReadOnlyList<SkippedFile>? skippedFiles = null)
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
    /// An <see cref="IDataView"/> with columns <c>Image</c> (<see cref="MLImage"/> loaded with
    /// <see cref="MLImage.CreateFromFile"/> when a cursor reaches the row), <c>Label</c> (string class name) and
    /// <c>ImagePath</c> (string, full path).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <returns>A streaming data view; a file that fails to load then throws a <see cref="DatasetException"/> naming it.</returns>
    public IDataView ToDataView(MLContext mlContext) => DatasetColumns.Load(mlContext, Rows());

    /// <summary>
    /// Decodes every file with SkiaSharp, resizes it to <paramref name="height"/>×<paramref name="width"/> (aspect ratio
    /// not kept) and converts it to <paramref name="channels"/> channels (RGB → gray uses BT.601 luma; alpha and EXIF
    /// orientation are ignored; an animated GIF gives its first frame). Files are decoded in parallel.
    /// </summary>
    /// <param name="height">Target height in pixels.</param>
    /// <param name="width">Target width in pixels.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="skipBadImages">Leave undecodable files out and list them in <see cref="ImageDataset.SkippedFiles"/>
    /// instead of throwing.</param>
    /// <returns>The raw dataset; its <see cref="ImageDataset.SkippedFiles"/> includes this set's <see cref="SkippedFiles"/>.</returns>
    /// <exception cref="DatasetException">A file cannot be decoded (and <paramref name="skipBadImages"/> is false).</exception>
    public ImageDataset ToDataset(int height, int width, int channels = 3, bool skipBadImages = false)
    {
        ImageCodec.ValidateShape(channels, height, width, nameof(ToDataset));
        int size = channels * height * width;
        var pixels = new byte[DatasetReaders.CheckedTotal(Count, size, Source)];
        var errors = new string?[Count];
        Parallel.For(0, Count, i => errors[i] = ImageCodec.TryDecodeFile(Paths[i], channels, height, width, pixels.AsSpan(i * size, size)));

        var bad = Enumerable.Range(0, Count).Where(i => errors[i] is not null).ToArray();
        if (bad.Length == 0)
        {
            return new ImageDataset(pixels, (int[])Labels.Clone(), ClassNames, channels, height, width, SkippedFiles);
        }

        if (!skipBadImages)
        {
            int first = bad[0];
            string more = bad.Length > 1 ? $" ({bad.Length - 1} more file(s) also failed)" : string.Empty;
            throw new DatasetException(
                $"Image file '{Paths[first]}' cannot be decoded: {errors[first]}{more}. Fix or remove it, or set skipBadImages to leave such files out.",
                Paths[first]);
        }

        var keep = Enumerable.Range(0, Count).Where(i => errors[i] is null).ToArray();
        var kept = new byte[(long)keep.Length * size];
        for (int i = 0; i < keep.Length; i++)
        {
            Array.Copy(pixels, (long)keep[i] * size, kept, (long)i * size, size);
        }

        var skipped = SkippedFiles.Concat(bad.Select(i => new SkippedFile(Paths[i], errors[i]!))).ToArray();
        return new ImageDataset(kept, keep.Select(i => Labels[i]).ToArray(), ClassNames, channels, height, width, skipped);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Count} image files in {ClassNames.Length} classes from '{Source}'";

    private IEnumerable<ImageFileRow> Rows()
    {
        for (int i = 0; i < Count; i++)
        {
            string path = Paths[i];
            MLImage image;
            try
            {
                image = MLImage.CreateFromFile(path);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new DatasetException($"Image file '{path}' cannot be loaded: {e.Message}", path, e);
            }

            yield return new ImageFileRow { Image = image, Label = ClassNames[Labels[i]], ImagePath = path };
        }
    }
}

/// <summary>Row of the IDataView built from an <see cref="ImageFileSet"/>.</summary>
internal sealed class ImageFileRow
{
    [AnySizeImageType]
    public MLImage Image { get; set; } = null!;

    public string Label { get; set; } = string.Empty;

    public string ImagePath { get; set; } = string.Empty;
}
