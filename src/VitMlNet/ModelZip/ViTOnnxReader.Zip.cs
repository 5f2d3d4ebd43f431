using Google.Protobuf;
using Onnx;

namespace VitMlNet.Onnx;

// The zip half of ViTOnnxReader: finding and reading the ONNX model that ML.NET's OnnxTransformer embeds in a model zip.
internal static partial class ViTOnnxReader
{
    /// <summary>
    /// Finds the bytes of a VitMlNet ONNX model inside an ML.NET model zip (as saved by <c>MLContext.Model.Save</c>
    /// with an OnnxTransformer in the chain): every entry is tried as an ONNX ModelProto, also after the length
    /// prefix ML.NET writes before byte arrays, and the first one with VitMlNet metadata wins.
    /// </summary>
    /// <param name="zip">A readable stream over the zip.</param>
    /// <returns>The serialized ONNX model, or null when the zip holds none.</returns>
    /// <exception cref="InvalidDataException">The stream is not a zip archive.</exception>
    public static byte[]? FindModelBytesInZip(Stream zip)
    {
        ArgumentNullException.ThrowIfNull(zip);
        IO.ZipIntegrity.Verify(zip, zip is FileStream file ? file.Name : "the zip");
        foreach (var (bytes, offset) in Scoring.VisionTransformerModelZip.OnnxCandidates(zip))
        {
            var candidate = bytes.AsMemory(offset);
            if (TryParse(candidate.Span, out var model) && IsViTOnnxModel(model!))
                return offset == 0 ? bytes : candidate.ToArray();
        }
        return null;
    }

    /// <summary>Reads the VitMlNet ONNX model embedded in an ML.NET model zip.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The stream is not a zip, or no entry holds a VitMlNet ONNX model.</exception>
    public static ViTOnnxModel ReadFromZip(Stream zip)
    {
        var bytes = FindModelBytesInZip(zip) ?? throw new InvalidDataException("The zip holds no ONNX model written by VitMlNet.");
        return Read(bytes);
    }

    /// <summary>Reads the VitMlNet ONNX model embedded in an ML.NET model zip file.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The file is not a zip, or no entry holds a VitMlNet ONNX model.</exception>
    public static ViTOnnxModel ReadFromZip(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenRead(path);
        return ReadFromZip(file);
    }

    private static bool TryParse(ReadOnlySpan<byte> bytes, out ModelProto? model)
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
