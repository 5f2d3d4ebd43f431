using Google.Protobuf;
using Onnx;
using VitMlNet.Scoring;

namespace VitMlNet.Onnx;

// The zip half of ViTOnnxReader: finding and reading the ONNX model that ML.NET's OnnxTransformer embeds in a model zip.
internal static partial class ViTOnnxReader
{
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
        if (!TryParse(model, out var proto) || !IsViTOnnxModel(proto!)) return null;
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
            $"'{name}' holds no ONNX graph written by VitMlNet (none with '{ViTOnnxMetadata.ConfigKey}' metadata).");
        return ReadHashed(bytes);
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

    private static bool TryParse(byte[] bytes, out ModelProto? model)
    {
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            model = null;
            return false;
        }
    }
}
