using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using VitMlNet.Data;
using VitMlNet.Onnx;
using VitMlNet.Scoring;

namespace VitMlNet.ModelZip;

/// <summary>
/// THE zip reader: a model zip file read back, its embedded ONNX model (architecture, class names, weights) and the
/// ML.NET chain, checked before either is trusted. The <c>vit</c> commands read through <see cref="Load(MLContext, string, out DataViewSchema?)"/>
/// and <see cref="ReadOnnx(string)"/> (hashes required; every failure a <see cref="ModelZipException"/>: bad input,
/// not a crash); the library (a zip as the initial model) through <see cref="ReadFromZip(string)"/> (hashes compared
/// when recorded; failures are <see cref="InvalidDataException"/>s). The writer is <see cref="ScoringChain"/>.
/// </summary>
internal static class ModelZipFile
{
    /// <summary>The zip's input: the <c>Image</c> column only, of any size. (The zip stores no input schema: ML.NET's
    /// binary saver cannot store an image column.)</summary>
    public static DataViewSchema InputSchema()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(ImagePreprocessing.ImageColumn, new ImageDataViewType());
        return builder.ToSchema();
    }

    /// <summary>Checks that a model path names an existing regular file (a folder, device, FIFO or socket is refused).</summary>
    public static void CheckExists(string path)
    {
        if (Directory.Exists(path)) throw new ModelZipException($"'{path}' is a folder; expected a model zip written by 'vit train'.");
        try
        {
            IO.SafeFile.CheckRegular(path, "model file");
        }
        catch (FileNotFoundException)
        {
            throw new ModelZipException($"model file '{path}' not found.");
        }
        catch (InvalidDataException e)
        {
            throw new ModelZipException(e.Message, e);
        }
    }

    /// <summary>
    /// Loads a VitMlNet zip with ML.NET after checking it: the archive's layout and CRCs, the graph's SHA-256, the
    /// VitMlNet graph inside (finite weights, shapes that match its configuration), and that the zip's preprocessing
    /// feeds that graph the number of pixel values it takes. ML.NET reads the same open file that was checked, and
    /// its temporary copy of the graph goes to this process's private temporary folder. Dispose the model (it is
    /// <see cref="IDisposable"/>) to delete that copy.
    /// </summary>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema? inputSchema) => Load(ml, path, out inputSchema, out _);

    /// <summary>Loads a VitMlNet zip (see <see cref="Load(MLContext, string, out DataViewSchema?)"/>) and returns its ONNX model too, read from the same open file.</summary>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema? inputSchema, out ViTOnnxModel onnx)
    {
        ArgumentNullException.ThrowIfNull(ml);
        CheckExists(path);
        using var file = File.OpenRead(path);
        onnx = ReadOnnx(file, path);
        file.Position = 0;
        IO.PrivateTemp.Use(ml);
        ITransformer model;
        try
        {
            model = ml.Model.Load(file, out inputSchema);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException or ArgumentException)
        {
            throw new ModelZipException($"'{path}' is not an ML.NET model zip: {Guard(e.Message)}", e);
        }
        try
        {
            CheckPreprocessing(path, model, onnx.Config);
        }
        catch
        {
            (model as IDisposable)?.Dispose();
            throw;
        }
        return model;
    }

    private static string Guard(string message) =>
        string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void CheckPreprocessing(string path, ITransformer model, Modeling.ViTConfig config)
    {
        DataViewSchema schema;
        try
        {
            schema = model.GetOutputSchema(InputSchema());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string reason = string.Join(' ', e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            throw new ModelZipException($"'{path}' is not a VitMlNet image model: its pipeline does not take one '{ImagePreprocessing.ImageColumn}' image column ({reason}).", e);
        }
        long expected = (long)config.Channels * config.ImageHeight * config.ImageWidth;
        if (schema.GetColumnOrNull(ImagePreprocessing.PixelsColumn)?.Type is VectorDataViewType pixels && pixels.Size != expected)
        {
            throw new ModelZipException($"'{path}' is inconsistent: its preprocessing gives {pixels.Size} pixel values per image, but its ONNX graph " +
                $"({config.Channels}x{config.ImageHeight}x{config.ImageWidth}) takes {expected}.");
        }
    }

    /// <summary>Reads the VitMlNet ONNX model embedded in a zip (architecture, class names, weights).</summary>
    public static ViTOnnxModel ReadOnnx(string path)
    {
        CheckExists(path);
        using var file = File.OpenRead(path);
        return ReadOnnx(file, path);
    }

    private static ViTOnnxModel ReadOnnx(Stream file, string path)
    {
        try
        {
            // The commands read zips saved by VitMlNet's trainer, which records the graph's SHA-256 in the graph and the chain.
            var bytes = FindModelBytesInZip(file, path, requireHashes: true)
                ?? throw new InvalidDataException($"'{path}' is not a VitMlNet image model zip: it holds no ONNX graph written by VitMlNet (none with '{ModelZipKeys.Config}' metadata).");
            return ViTOnnxReader.ReadHashed(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new ModelZipException(e.Message.StartsWith($"'{path}'", StringComparison.Ordinal) ? e.Message : $"'{path}' is not a VitMlNet image model zip: {e.Message}", e);
        }
    }

    /// <summary>
    /// Finds the bytes of a VitMlNet ONNX model inside an ML.NET model zip (as saved by <c>MLContext.Model.Save</c>
    /// with an OnnxTransformer in the chain), by the one rule every VitMlNet reader follows: the zip's entries are
    /// checked from its central directory before anything is inflated (names, count, declared sizes), every entry's
    /// CRC is checked, and the graph is the single <c>OnnxModel</c> entry of the chain, the one ML.NET scores. The
    /// graph's SHA-256 must equal the ones recorded at save, in its metadata and in its chain (a zip saved by this
    /// version's trainer records both; zips saved before, and pipelines built around a VitMlNet graph with
    /// <c>ApplyOnnxModel</c>, may lack them: only the <c>vit</c> commands require them).
    /// </summary>
    /// <param name="zip">A readable stream over the zip.</param>
    /// <returns>The serialized ONNX model, or null when the zip holds no graph or one not written by VitMlNet.</returns>
    /// <exception cref="InvalidDataException">The stream is not a model zip, is corrupt, or its graph was altered or replaced.</exception>
    public static byte[]? FindModelBytesInZip(Stream zip)
    {
        ArgumentNullException.ThrowIfNull(zip);
        return FindModelBytesInZip(zip, zip is FileStream file ? file.Name : "the zip");
    }

    internal static byte[]? FindModelBytesInZip(Stream zip, string name, bool requireHashes = false)
    {
        long start = zip.CanSeek ? zip.Position : 0;
        bool hasGraph;
        using (var archive = ModelZipLayout.Open(zip, name)) hasGraph = ModelZipLayout.Check(archive, name).Graph is not null;
        if (zip.CanSeek) zip.Position = start;
        if (!hasGraph) return null;
        IO.ZipIntegrity.Verify(zip, name);
        var (model, chainHash) = ModelZipLayout.ReadGraph(zip, name);
        if (!TryParse(model, out var proto) || !ViTOnnxReader.IsViTOnnxModel(proto!)) return null;
        ModelZipLayout.CheckHash(model, chainHash, name, requireHashes);
        return model;
    }

    /// <summary>Reads the VitMlNet ONNX model embedded in an ML.NET model zip.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The stream is not a model zip, no entry holds a VitMlNet ONNX model, or its graph was altered.</exception>
    public static ViTOnnxModel ReadFromZip(Stream zip)
    {
        ArgumentNullException.ThrowIfNull(zip);
        return ReadFromZip(zip, zip is FileStream file ? file.Name : "the zip");
    }

    private static ViTOnnxModel ReadFromZip(Stream zip, string name)
    {
        var bytes = FindModelBytesInZip(zip, name) ?? throw new InvalidDataException(
            $"'{name}' holds no ONNX graph written by VitMlNet (none with '{ModelZipKeys.Config}' metadata).");
        return ViTOnnxReader.ReadHashed(bytes);
    }

    /// <summary>Reads the VitMlNet ONNX model embedded in an ML.NET model zip file.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The file is not a model zip, no entry holds a VitMlNet ONNX model, or its graph was altered.</exception>
    public static ViTOnnxModel ReadFromZip(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = IO.SafeFile.OpenRead(path, "model zip");
        return ReadFromZip(file, path);
    }

    private static bool TryParse(byte[] bytes, out global::Onnx.ModelProto? model)
    {
        try
        {
            model = global::Onnx.ModelProto.Parser.ParseFrom(bytes);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            model = null;
            return false;
        }
    }

    /// <summary>The slot names of a vector column (the class names of <c>Score</c>).</summary>
    public static string[] SlotNames(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column) ?? throw new ModelZipException($"the model has no '{column}' output column.");
        if (!col.HasSlotNames())
        {
            return Enumerable.Range(0, (col.Type as VectorDataViewType)?.Size ?? 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        col.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}

/// <summary>A file that is not a usable VitMlNet model zip (missing, corrupt, another kind of model, inconsistent): bad input.</summary>
internal sealed class ModelZipException(string message, Exception? inner = null) : Exception(message, inner);
