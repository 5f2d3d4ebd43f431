using System.IO.Compression;
using Onnx;
using VitMlNet.IO;
using VitMlNet.ModelZip;
using VitMlNet.Onnx;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>A zip with a flipped bit or cut short is refused (CRC check), and an ONNX graph whose
/// shapes disagree with its stored configuration is refused.</summary>
[Collection("Robustness")]
public sealed class ZipIntegrityTests
{
    private readonly CliFixture f;

    public ZipIntegrityTests(CliFixture fixture) => f = fixture;

    /// <summary>A copy of the model with one bit flipped inside the ONNX entry's stored data.</summary>
    private string FlipABit()
    {
        string path = f.NewPath("flipped.zip");
        File.Copy(f.Model, path);
        long offset;
        using (var archive = ZipFile.OpenRead(path))
        {
            var largest = archive.Entries.MaxBy(e => e.CompressedLength)!;
            // Local header: 30 bytes + name + extra; flip a bit in the middle of the entry's data.
            offset = LocalDataOffset(path, largest) + largest.CompressedLength / 2;
        }
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = offset;
            int b = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(b ^ 0x10));
        }
        return path;
    }

    private static long LocalDataOffset(string path, ZipArchiveEntry entry)
    {
        // Find the entry's local header by its name (the names are unique and short).
        byte[] bytes = File.ReadAllBytes(path);
        byte[] name = System.Text.Encoding.UTF8.GetBytes(entry.FullName);
        for (int i = 0; i + 30 + name.Length < bytes.Length; i++)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 3 && bytes[i + 3] == 4
                && BitConverter.ToUInt16(bytes, i + 26) == name.Length && bytes.AsSpan(i + 30, name.Length).SequenceEqual(name))
            {
                return i + 30 + name.Length + BitConverter.ToUInt16(bytes, i + 28);
            }
        }
        throw new InvalidOperationException("local header not found");
    }

    [Fact]
    public void AFlippedBitIsRefusedByInfoPredictAndTheLibrary()
    {
        string path = FlipABit();
        Assert.Throws<InvalidDataException>(() => ZipIntegrity.Verify(path));
        Assert.Throws<InvalidDataException>(() => ModelZipFile.ReadFromZip(path));
        foreach (var args in new[] { new[] { "info", path }, new[] { "predict", path, f.Train.Rows[0].ImagePath }, new[] { "evaluate", path, "--data", f.Test.Root } })
        {
            var r = Vit.Run(args);
            Assert.True(r.Code == 2, r.ToString());
            Robust.AssertOneErrorLine(r, args[0]);
            Assert.Contains("is corrupt", r.Err);
        }
    }

    [Fact]
    public void ATruncatedZipIsRefused()
    {
        string path = f.NewPath("short.zip");
        File.WriteAllBytes(path, File.ReadAllBytes(f.Model).AsSpan(0, 976).ToArray());
        var r = Vit.Run("info", path);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "info");
        Assert.Contains("corrupt or not a complete zip", r.Err);
    }

    [Fact]
    public void AGraphWhoseInputDisagreesWithItsConfigurationIsRefused()
    {
        var stored = ModelZipFile.ReadFromZip(f.Model);
        var proto = ViTOnnxWriter.Build(stored.Config, stored.Weights, stored.ClassNames, stored.ExportOptions);
        var dims = proto.Graph.Input[0].Type.TensorType.Shape.Dim;
        // A 1-channel graph (input [N, 1, 16, 16]) with a 3-channel configuration.
        dims.Clear();
        dims.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (long d in new long[] { 1, stored.Config.ImageHeight, stored.Config.ImageWidth }) dims.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        var e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(proto));
        Assert.Contains("takes 256 values per image, but its stored configuration is 3x16x16 (768 values)", e.Message);
    }

    [Fact]
    public void AOneChannelGraphInsideAThreeChannelZipIsRefused()
    {
        // Replace the zip's graph by a consistent 1-channel one (its own metadata agrees); the zip's preprocessing still
        // extracts 3 channels. The archive itself is valid (correct CRCs).
        var stored = ModelZipFile.ReadFromZip(f.Model);
        using var gray = new VitMlNet.Modeling.VisionTransformer(stored.Config with { Channels = 1, Mean = [stored.Config.Mean[0]], Std = [stored.Config.Std[0]] });
        byte[] graph = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(gray, stored.ClassNames, stored.ExportOptions));
        string path = f.NewPath("gray-graph.zip");
        File.Copy(f.Model, path);
        byte[] original;
        using (var file = File.OpenRead(path)) original = ModelZipFile.FindModelBytesInZip(file)!;
        using (var archive = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => Contains(Read(e), original));
            byte[] old = Read(entry);
            int at = IndexOf(old, original);
            byte[] replaced = old[..at].Concat(graph).Concat(old[(at + original.Length)..]).ToArray();
            if (at >= 4) BitConverter.GetBytes(graph.Length).CopyTo(replaced, at - 4); // ML.NET's int32 length prefix
            string name = entry.FullName;
            entry.Delete();
            using var s = archive.CreateEntry(name).Open();
            s.Write(replaced);
        }
        ZipIntegrity.Verify(path);
        // The graph is valid on its own, but not the one the chain was saved with (its SHA-256 differs).
        Assert.Contains("was replaced", Assert.Throws<InvalidDataException>(() => ModelZipFile.ReadFromZip(path)).Message);

        var r = Vit.Run("info", path);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "info");
        Assert.Contains($"'{path}': its ONNX graph was replaced", r.Err);
    }

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    private static bool Contains(byte[] haystack, byte[] needle) => IndexOf(haystack, needle) >= 0;

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
