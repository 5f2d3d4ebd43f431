using Microsoft.ML;

namespace VitMlNet.Data;

/// <summary>The kind of data source a <see cref="DataSpec"/> names.</summary>
internal enum DataSourceKind
{
    /// <summary>Fashion-MNIST from <see cref="DatasetReaders.FashionMnistFolder"/>.</summary>
    FashionMnist,

    /// <summary>CIFAR-10 binary batches: a folder or a single <c>.bin</c> file.</summary>
    Cifar10,

    /// <summary>An IDX images file and an IDX labels file.</summary>
    Idx,

    /// <summary>A folder with one subfolder per class.</summary>
    ImageFolder,

    /// <summary>A CSV or TSV file of <c>path,label</c> rows.</summary>
    ImageList,
}

/// <summary>
/// A data source named by one string, as the command line takes it, and the reader that loads it.
/// </summary>
/// <remarks>
/// <para>Recognised forms (the prefixes are case-insensitive):</para>
/// <list type="table">
/// <listheader><term>Spec</term><description>Source</description></listheader>
/// <item><term><c>fashion-mnist</c>, <c>fashion-mnist:train</c>, <c>fashion-mnist:test</c></term><description>Fashion-MNIST training (default) or test split from <see cref="DatasetReaders.FashionMnistFolder"/>.</description></item>
/// <item><term><c>cifar10:FOLDER</c>, <c>cifar10:FOLDER:train</c>, <c>cifar10:FOLDER:test</c></term><description>CIFAR-10 binary training batches (default) or test batch; FOLDER may also be one <c>.bin</c> batch file.</description></item>
/// <item><term><c>idx:IMAGES,LABELS</c></term><description>An IDX images file and labels file (raw or gzip); classes are named by their index.</description></item>
/// <item><term><c>PATH.csv</c>, <c>PATH.tsv</c></term><description>A list of <c>path,label</c> rows (see <see cref="DatasetReaders.ListImageCsv"/>).</description></item>
/// <item><term><c>FOLDER</c></term><description>An existing folder with one subfolder per class (see <see cref="DatasetReaders.ListImageFolder"/>).</description></item>
/// </list>
/// <para>A folder whose name is a prefix word (e.g. <c>fashion-mnist</c>) is reached as <c>./fashion-mnist</c>.</para>
/// </remarks>
internal sealed class DataSpec
{
    /// <summary>A one-line summary of the accepted forms, for command-line help.</summary>
    public const string Syntax = "fashion-mnist[:test] | cifar10:FOLDER[:test] | idx:IMAGES,LABELS | FOLDER (one subfolder per class) | FILE.csv | FILE.tsv";

    private readonly string _text;

    private DataSpec(string text, DataSourceKind kind, string path, string? labelsPath, bool train)
    {
        _text = text;
        Kind = kind;
        Path = path;
        LabelsPath = labelsPath;
        Train = train;
    }

    /// <summary>The kind of source.</summary>
    public DataSourceKind Kind { get; }

    /// <summary>The folder or file: the Fashion-MNIST or CIFAR-10 folder (or CIFAR-10 batch file), the IDX images file,
    /// the image folder, or the CSV/TSV file.</summary>
    public string Path { get; }

    /// <summary>The IDX labels file; <see langword="null"/> for other kinds.</summary>
    public string? LabelsPath { get; }

    /// <summary>For Fashion-MNIST and a CIFAR-10 folder: <see langword="true"/> for the training split, <see langword="false"/> for the test split.
    /// Always <see langword="true"/> for other kinds.</summary>
    public bool Train { get; }

    /// <summary>Whether the source has a fixed image size (Fashion-MNIST, CIFAR-10, IDX), so <see cref="LoadDataset"/> needs no size.</summary>
    public bool HasNativeSize => Kind is DataSourceKind.FashionMnist or DataSourceKind.Cifar10 or DataSourceKind.Idx;

