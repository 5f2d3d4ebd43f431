using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using Google.Protobuf;
using Onnx;
using VitMlNet.IO;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
using VitMlNet.Onnx;
using VitMlNet.Scoring;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>
/// Model zips crafted to exhaust memory or mislead: a huge extra entry, a thousand entries, a duplicated entry, a
/// second graph listed first, a tampered constant, a swapped graph, special files. Each is refused in one line with
/// exit 2 before anything large is inflated; and reading a zip leaves no copy of its graph behind.
/// </summary>
[Collection("Robustness")]
public sealed class ModelZipReadingTests
{
    private readonly CliFixture f;

    public ModelZipReadingTests(CliFixture fixture) => f = fixture;

    /// <summary>A copy of the fixture's zip with its entries passed through <paramref name="edit"/> (name, bytes → entries to write).</summary>
    private string Rewrite(string name, Func<string, byte[], IEnumerable<(string Name, byte[] Bytes)>> edit, Action<ZipArchive>? before = null, Action<ZipArchive>? after = null)
    {
        string path = f.NewPath(name);
        using var source = ZipFile.OpenRead(f.Model);
        using var target = ZipFile.Open(path, ZipArchiveMode.Create);
        before?.Invoke(target);
        foreach (var entry in source.Entries)
        {
            using var s = entry.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            foreach (var (n, bytes) in edit(entry.FullName, m.ToArray()))
            {
                using var w = target.CreateEntry(n, CompressionLevel.Fastest).Open();
                w.Write(bytes);
            }
        }
        after?.Invoke(target);
        return path;
    }

    private static void AddZeros(ZipArchive zip, string name, int bytes)
    {
        using var w = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
        var zeros = new byte[1 << 20];
        for (int written = 0; written < bytes; written += zeros.Length) w.Write(zeros, 0, Math.Min(zeros.Length, bytes - written));
    }

