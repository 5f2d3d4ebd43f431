using Microsoft.ML;
using Microsoft.ML.Data;

namespace VitMlNet.Data;

/// <summary>
/// Labelled images at their own sizes, as a consumer of the model would have them: image files
/// (<see cref="ImageFileSet"/>) or decoded pixels (<see cref="ImageDataset"/>, e.g. IDX or CIFAR-10). Training,
/// evaluation and the sweep read every image through <see cref="ImagePreprocessing"/>, the chain saved in the zip.
/// </summary>
internal interface IImageSource
{
    /// <summary>The number of images.</summary>
    int Count { get; }

    /// <summary>The class names; <c>ClassNames[k]</c> names label <c>k</c>.</summary>
    string[] ClassNames { get; }

    /// <summary>The class index of each image.</summary>
    int[] Labels { get; }

    /// <summary>Files the reader left out (with <c>skipBadImages</c>).</summary>
    IReadOnlyList<SkippedFile> SkippedFiles { get; }

    /// <summary>
    /// Image <paramref name="index"/> as an app hands it to the zip: for a file, <c>MLImage.CreateFromFile</c> (after a
    /// check that the file decodes completely); for pixels, a Bgra32 image of them. The caller owns (and ML.NET's image
    /// transforms dispose) the image.
    /// </summary>
    /// <param name="index">The image index.</param>
    /// <returns>A new image.</returns>
    MLImage LoadImage(int index);

    /// <summary>A short name for image <paramref name="index"/> in messages: its path, or <c>#index</c>.</summary>
    /// <param name="index">The image index.</param>
    /// <returns>The name.</returns>
    string NameOf(int index);

    /// <summary>A source holding the given images in the given order.</summary>
    /// <param name="indices">Image indices.</param>
    /// <returns>The subset.</returns>
    IImageSource Select(IEnumerable<int> indices);

    /// <summary>The images as an ML.NET <see cref="IDataView"/> with columns <c>Image</c> (<see cref="MLImage"/>, loaded
    /// as with <see cref="LoadImage"/> when a cursor reaches the row) and <c>Label</c> (the class name).</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <returns>A streaming data view.</returns>
    IDataView ToDataView(MLContext mlContext);
}

/// <summary>Sampling and splitting of any <see cref="IImageSource"/>, stratified by class with a seed.</summary>
internal static class ImageSources
{
    /// <summary>
    /// A seeded, stratified split: in each class a shuffled <paramref name="testFraction"/> of its images (rounded to the
    /// nearest whole image, halves up) goes to the test part; every class keeps at least one training image. Both parts
    /// keep the original order.
    /// </summary>
    /// <param name="labels">The class index of each item.</param>
    /// <param name="classes">The number of classes.</param>
    /// <param name="testFraction">Strictly between 0 and 1.</param>
    /// <param name="seed">The shuffle seed.</param>
    /// <returns>The indices of the training part and of the test part.</returns>
    public static (int[] Train, int[] Test) SplitIndices(IReadOnlyList<int> labels, int classes, double testFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(testFraction > 0 && testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "testFraction must be strictly between 0 and 1.");
        }

        var isTest = new bool[labels.Count];
        foreach (var members in ByClass(labels, classes, seed))
        {
            int testCount = Math.Min((int)Math.Round(members.Length * testFraction, MidpointRounding.AwayFromZero), Math.Max(members.Length - 1, 0));
            for (int i = 0; i < testCount; i++) isTest[members[i]] = true;
        }

        var all = Enumerable.Range(0, labels.Count);
        return (all.Where(i => !isTest[i]).ToArray(), all.Where(i => isTest[i]).ToArray());
    }

    /// <summary>
    /// A seeded, stratified sample of at most <paramref name="count"/> items: each class gets its share (largest
    /// remainders first, every present class at least one while the count allows), drawn at random; the original order is kept.
    /// </summary>
    /// <param name="labels">The class index of each item.</param>
    /// <param name="classes">The number of classes.</param>
    /// <param name="count">How many to keep; all when there are no more.</param>
    /// <param name="seed">The shuffle seed.</param>
    /// <returns>The kept indices, ascending.</returns>
    public static int[] SampleIndices(IReadOnlyList<int> labels, int classes, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count >= labels.Count) return Enumerable.Range(0, labels.Count).ToArray();
        var groups = ByClass(labels, classes, seed).Where(g => g.Length > 0).ToArray();
        var quota = new int[groups.Length];
        var exact = groups.Select(g => (double)g.Length * count / labels.Count).ToArray();
        for (int k = 0; k < groups.Length; k++) quota[k] = (int)Math.Floor(exact[k]);
        foreach (int k in Enumerable.Range(0, groups.Length).OrderByDescending(k => quota[k] == 0 ? 1 : 0).ThenByDescending(k => exact[k] - quota[k]).ThenBy(k => k))
        {
            if (quota.Sum() >= count) break;
            if (quota[k] < groups[k].Length) quota[k]++;
        }

        return groups.SelectMany((g, k) => g.Take(quota[k])).Order().ToArray();
    }

    /// <summary>Splits a source (see <see cref="SplitIndices"/>).</summary>
    /// <param name="source">The images.</param>
    /// <param name="testFraction">Strictly between 0 and 1.</param>
    /// <param name="seed">The shuffle seed.</param>
    /// <returns>The training part and the test part.</returns>
    public static (IImageSource Train, IImageSource Test) Split(IImageSource source, double testFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (train, test) = SplitIndices(source.Labels, source.ClassNames.Length, testFraction, seed);
        return (source.Select(train), source.Select(test));
    }

    /// <summary>A stratified sample of a source (see <see cref="SampleIndices"/>).</summary>
    /// <param name="source">The images.</param>
    /// <param name="count">How many to keep.</param>
    /// <param name="seed">The shuffle seed.</param>
    /// <returns>The sample, or <paramref name="source"/> when it holds no more than <paramref name="count"/>.</returns>
    public static IImageSource Sample(IImageSource source, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        return count >= source.Count ? source : source.Select(SampleIndices(source.Labels, source.ClassNames.Length, count, seed));
    }

    /// <summary>The number of images in each class.</summary>
    /// <param name="source">The images.</param>
    /// <returns>One count per class name.</returns>
    public static int[] CountPerClass(this IImageSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var counts = new int[source.ClassNames.Length];
        foreach (int label in source.Labels) counts[label]++;
        return counts;
    }

    private static int[][] ByClass(IReadOnlyList<int> labels, int classes, int seed)
    {
        var random = new Random(seed);
        var byClass = new List<int>[classes];
        for (int k = 0; k < classes; k++) byClass[k] = [];
        for (int i = 0; i < labels.Count; i++) byClass[labels[i]].Add(i);
        return byClass.Select(members =>
        {
            var shuffled = members.ToArray();
            random.Shuffle(shuffled);
            return shuffled;
        }).ToArray();
    }
}