    /// <summary>Parses a data spec; see the class remarks for the forms.</summary>
    /// <param name="spec">The spec, e.g. <c>fashion-mnist:test</c> or <c>data/pets</c>.</param>
    /// <returns>The parsed spec; files are opened only when loading (except that a plain path must be an existing folder or end in .csv/.tsv).</returns>
    /// <exception cref="DatasetException">The spec matches none of the forms; the message lists them.</exception>
    public static DataSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string text = spec.Trim();
        if (text.Length == 0)
        {
            throw Unrecognised(spec, "it is empty");
        }

        if (TryStripPrefix(text, "fashion-mnist", out string? rest) && (rest.Length == 0 || rest[0] == ':'))
        {
            return rest.ToLowerInvariant() switch
            {
                "" or ":train" => new DataSpec(text, DataSourceKind.FashionMnist, DatasetReaders.FashionMnistFolder, null, train: true),
                ":test" => new DataSpec(text, DataSourceKind.FashionMnist, DatasetReaders.FashionMnistFolder, null, train: false),
                _ => throw Unrecognised(spec, $"after 'fashion-mnist' expected nothing, ':train' or ':test', not '{rest}'"),
            };
        }

        if (TryStripPrefix(text, "cifar10:", out rest))
        {
            bool train = true;
            if (rest.EndsWith(":test", StringComparison.OrdinalIgnoreCase))
            {
                train = false;
                rest = rest[..^5];
            }
            else if (rest.EndsWith(":train", StringComparison.OrdinalIgnoreCase))
            {
                rest = rest[..^6];
            }

            return rest.Length == 0
                ? throw Unrecognised(spec, "cifar10: needs a folder, e.g. cifar10:data/cifar-10-batches-bin")
                : new DataSpec(text, DataSourceKind.Cifar10, rest, null, train);
        }

        if (TryStripPrefix(text, "idx:", out rest))
        {
            string[] parts = rest.Split(',');
            return parts.Length != 2 || parts[0].Trim().Length == 0 || parts[1].Trim().Length == 0
                ? throw Unrecognised(spec, "idx: needs two files separated by a comma, e.g. idx:train-images-idx3-ubyte.gz,train-labels-idx1-ubyte.gz")
                : new DataSpec(text, DataSourceKind.Idx, parts[0].Trim(), parts[1].Trim(), train: true);
        }

        if (text.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || text.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
        {
            return new DataSpec(text, DataSourceKind.ImageList, text, null, train: true);
        }

        if (Directory.Exists(text))
        {
            return new DataSpec(text, DataSourceKind.ImageFolder, text, null, train: true);
        }

        throw Unrecognised(spec, File.Exists(text)
            ? "it is a file, but not a .csv/.tsv list; use idx:IMAGES,LABELS or cifar10:FILE for binary files"
            : "no such folder");
    }

    /// <summary>
    /// Opens the source as labelled images at their own sizes: the listed files of a folder or list (decoded when used),
    /// or the decoded pixels of Fashion-MNIST, CIFAR-10 and IDX at their native size. This is what training,
    /// evaluation and the sweep read through <see cref="ImagePreprocessing"/>.
    /// </summary>
    /// <param name="skipBadImages">For folders and lists: leave unreadable files out and list them in
    /// <see cref="IImageSource.SkippedFiles"/> instead of throwing.</param>
    /// <returns>The images.</returns>
    /// <exception cref="DatasetException">A file is missing or corrupt.</exception>
    public IImageSource Open(bool skipBadImages = false) => Kind switch
    {
        DataSourceKind.FashionMnist => DatasetReaders.ReadFashionMnist(Path, Train),
        DataSourceKind.Cifar10 when File.Exists(Path) => DatasetReaders.ReadCifar10Batch(Path),
        DataSourceKind.Cifar10 => DatasetReaders.ReadCifar10(Path, Train),
        DataSourceKind.Idx => DatasetReaders.ReadIdx(Path, LabelsPath!),
        DataSourceKind.ImageFolder => DatasetReaders.ListImageFolder(Path, skipBadImages),
        _ => DatasetReaders.ListImageCsv(Path, skipBadImages),
    };