    private static CliResult Refused(string verb, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var r = Vit.Run(args);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, verb);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        return r;
    }

    private static (byte[] Model, string Hash) Graph(string zip)
    {
        using var file = File.OpenRead(zip);
        var (model, chain) = ModelZipLayout.ReadGraph(file, zip);
        return (model, chain!);
    }

    private static byte[] WithPrefix(byte[] model)
    {
        var entry = new byte[model.Length + 4];
        BinaryPrimitives.WriteInt32LittleEndian(entry, model.Length);
        model.CopyTo(entry, 4);
        return entry;
    }

    [Fact]
    public void AHugeExtraEntryIsRefusedFromItsDeclaredSizeByEveryCommand()
    {
        // 48 MiB of zeros deflate to ~50 KB; nothing reads them: the declared size is over the limit for a chain entry.
        string path = Rewrite("huge-extra.zip", (n, b) => [(n, b)], after: zip => AddZeros(zip, "TransformerChain/Transform_001/Zeros", 48 << 20));
        foreach (var args in new[] { new[] { "info", path }, new[] { "export-onnx", path, f.NewPath("x.onnx") }, new[] { "predict", path, f.Train.Rows[0].ImagePath }, new[] { "evaluate", path, "--data", f.Test.Root } })
            Assert.Contains("declares", Refused(args[0], args).Err);
        Assert.Throws<InvalidDataException>(() => VisionTransformerModelZip.Inspect(path));
        Assert.Throws<InvalidDataException>(() => ModelZipFile.ReadFromZip(path));
    }

    [Fact]
    public void AnEntryOutsideMlNetsLayoutAndAThousandEntriesAreRefused()
    {
        string extra = Rewrite("extra.zip", (n, b) => [(n, b)], after: zip => zip.CreateEntry("notes/readme.txt"));
        Assert.Contains("unexpected zip entry 'notes/readme.txt'", Refused("info", "info", extra).Err);
        string many = Rewrite("many.zip", (n, b) => [(n, b)], after: zip =>
        {
            for (int i = 0; i < 1000; i++) zip.CreateEntry($"TransformerChain/Transform_001/Extra{i}/Model.key");
        });
        Assert.Matches(@"has 10\d\d zip entries; a model zip has at most 256", Refused("info", "info", many).Err);
    }

    [Fact]
    public void ADuplicatedEntryAndASecondGraphListedFirstAreRefused()
    {
        string twice = Rewrite("twice.zip", (n, b) => n.EndsWith("/OnnxModel", StringComparison.Ordinal) ? [(n, b), (n, b)] : [(n, b)]);
        Assert.Contains("twice", Refused("info", "info", twice).Err);
        var (model, _) = Graph(f.Model);
        string first = Rewrite("first.zip", (n, b) => [(n, b)], before: zip =>
        {
            using var w = zip.CreateEntry("TransformerChain/Transform_000/Transform_009/OnnxModel").Open();
            w.Write(WithPrefix(model));
        });
        foreach (var verb in new[] { "info", "export-onnx" })
        {
            var args = verb == "info" ? new[] { "info", first } : new[] { "export-onnx", first, f.NewPath("y.onnx") };
            Assert.Contains("2 ONNX graphs", Refused(verb, args).Err);
        }
    }

    [Fact]
    public void ATamperedConstantIsRefusedByTheHashRecordedAtSave()
    {
        var (model, _) = Graph(f.Model);
        var proto = ModelProto.Parser.ParseFrom(model);
        var bias = proto.Graph.Initializer.First(t => t.Name == "head.bias");
        var raw = bias.RawData.ToByteArray();
        raw[0] ^= 0x40;
        bias.RawData = ByteString.CopyFrom(raw);
        byte[] tampered = proto.ToByteArray();
        string path = Rewrite("tampered.zip", (n, b) => n.EndsWith("/OnnxModel", StringComparison.Ordinal) ? [(n, WithPrefix(tampered))] : [(n, b)]);
        foreach (var args in new[] { new[] { "info", path }, new[] { "evaluate", path, "--data", f.Test.Root }, new[] { "predict", path, f.Train.Rows[0].ImagePath } })
            Assert.Contains("was altered", Refused(args[0], args).Err);
        var e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(tampered));
        Assert.Contains("altered", e.Message);
    }

    [Fact]
    public void AGraphSwappedForAnotherVitMlNetGraphOfTheSameShapesIsRefused()
    {
        var onnx = ModelZipFile.ReadFromZip(f.Model);
        var other = onnx.Weights.ToDictionary(w => w.Key, w => new TensorData(w.Value.Data.Select(v => v * 0.5f).ToArray(), w.Value.Shape));
        var (model, _) = Graph(f.Model);
        var original = ModelProto.Parser.ParseFrom(model);
        var export = ViTOnnxMetadata.DeserializeExport(original.MetadataProps.Single(m => m.Key == ModelZipKeys.Export).Value)!;
        byte[] swapped = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(onnx.Config, other, onnx.ClassNames, export));
        Assert.Equal(onnx.Config, ViTOnnxReader.Read(swapped).Config); // on its own, a valid sealed graph
        string path = Rewrite("swapped.zip", (n, b) => n.EndsWith("/OnnxModel", StringComparison.Ordinal) ? [(n, WithPrefix(swapped))] : [(n, b)]);
        foreach (var args in new[] { new[] { "info", path }, new[] { "evaluate", path, "--data", f.Test.Root } })
            Assert.Contains("was replaced", Refused(args[0], args).Err);
    }

    [Fact]
    public void AZipSavedWithoutHashesIsRefusedByTheCommandsAndReadByTheLibrary()
    {
        // The graph without its metadata record, and the chain without its record: a zip as saved before the hash.
        var (model, chain) = Graph(f.Model);
        var proto = ModelProto.Parser.ParseFrom(model);
        proto.MetadataProps.Remove(proto.MetadataProps.Single(m => m.Key == ModelZipKeys.Hash));
        byte[] unsealed = proto.ToByteArray();
        string path = Rewrite("unsealed.zip", (n, b) =>
        {
            if (n.EndsWith("/OnnxModel", StringComparison.Ordinal)) return [(n, WithPrefix(unsealed))];
            // Same-length stand-in for the chain's record: the name no longer carries a hash.
            var text = System.Text.Encoding.UTF8.GetString(b);
            return [(n, text.Contains(ModelZipLayout.ChainHashPrefix + chain, StringComparison.Ordinal)
                ? System.Text.Encoding.UTF8.GetBytes(text.Replace(ModelZipLayout.ChainHashPrefix + chain, ModelZipLayout.ChainHashPrefix + new string('x', 64), StringComparison.Ordinal))
                : b)];
        });
        Assert.Contains("records no SHA-256", Refused("info", "info", path).Err);
        Assert.Equal(ModelZipFile.ReadFromZip(f.Model).ClassNames, ModelZipFile.ReadFromZip(path).ClassNames);
        Assert.Equal(3, VisionTransformerModelZip.Inspect(path).ClassNames.Count);
    }

    [Fact]
    public void AGraphWithExternalDataIsRefused()
    {
        var (model, _) = Graph(f.Model);
        var proto = ModelProto.Parser.ParseFrom(model);
        var t = proto.Graph.Initializer.First(i => i.Name == "head.bias");
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "/etc/passwd" });
        ViTOnnxMetadata.Seal(proto);
        var e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(proto.ToByteArray()));
        Assert.Contains("external data", e.Message);
    }

    [Fact]
    public void SpecialFilesAreRefusedWithoutReadingThem()
    {
        if (OperatingSystem.IsWindows()) return;
        string zero = f.NewPath("zero.zip");
        File.CreateSymbolicLink(zero, "/dev/zero");
        Assert.Contains("character device", Refused("info", "info", zero).Err);
        string fifo = f.NewPath("fifo.zip");
        using (var mk = Process.Start("mkfifo", fifo)) mk.WaitForExit();
        Assert.Contains("FIFO", Refused("info", "info", fifo).Err);
    }

    [Fact]
    public void ReadingAZipLeavesNoCopyOfItsGraphAndTheCopiesAreOwnerOnly()
    {
        string folder = PrivateTemp.Folder;
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        // Other tests of this process may be loading models right now (and the fixture's training holds its own copy):
        // only new files as large as this graph count.
        long graphBytes = Graph(f.Model).Model.Length;
        List<string> Copies() => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(p => new FileInfo(p).Length == graphBytes).ToList();
        var before = Copies();
        foreach (var args in new[] { new[] { "info", f.Model }, new[] { "predict", f.Model, f.Train.Rows[0].ImagePath }, new[] { "evaluate", f.Model, "--data", f.Test.Root } })
        {
            var r = Vit.Run(args);
            Assert.True(r.Code == 0, r.ToString());
            var left = Copies().Except(before).ToList();
            Assert.True(left.Count == 0, $"{args[0]} left {string.Join(", ", left)}");
        }
    }

    [Fact]
    public void StaleTemporaryFilesOfDeadProcessesAreCleanedAtTheNextSave()
    {
        string folder = Robust.TempFolder("stale");
        int dead;
        using (var child = Process.Start("true")!)
        {
            child.WaitForExit();
            dead = child.Id;
        }
        string stale = Path.Combine(folder, $".m.zip.{dead}-{Guid.NewGuid():N}.vit-tmp");
        string live = Path.Combine(folder, $".m.zip.{Environment.ProcessId}-{Guid.NewGuid():N}.vit-tmp");
        File.WriteAllText(stale, "half a model");
        File.WriteAllText(live, "being written");
        AtomicFile.WriteAllText(Path.Combine(folder, "other.txt"), "saved");
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));

        string root = Robust.TempFolder("stale-root");
        string staleFolder = Path.Combine(root, $"vitmlnet-{dead}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(staleFolder, "ml_dotnet_abc"));
        File.WriteAllText(Path.Combine(staleFolder, "ml_dotnet_abc", "graph"), "copy");
        string lockedFolder = Path.Combine(root, $"vitmlnet-{dead}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(lockedFolder);
        using (new FileStream(Path.Combine(lockedFolder, ".lock"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            Assert.Equal(1, PrivateTemp.CleanStale(root));
        }
        Assert.False(Directory.Exists(staleFolder));
        Assert.True(Directory.Exists(lockedFolder));
    }
}
