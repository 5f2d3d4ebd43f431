using System.Globalization;

namespace VitMlNet.Data;

public static partial class DatasetReaders
{
    /// <summary>The magic number of an IDX images file: unsigned bytes, 3 dimensions (count, rows, columns).</summary>
    public const int IdxImagesMagic = 0x00000803;

    /// <summary>The magic number of an IDX labels file: unsigned bytes, 1 dimension (count).</summary>
    public const int IdxLabelsMagic = 0x00000801;

    /// <summary>
    /// Reads an IDX image file and its IDX label file (the MNIST / Fashion-MNIST format), raw or gzip-compressed
    /// (detected from the content, not the extension).
    /// </summary>
    /// <param name="imagesPath">The images file: big-endian header 0x00000803, count, rows, columns; then count×rows×columns bytes.</param>
    /// <param name="labelsPath">The labels file: big-endian header 0x00000801, count; then count label bytes.</param>
    /// <param name="classNames">The class names, indexed by label; <see langword="null"/> names the classes "0" … "K-1",
    /// where K is one more than the largest label.</param>
    /// <returns>A gray (1-channel) dataset of rows×columns images.</returns>
    /// <exception cref="DatasetException">A file is missing, too short, has the wrong magic number, holds fewer or more bytes
    /// than its header says, the two counts differ, or a label has no class name.</exception>
    public static ImageDataset ReadIdx(string imagesPath, string labelsPath, IReadOnlyList<string>? classNames = null)
    {
        const string ImagesWhat = "IDX images file";
        const string LabelsWhat = "IDX labels file";
        byte[] images = ReadAllBytesMaybeGzip(imagesPath, ImagesWhat);
        CheckIdxHeader(images, imagesPath, ImagesWhat, IdxImagesMagic, 16, "unsigned bytes, 3 dimensions: count, rows, columns");
        int count = ReadBigEndianInt32(images, 4);
        int rows = ReadBigEndianInt32(images, 8);
        int cols = ReadBigEndianInt32(images, 12);
        if (count <= 0 || rows <= 0 || cols <= 0)
        {
            throw new DatasetException(
                $"{ImagesWhat} '{imagesPath}': header says {count} images of {rows}x{cols} pixels; all three must be positive.", imagesPath);
        }

        long expectedPixels = (long)count * rows * cols;
        long actualPixels = images.Length - 16L;
        if (actualPixels != expectedPixels)
        {
            throw new DatasetException(
                $"{ImagesWhat} '{imagesPath}': header says {count} images of {rows}x{cols} pixels ({expectedPixels} bytes) but the file holds {actualPixels} bytes of pixels"
                + (actualPixels < expectedPixels
                    ? $" ({actualPixels / ((long)rows * cols)} whole images): it is truncated."
                    : $": {actualPixels - expectedPixels} unexpected trailing bytes."),
                imagesPath);
        }

        byte[] labelBytes = ReadAllBytesMaybeGzip(labelsPath, LabelsWhat);
        CheckIdxHeader(labelBytes, labelsPath, LabelsWhat, IdxLabelsMagic, 8, "unsigned bytes, 1 dimension: count");
        int labelCount = ReadBigEndianInt32(labelBytes, 4);
        long actualLabels = labelBytes.Length - 8L;
        if (labelCount < 0 || actualLabels != labelCount)
        {
            throw new DatasetException(
                $"{LabelsWhat} '{labelsPath}': header says {labelCount} items but the file holds {actualLabels} bytes of labels"
                + (actualLabels < labelCount ? ": it is truncated." : $": {actualLabels - labelCount} unexpected trailing bytes."),
                labelsPath);
        }

        if (labelCount != count)
        {
            throw new DatasetException(
                $"{ImagesWhat} '{imagesPath}' holds {count} images but {LabelsWhat} '{labelsPath}' holds {labelCount} labels; they must match.",
                labelsPath);
        }

        int[] labels = Array.ConvertAll(labelBytes[8..], b => (int)b);
        string[] names;
        if (classNames is null)
        {
            names = Enumerable.Range(0, labels.Max() + 1).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        else
        {
            names = [.. classNames];
            if (names.Length == 0)
            {
                throw new ArgumentException("classNames must not be empty; pass null to name classes by their index.", nameof(classNames));
            }

            int bad = Array.FindIndex(labels, l => l >= names.Length);
            if (bad >= 0)
            {
                throw new DatasetException(
                    $"{LabelsWhat} '{labelsPath}': label {labels[bad]} at index {bad} is out of range for the {names.Length} class names given (labels 0..{names.Length - 1}).",
                    labelsPath);
            }
        }

        var pixels = new byte[expectedPixels];
        Array.Copy(images, 16, pixels, 0, expectedPixels);
        return new ImageDataset(pixels, labels, names, 1, rows, cols);
    }

    private static void CheckIdxHeader(byte[] data, string path, string what, int expectedMagic, int headerBytes, string meaning)
    {
        // The magic number comes first, so that a swapped (short) labels file is reported as swapped, not as truncated.
        int magic = data.Length >= 4 ? ReadBigEndianInt32(data, 0) : expectedMagic;
        if (magic != expectedMagic)
        {
            string hint = magic switch
            {
                IdxLabelsMagic => " That is the magic number of an IDX labels file: are the images and labels paths swapped?",
                IdxImagesMagic => " That is the magic number of an IDX images file: are the images and labels paths swapped?",
                _ when (magic & unchecked((int)0xFFFF0000)) == 0 => " The data type or the number of dimensions differs from what this reader supports.",
                _ => " It is not an IDX file.",
            };
            throw new DatasetException(
                $"{what} '{path}': magic number is 0x{magic:X8}, expected 0x{expectedMagic:X8} ({meaning}).{hint}", path);
        }

        if (data.Length < headerBytes)
        {
            throw new DatasetException(
                $"{what} '{path}' is {data.Length} bytes long, shorter than the {headerBytes}-byte IDX header: it is truncated or not an IDX file.", path);
        }
    }
}
