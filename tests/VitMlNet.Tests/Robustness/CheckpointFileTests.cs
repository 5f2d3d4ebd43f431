using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>
/// Checkpoint files crafted to exhaust memory or crash the reader (a stride-0 tensor of 4 Gi values, a storage bomb,
/// malformed safetensors headers, a refused pickle, absurd Hugging Face configs, a config linked to /dev/zero): each
/// is one line naming the file and the problem, exit 2, in little memory. And what an import assumes is announced.
/// </summary>
public sealed class CheckpointFileTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "checkpoints");
    private readonly string dir = Robust.TempFolder("ckpt");

    public void Dispose()
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static CliResult Refused(params string[] args)
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetTotalAllocatedBytes(precise: false);
        var r = Vit.Run(args);
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, args[0]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        // Allocations of the whole process while it ran (other tests included): far below the gigabytes the files declare.
        Assert.True(GC.GetTotalAllocatedBytes(precise: false) - before < 1L << 30, "allocated over 1 GiB");
        return r;
    }

    // ---- a hand-written torch.save file: archive/data.pkl (pickle protocol 2) and archive/data/0 ----

    private static void Text(List<byte> p, byte op, string s)
    {
        p.Add(op);
        var b = Encoding.UTF8.GetBytes(s);
        p.AddRange(BitConverter.GetBytes(b.Length));
        p.AddRange(b);
    }

    private static void Long(List<byte> p, long v)
    {
        p.Add(0x8a); // LONG1
        p.Add(8);
        p.AddRange(BitConverter.GetBytes(v));
    }

    /// <summary>{'w': _rebuild_tensor_v2(storage('0', numel), offset, size, stride, False, {})}, optionally with an extra global.</summary>
    private static byte[] Pickle(long numel, long offset, long[] size, long[] stride, string? global = null)
    {
        var p = new List<byte> { 0x80, 0x02, (byte)'}' };
        Text(p, (byte)'X', "w");
        if (global is not null)
        {
            p.AddRange(Encoding.ASCII.GetBytes($"c{global}\n"));
            p.Add((byte)'(');
            Text(p, (byte)'X', "echo pwned");
            p.AddRange("tR"u8.ToArray());
        }
        else
        {
            p.AddRange("ctorch._utils\n_rebuild_tensor_v2\n("u8.ToArray());
            p.Add((byte)'(');
            Text(p, (byte)'X', "storage");
            p.AddRange("ctorch\nFloatStorage\n"u8.ToArray());
            Text(p, (byte)'X', "0");
            Text(p, (byte)'X', "cpu");
            Long(p, numel);
            p.AddRange("tQ"u8.ToArray());
            Long(p, offset);
            p.Add((byte)'(');
            foreach (var d in size) Long(p, d);
            p.Add((byte)'t');
            p.Add((byte)'(');
            foreach (var d in stride) Long(p, d);
            p.Add((byte)'t');
            p.Add(0x89); // NEWFALSE
            p.Add((byte)'}');
            p.AddRange("tR"u8.ToArray());
        }
        p.AddRange("s."u8.ToArray());
        return p.ToArray();
    }

    private string TorchFile(string name, byte[] pickle, Action<ZipArchive> storages)
    {
        string path = Path.Combine(dir, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var w = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) w.Write(pickle);
        storages(zip);
        return path;
    }

    [Fact]
    public void AStrideZeroTensorOfFourGigaValuesIsRefused()
    {
        string path = TorchFile("stride0.pt", Pickle(1, 0, [1L << 32], [0]), zip =>
        {
            using var w = zip.CreateEntry("archive/data/0", CompressionLevel.NoCompression).Open();
            w.Write(new byte[4]);
        });
        Assert.True(new FileInfo(path).Length < 1024);
        var r = Refused("info", path);
        Assert.Contains(path, r.Err);
        Assert.Contains("more elements than its storage", r.Err);
    }

    [Fact]
    public void AStorageBombIsRefusedBeforeItIsInflated()
    {
        const int numel = 16 << 20; // 64 MiB of zeros, about 64 KB deflated
        string path = TorchFile("bomb.pt", Pickle(numel, 0, [numel], [1]), zip =>
        {
            using var w = zip.CreateEntry("archive/data/0", CompressionLevel.Optimal).Open();
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) w.Write(zeros);
        });
        var r = Refused("info", path);
        Assert.Contains("zip bomb", r.Err);
    }

    [Fact]
    public void AStorageSmallerThanItsDeclaredCountAndATensorPastItsStorageAreRefused()
    {
        string shortStorage = TorchFile("short.pt", Pickle(1000, 0, [1000], [1]), zip =>
        {
            using var w = zip.CreateEntry("archive/data/0").Open();
            w.Write(new byte[16]);
        });
        Assert.Contains("declares 1000 F32 values but its zip entry holds 16 bytes", Refused("info", shortStorage).Err);
        string past = TorchFile("past.pt", Pickle(4, 3, [2], [1]), zip =>
        {
            using var w = zip.CreateEntry("archive/data/0").Open();
            w.Write(new byte[16]);
        });
        Assert.Contains("reaches past its storage", Refused("info", past).Err);
    }

    [Fact]
    public void APickleRazorvineRefusesIsOneLineNamingTheFile()
    {
        string path = TorchFile("evil.pt", Pickle(0, 0, [], [], global: "os\nsystem"), _ => { });
        var r = Refused("info", path);
        Assert.Contains($"'{path}': its pickle", r.Err);
    }

    // ---- safetensors ----

    private string Safetensors(string name, string header, int dataBytes)
    {
        string path = Path.Combine(dir, name);
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", "shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,9223372036854775807]}}", "data offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[32,48]}}", "data offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "twice")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", "data offsets")]
    [InlineData("{\"a\":{\"dtype\":7,\"shape\":[4],\"data_offsets\":[0,16]}}", "no dtype")]
    public void AMalformedSafetensorsHeaderIsOneLineNamingTheFile(string header, string problem)
    {
        string path = Safetensors($"bad-{Guid.NewGuid():N}.safetensors", header, 16);
        var r = Refused("info", path);
        Assert.Contains($"'{path}'", r.Err);
        Assert.Contains(problem, r.Err);
    }

    // ---- Hugging Face folders ----

    private string HfFolder(string? config, string? preprocessor = null)
    {
        string folder = Path.Combine(dir, "hf-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(Fixtures, "hf_vit", "pytorch_model.bin"), Path.Combine(folder, "pytorch_model.bin"));
        var original = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "hf_vit", "config.json")))!.AsObject();
        if (config is not null)
        {
            var edit = System.Text.Json.Nodes.JsonNode.Parse(config)!.AsObject();
            foreach (var (k, v) in edit) original[k] = v?.DeepClone();
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), original.ToJsonString());
        if (preprocessor is not null) File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"), preprocessor);
        return folder;
    }

    [Theory]
    [InlineData("{\"layer_norm_eps\": 1e30}", null, "layer_norm_eps")]
    [InlineData("{\"num_attention_heads\": \"four\"}", null, "num_attention_heads")]
    [InlineData("{\"num_attention_heads\": 5}", null, "does not divide")]
    [InlineData("{\"hidden_size\": 999}", null, "hidden_size is 999")]
    [InlineData(null, "{\"image_mean\": \"half\", \"image_std\": [0.5, 0.5, 0.5]}", "image_mean")]
    [InlineData(null, "{\"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0, 0, 0]}", "image_std")]
    [InlineData(null, "[1, 2", "not valid JSON")]
    public void AMalformedOrAbsurdHuggingFaceConfigIsAnError(string? config, string? preprocessor, string problem)
    {
        string folder = HfFolder(config, preprocessor);
        var r = Refused("info", folder);
        Assert.Contains(problem, r.Err);
        Assert.Contains(folder, r.Err);
    }

    [Fact]
    public void AConfigLinkedToDevZeroIsRefusedAtOnce()
    {
        if (OperatingSystem.IsWindows()) return;
        string folder = HfFolder(null);
        File.Delete(Path.Combine(folder, "config.json"));
        File.CreateSymbolicLink(Path.Combine(folder, "config.json"), "/dev/zero");
        Assert.Contains("character device", Refused("info", folder).Err);
    }

    // ---- assumptions ----

    /// <summary>A timm-named safetensors file of a 64-wide ViT with 4 heads of 16, without metadata: like torchvision's
    /// state dicts, nothing in it records the head count.</summary>
    private string UnrecordedHeads()
    {
        var config = new VitMlNet.Modeling.ViTConfig
        {
            Name = "four-heads", Channels = 3, PatchSize = 8, Dim = 64, Depth = 1, Heads = 4, DimHead = 16, MlpRatio = 2,
            Dropout = 0, EmbeddingDropout = 0, DropPathRate = 0, Stem = VitMlNet.Modeling.ViTStem.PatchConv, QkvBias = true, FinalNorm = true,
            LayerNormEpsilon = 1e-6, TokenInitStd = 0.02, Pooling = VitMlNet.Modeling.ViTPooling.Cls, ImageHeight = 32, ImageWidth = 32, NumClasses = 3,
        };
        var random = new Random(3);
        var tensors = ViTParameterLayout.For(config).Select(p => (
            ViTParameterLayout.VitMlNetToTimm(p.Name)!,
            Enumerable.Range(0, (int)ViTParameterLayout.Numel(p.Shape)).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray(),
            p.Shape));
        string path = Path.Combine(dir, "four-heads.safetensors");
        SafetensorsFile.Write(path, tensors);
        return path;
    }

    [Fact]
    public void AnUnrecordedHeadCountAndMeanAreAnnouncedWithTheFlagsThatOverrideThem()
    {
        string path = UnrecordedHeads();
        var checkpoint = ViTCheckpoint.Load(path);
        Assert.Equal(1, checkpoint.Config.Heads); // the 64-wide rule, not the 4 it was trained with
        Assert.Contains(checkpoint.Assumptions, a => a.Setting == "heads" && a.Override.Contains("--heads"));
        Assert.Contains(checkpoint.Assumptions, a => a.Setting == "mean" && a.Override.Contains("--mean"));
        Assert.Contains(checkpoint.Assumptions, a => a.Setting == "image size");

        var info = Vit.Run("info", path);
        Assert.True(info.Code == 0, info.ToString());
        Assert.Contains("heads 1x64 (assumed)", info.Out);
        Assert.Contains("override with --heads N", info.Out);
        Assert.Matches(@"mean \[[^\]]+\] \(assumed\)", info.Out);

        var given = Vit.Run("info", path, "--heads", "4", "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5");
        Assert.True(given.Code == 0, given.ToString());
        Assert.Contains("heads 4x16,", given.Out);
        Assert.DoesNotContain("(assumed)", given.Out.Split('\n').Single(l => l.StartsWith("pixels", StringComparison.Ordinal)));

        var export = Vit.Run("export-onnx", path, Path.Combine(dir, "four.onnx"));
        Assert.True(export.Code == 0, export.ToString());
        Assert.Contains("note: heads 1 (x64) assumed", export.Err);
        Assert.Contains("--heads N", export.Err);
    }

    [Fact]
    public void AHuggingFaceFolderReadsItsHeadsFromConfigJson()
    {
        var checkpoint = ViTCheckpoint.Load(Path.Combine(Fixtures, "hf_vit"));
        Assert.DoesNotContain(checkpoint.Assumptions, a => a.Setting == "heads");
    }
}