    /// <summary>
    /// Loads the source as raw pixels. Fixed-size sources are read at their native size; a size or channel count, and
    /// every folder or list, goes through <see cref="ImagePreprocessing"/>, the chain a model zip applies.
    /// </summary>
    /// <param name="height">Target height; required for folders and lists, optional otherwise.</param>
    /// <param name="width">Target width; required for folders and lists, optional otherwise.</param>
    /// <param name="channels">1 or 3; <see langword="null"/> keeps the native channels (3 for folders and lists).</param>
    /// <param name="skipBadImages">For folders and lists: leave unreadable files out and list them in
    /// <see cref="ImageDataset.SkippedFiles"/> instead of throwing.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="DatasetException">A file is missing or corrupt.</exception>
    /// <exception cref="ArgumentException">A folder or list source was given no height or width.</exception>
    public ImageDataset LoadDataset(int? height = null, int? width = null, int? channels = null, bool skipBadImages = false)
    {
        var source = Open(skipBadImages);
        if (source is ImageDataset dataset)
        {
            return dataset.Resize(height ?? dataset.Height, width ?? dataset.Width, channels ?? dataset.Channels);
        }

        if (height is null || width is null)
        {
            throw new ArgumentException($"Data spec '{_text}' names image files of any size ({Kind}): give the height and width to decode them at.",
                height is null ? nameof(height) : nameof(width));
        }

        return ((ImageFileSet)source).ToDataset(height.Value, width.Value, channels ?? 3);
    }

    /// <summary>
    /// Loads the source as an ML.NET <see cref="IDataView"/> with <c>Image</c> and <c>Label</c> columns (plus
    /// <c>ImagePath</c> for folders and lists, whose images are loaded lazily from their files).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="skipBadImages">For folders and lists: leave missing or unrecognised files out instead of throwing.</param>
    /// <returns>The data view.</returns>
    /// <exception cref="DatasetException">A file is missing or corrupt.</exception>
    public IDataView LoadDataView(MLContext mlContext, bool skipBadImages = false) => Open(skipBadImages).ToDataView(mlContext);

    /// <summary>
    /// The folders and files this source reads, for checks that an output does not lie inside them: the data folder
    /// (image folder, CIFAR-10 or Fashion-MNIST folder), or the files (a CIFAR-10 batch, the IDX pair, a CSV/TSV list and
    /// every image file it names, resolved as <see cref="DatasetReaders.ListImageCsv"/> resolves them). Reads only a
    /// list file; a list that cannot be read gives only its own path (the reader reports the problem).
    /// </summary>
    internal (IReadOnlyList<string> Folders, IReadOnlyList<string> Files) InputPaths()
    {
        switch (Kind)
        {
            case DataSourceKind.Idx:
                return ([], [Path, LabelsPath!]);
            case DataSourceKind.Cifar10 when File.Exists(Path):
                return ([], [Path]);
            case DataSourceKind.ImageList:
                var files = new List<string> { Path };
                try
                {
                    files.AddRange(DatasetReaders.ReadListRows(System.IO.Path.GetFullPath(Path), null).Select(r => r.Path));
                }
                catch (Exception e) when (e is DatasetException or IOException or UnauthorizedAccessException)
                {
                    // Left to the reader, which names the problem.
                }
                return ([], files);
            default:
                return ([Path], []);
        }
    }

    /// <summary>The spec as it was given.</summary>
    /// <returns>The spec text.</returns>
    public override string ToString() => _text;

    private static bool TryStripPrefix(string text, string prefix, out string rest)
    {
        if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            rest = text[prefix.Length..];
            return true;
        }

        rest = string.Empty;
        return false;
    }

    private static DatasetException Unrecognised(string spec, string why) =>
        new($"Data spec '{spec}' is not recognised: {why}. Expected one of: {Syntax}.");
}
