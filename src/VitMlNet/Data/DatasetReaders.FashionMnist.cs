namespace VitMlNet.Data;

public static partial class DatasetReaders
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the Fashion-MNIST files.</summary>
    public const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten Fashion-MNIST class names in label order.</summary>
    public static IReadOnlyList<string> FashionMnistClassNames { get; } = Array.AsReadOnly(
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]);

    /// <summary>Whether <paramref name="folder"/> (default <see cref="FashionMnistFolder"/>) holds all four Fashion-MNIST files.</summary>
    /// <param name="folder">The folder to look in, or <see langword="null"/> for <see cref="FashionMnistFolder"/>.</param>
    /// <returns><see langword="true"/> when the training and test files are all present.</returns>
    public static bool IsFashionMnistAvailable(string? folder = null)
    {
        folder ??= FashionMnistFolder;
        return Directory.Exists(folder)
            && new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
                .All(stem => FindFashionMnistFile(folder, stem) is not null);
    }

    /// <summary>
    /// Reads Fashion-MNIST (Xiao et al., 2017): the 60 000 training or the 10 000 test gray 28×28 images of 10 clothing
    /// classes, from the IDX files of the Debian package <c>dataset-fashion-mnist</c> or any folder holding them.
    /// </summary>
    /// <param name="folder">The folder holding the IDX files (<c>train-images-idx3-ubyte.gz</c>, … raw or gzip), or
    /// <see langword="null"/> for <see cref="FashionMnistFolder"/>.</param>
    /// <param name="train"><see langword="true"/> for the training split, <see langword="false"/> for the test split.</param>
    /// <returns>A gray 28×28 dataset with <see cref="FashionMnistClassNames"/>.</returns>
    /// <exception cref="DatasetException">The folder or a file is missing (the message says how to install the package), or a file is corrupt.</exception>
    public static ImageDataset ReadFashionMnist(string? folder = null, bool train = true)
    {
        folder ??= FashionMnistFolder;
        const string Install = "Install it with `sudo apt-get install dataset-fashion-mnist` (files go to " + FashionMnistFolder + "), or pass the folder that holds the Fashion-MNIST IDX files.";
        if (!Directory.Exists(folder))
        {
            throw new DatasetException($"Fashion-MNIST folder '{folder}' does not exist. {Install}", folder);
        }

        string prefix = train ? "train" : "t10k";
        string images = FindFashionMnistFile(folder, $"{prefix}-images-idx3-ubyte")
            ?? throw new DatasetException($"Fashion-MNIST folder '{folder}' lacks {prefix}-images-idx3-ubyte(.gz). {Install}", folder);
        string labels = FindFashionMnistFile(folder, $"{prefix}-labels-idx1-ubyte")
            ?? throw new DatasetException($"Fashion-MNIST folder '{folder}' lacks {prefix}-labels-idx1-ubyte(.gz). {Install}", folder);
        return ReadIdx(images, labels, FashionMnistClassNames);
    }

    /// <summary>Finds <c>stem.gz</c>, <c>stem</c> or the dotted variant (<c>train-images.idx3-ubyte</c>) in <paramref name="folder"/>.</summary>
    private static string? FindFashionMnistFile(string folder, string stem)
    {
        string dotted = stem.Replace("-idx", ".idx", StringComparison.Ordinal);
        return new[] { stem + ".gz", stem, dotted + ".gz", dotted }
            .Select(name => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
    }
}
