namespace VitMlNet.Data;

public static partial class DatasetReaders
{
    /// <summary>Bytes per CIFAR-10 binary record: 1 label byte and 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32×32).</summary>
    public const int Cifar10RecordBytes = 1 + (3 * 32 * 32);

    /// <summary>The CIFAR-10 class names in label order, used when no <c>batches.meta.txt</c> is found.</summary>
    public static IReadOnlyList<string> Cifar10ClassNames { get; } =
        Array.AsReadOnly(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]);

    /// <summary>The training batch files of the CIFAR-10 binary distribution.</summary>
    public static IReadOnlyList<string> Cifar10TrainFiles { get; } =
        Array.AsReadOnly(["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"]);

    /// <summary>The test batch file of the CIFAR-10 binary distribution.</summary>
    public const string Cifar10TestFile = "test_batch.bin";

    /// <summary>The optional class-name file of the CIFAR-10 binary distribution (one name per line).</summary>
    public const string Cifar10MetaFile = "batches.meta.txt";

    /// <summary>
    /// Reads the CIFAR-10 binary distribution: <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c> for training, or
    /// <c>test_batch.bin</c>. Class names come from <c>batches.meta.txt</c> when present, otherwise
    /// <see cref="Cifar10ClassNames"/>.
    /// </summary>
    /// <param name="folder">The folder holding the batch files, or its parent when that holds <c>cifar-10-batches-bin</c>.</param>
    /// <param name="train"><see langword="true"/> for the five training batches, <see langword="false"/> for the test batch.</param>
    /// <returns>An RGB dataset of 32×32 images.</returns>
    /// <exception cref="DatasetException">The folder or a batch file is missing, or a file is corrupt.</exception>
    public static ImageDataset ReadCifar10(string folder, bool train = true)
    {
        string root = RequireFolder(folder, "CIFAR-10 folder");
        string nested = Path.Combine(root, "cifar-10-batches-bin");
        if (!File.Exists(Path.Combine(root, Cifar10TestFile)) && !File.Exists(Path.Combine(root, Cifar10TrainFiles[0])) && Directory.Exists(nested))
        {
            root = nested;
        }

        string[] files = (train ? Cifar10TrainFiles : [Cifar10TestFile]).Select(f => Path.Combine(root, f)).ToArray();
        string[] missing = files.Where(f => !File.Exists(f)).Select(Path.GetFileName).ToArray()!;
        if (missing.Length > 0)
        {
            throw new DatasetException(
                $"CIFAR-10 folder '{root}' lacks {string.Join(", ", missing)} ({(train ? "training" : "test")} set: expected {string.Join(", ", files.Select(Path.GetFileName))}).",
                root);
        }

        return ReadCifar10Batches(files, null);
    }

    /// <summary>
    /// Reads one CIFAR-10 binary batch file. Class names come from <paramref name="classNames"/>, else from a
    /// <c>batches.meta.txt</c> next to the file, else <see cref="Cifar10ClassNames"/>.
    /// </summary>
    /// <param name="path">The batch file: records of 1 label byte + 3072 pixel bytes.</param>
    /// <param name="classNames">The class names, indexed by label, or <see langword="null"/>.</param>
    /// <returns>An RGB dataset of 32×32 images.</returns>
    /// <exception cref="DatasetException">The file is missing, empty, not a whole number of records, or has a label without a class name.</exception>
    public static ImageDataset ReadCifar10Batch(string path, IReadOnlyList<string>? classNames = null) =>
        ReadCifar10Batches([path], classNames);

    /// <summary>Reads and concatenates CIFAR-10 binary batch files, in the given order.</summary>
    /// <param name="paths">The batch files.</param>
    /// <param name="classNames">The class names, or <see langword="null"/> to read <c>batches.meta.txt</c> next to the first file or use <see cref="Cifar10ClassNames"/>.</param>
    /// <returns>An RGB dataset of 32×32 images.</returns>
    /// <exception cref="DatasetException">A file is missing, empty, not a whole number of records, or has a label without a class name.</exception>
    public static ImageDataset ReadCifar10Batches(IReadOnlyList<string> paths, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0)
        {
            throw new ArgumentException("At least one CIFAR-10 batch file is required.", nameof(paths));
        }

        string[] names = classNames is not null ? [.. classNames] : ReadCifarMeta(Path.GetDirectoryName(Path.GetFullPath(paths[0]))!);
        if (names.Length == 0)
        {
            throw new ArgumentException("classNames must not be empty.", nameof(classNames));
        }

        var chunks = new List<byte[]>(paths.Count);
        long records = 0;
        foreach (string path in paths)
        {
            byte[] data = ReadAllBytesMaybeGzip(path, "CIFAR-10 file");
            if (data.Length == 0)
            {
                throw new DatasetException($"CIFAR-10 file '{path}' is empty; expected records of {Cifar10RecordBytes} bytes.", path);
            }

            if (data.Length % Cifar10RecordBytes != 0)
            {
                string hint = data.Length % (Cifar10RecordBytes + 1) == 0
                    ? " Its size is a multiple of 3074, the CIFAR-100 record (2 label bytes): CIFAR-100 is not supported by this reader."
                    : " It is truncated or not a CIFAR-10 binary batch.";
                throw new DatasetException(
                    $"CIFAR-10 file '{path}' is {data.Length} bytes, not a multiple of the {Cifar10RecordBytes}-byte record (1 label byte + 3072 pixel bytes): "
                    + $"{data.Length / Cifar10RecordBytes} whole records and {data.Length % Cifar10RecordBytes} extra bytes.{hint}",
                    path);
            }

            int n = data.Length / Cifar10RecordBytes;
            for (int r = 0; r < n; r++)
            {
                int label = data[r * Cifar10RecordBytes];
                if (label >= names.Length)
                {
                    throw new DatasetException(
                        $"CIFAR-10 file '{path}': record {r} has label {label}, but there are only {names.Length} class names (labels 0..{names.Length - 1}).",
                        path);
                }
            }

            chunks.Add(data);
            records += n;
        }

        const int ImageBytes = Cifar10RecordBytes - 1;
        var pixels = new byte[CheckedTotal(records, ImageBytes, "CIFAR-10")];
        var labels = new int[records];
        int i = 0;
        foreach (byte[] data in chunks)
        {
            for (int offset = 0; offset < data.Length; offset += Cifar10RecordBytes, i++)
            {
                labels[i] = data[offset];
                Array.Copy(data, offset + 1, pixels, (long)i * ImageBytes, ImageBytes);
            }
        }

        return new ImageDataset(pixels, labels, names, 3, 32, 32);
    }

    private static string[] ReadCifarMeta(string folder)
    {
        string meta = Path.Combine(folder, Cifar10MetaFile);
        if (!File.Exists(meta))
        {
            return [.. Cifar10ClassNames];
        }

        string[] names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length == 0)
        {
            throw new DatasetException($"CIFAR-10 class-name file '{meta}' holds no names; expected one class name per line.", meta);
        }

        return names;
    }
}
