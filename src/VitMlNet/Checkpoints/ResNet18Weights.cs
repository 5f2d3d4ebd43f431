using System.IO.Compression;
using System.Security.Cryptography;
using Onnx;
using VitMlNet.Modeling;

namespace VitMlNet.Checkpoints;

/// <summary>
/// ML.NET's pretrained ImageNet ResNet18 (the ONNX model of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>
/// 0.24.0, the network of ML.NET's <c>DnnFeaturizeImage</c>) as the weights of a <see cref="ViTStem.ResNet18"/> stem: found
/// on this machine or downloaded once from the NuGet feed, read, its BatchNorms folded into its convolutions.
/// </summary>
/// <remarks>
/// The network takes BGR pixels on the 0..255 scale minus a mean image; the stem takes RGB, so conv1's input channels
/// are reversed, and <see cref="Mean"/>/<see cref="Std"/> (the mean image's per-channel means, a std of 1/255) make the
/// model's normalization give exactly pixel − mean on that scale.
/// </remarks>
internal static class ResNet18Weights
{
    /// <summary>The NuGet package that holds the network.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version read.</summary>
    public const string PackageVersion = "0.24.0";

    /// <summary>The network's path inside the package.</summary>
    public const string EntryPath = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    /// <summary>SHA-256 of that file (63,653,533 bytes).</summary>
    public const string Sha256 = "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f";

    /// <summary>Environment variable naming the ResNet18.onnx file to use (before any search).</summary>
    public const string PathVariable = "VITMLNET_RESNET18_ONNX";

    /// <summary>Environment variable with the NuGet v3 flat-container base address to download from (default nuget.org's).</summary>
    public const string FeedVariable = "VITMLNET_NUGET_FLATCONTAINER";

    private const string NuGetOrgFlatContainer = "https://api.nuget.org/v3-flatcontainer/";

    /// <summary>Per-channel mean (R, G, B) of the network's mean image, as a fraction of 255.</summary>
    public static ChannelValues Mean { get; } = [123.15163f / 255f, 115.902885f / 255f, 103.06262f / 255f];

    /// <summary>1/255 per channel: the network reads pixels on the 0..255 scale.</summary>
    public static ChannelValues Std { get; } = [1f / 255f, 1f / 255f, 1f / 255f];

    /// <summary>
    /// The ResNet18.onnx to read: <paramref name="path"/> when given; else the file named by <see cref="PathVariable"/>;
    /// else the package in the NuGet global packages folder (<c>NUGET_PACKAGES</c> or ~/.nuget/packages), beside the
    /// application (an app that references the package gets <c>DnnImageModels/</c> copied to its output), or in VitMlNet's
    /// cache (<c>$XDG_CACHE_HOME/vitmlnet</c> or ~/.cache/vitmlnet); else downloads the package once (about 60 MB) from
    /// the NuGet feed into that cache, saying so through <paramref name="log"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">A given path does not exist.</exception>
    /// <exception cref="InvalidDataException">The download failed or its file is not the expected one.</exception>
    public static string Locate(string? path, Action<string>? log)
    {
        if (path is not null) return Existing(path, "ResNet18Path");
        if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } fromEnv) return Existing(fromEnv, PathVariable);
        foreach (var candidate in Candidates())
            if (File.Exists(candidate)) return candidate;
        return Download(CachePath(), Environment.GetEnvironmentVariable(FeedVariable) ?? NuGetOrgFlatContainer, Sha256, log);
    }

    private static string Existing(string path, string what) => File.Exists(path) ? Path.GetFullPath(path)
        : throw new FileNotFoundException($"{what} '{path}' does not exist; expected the ResNet18.onnx of the NuGet package {PackageId} {PackageVersion}.", path);

    /// <summary>Where an installed copy may be, in search order (the NuGet global packages folder, the app folder, the cache).</summary>
    internal static IEnumerable<string> Candidates()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p : Path.Combine(home, ".nuget", "packages");
        yield return Path.Combine(packages, PackageId.ToLowerInvariant(), PackageVersion, EntryPath);
        yield return Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        yield return CachePath();
    }

    /// <summary>VitMlNet's cached copy: <c>$XDG_CACHE_HOME/vitmlnet/resnet18-0.24.0/ResNet18.onnx</c> (or under ~/.cache).</summary>
    internal static string CachePath()
    {
        string root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "vitmlnet", $"resnet18-{PackageVersion}", "ResNet18.onnx");
    }

    /// <summary>
    /// Downloads the package from a NuGet v3 flat container, checks the network's SHA-256 and writes it atomically to
    /// <paramref name="destination"/>.
    /// </summary>
    internal static string Download(string destination, string flatContainer, string sha256, Action<string>? log)
    {
        string id = PackageId.ToLowerInvariant();
        var address = new Uri(new Uri(flatContainer.EndsWith('/') ? flatContainer : flatContainer + "/"), $"{id}/{PackageVersion}/{id}.{PackageVersion}.nupkg");
        (log ?? Console.Error.WriteLine)($"Downloading ML.NET's pretrained ResNet18 ({PackageId} {PackageVersion}, about 60 MB) once from {address.Host} to {destination}");
        string package = destination + ".nupkg.part";
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        try
        {
            using (var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) })
            using (var response = http.GetAsync(address, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult())
            {
                if (!response.IsSuccessStatusCode)
                    throw new InvalidDataException($"Downloading {address} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
                using var body = response.Content.ReadAsStream();
                using var file = File.Create(package);
                body.CopyTo(file);
            }
            using var zip = ZipFile.OpenRead(package);
            var entry = zip.GetEntry(EntryPath) ?? throw new InvalidDataException($"The package from {address} has no '{EntryPath}'.");
            IO.AtomicFile.Write(destination, stream =>
            {
                using var source = entry.Open();
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                for (int n; (n = source.Read(buffer)) > 0;)
                {
                    hash.AppendData(buffer, 0, n);
                    stream.Write(buffer, 0, n);
                }
                string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"'{EntryPath}' from {address} has SHA-256 {actual}, expected {sha256}.");
            });
            return destination;
        }
        catch (HttpRequestException e)
        {
            throw new InvalidDataException($"Downloading {address} failed ({e.Message}); set {PathVariable} to a ResNet18.onnx of {PackageId} {PackageVersion}, or reference that package.", e);
        }
        finally
        {
            File.Delete(package);
        }
    }

    /// <summary>
    /// The stem's backbone weights of <paramref name="config"/> (see <see cref="ResNetStem.Layout"/>) read from the network
    /// at <paramref name="onnxPath"/>: each convolution with its BatchNorm folded in (w·γ/√(σ²+ε), β − μ·γ/√(σ²+ε)),
    /// conv1 taking RGB. Convolutions are matched in graph order and checked against the layout.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not the expected ResNet18.</exception>
    public static Dictionary<string, TensorData> Read(string onnxPath, ViTConfig config)
    {
        ModelProto model;
        using (var stream = File.OpenRead(onnxPath))
        {
            try { model = ModelProto.Parser.ParseFrom(stream); }
            catch (Google.Protobuf.InvalidProtocolBufferException e) { throw new InvalidDataException($"'{onnxPath}' is not an ONNX model: {e.Message}", e); }
        }
        try
        {
            return FoldedConvolutions(model.Graph, config);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{onnxPath}' is not ML.NET's ResNet18: {e.Message}", e);
        }
    }

    /// <summary>The convolutions of <see cref="ResNetStem.Layout"/> from the network's graph, BatchNorms folded in.</summary>
    private static Dictionary<string, TensorData> FoldedConvolutions(GraphProto graph, ViTConfig config)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        var layout = ResNetStem.Layout(config);
        int whole = ResNetStem.Layout(config with { PatchSize = 32, StemSkipLastBlocks = 0 }).Count;
        if (convs.Count != whole)
            throw new InvalidDataException($"it has {convs.Count} convolutions, expected {whole}");
        var weights = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        for (int i = 0; i < layout.Count; i++)
        {
            var (name, inChannels, outChannels, kernel, stride) = layout[i];
            var conv = convs[i];
            long[] shape = [outChannels, inChannels, kernel, kernel];
            var w = Floats(initializers, conv.Input[1], shape);
            int convStride = (int)(conv.Attribute.FirstOrDefault(a => a.Name == "strides")?.Ints.FirstOrDefault() ?? 1);
            if (convStride != stride)
                throw new InvalidDataException($"convolution {i} ({conv.Name}) has stride {convStride}, expected {stride} for {name}");
            var bn = graph.Node.FirstOrDefault(n => n.OpType == "BatchNormalization" && n.Input[0] == conv.Output[0])
                ?? throw new InvalidDataException($"convolution {i} ({conv.Name}) is not followed by a BatchNormalization, as expected");
            float eps = bn.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
            long[] channel = [outChannels];
            var (gamma, beta, mean, variance) = (Floats(initializers, bn.Input[1], channel), Floats(initializers, bn.Input[2], channel),
                Floats(initializers, bn.Input[3], channel), Floats(initializers, bn.Input[4], channel));
            int perFilter = inChannels * kernel * kernel;
            var bias = new float[outChannels];
            for (int o = 0; o < outChannels; o++)
            {
                double scale = gamma[o] / Math.Sqrt(variance[o] + (double)eps);
                for (int k = 0; k < perFilter; k++) w[o * perFilter + k] = (float)(w[o * perFilter + k] * scale);
                bias[o] = (float)(beta[o] - mean[o] * scale);
            }
            if (i == 0) w = ReverseInputChannels(w, outChannels, inChannels, kernel * kernel);
            weights[$"{name}.weight"] = new(w, shape);
            weights[$"{name}.bias"] = new(bias, channel);
        }
        return weights;
    }

    /// <summary>Copies the pretrained backbone of <paramref name="onnxPath"/> into <paramref name="model"/>'s ResNet18 stem.</summary>
    public static void LoadInto(VisionTransformer model, string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = Read(onnxPath, model.Config);
        using var noGrad = TorchSharp.torch.no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!weights.TryGetValue(name, out var w)) continue;
            using var source = TorchSharp.torch.tensor(w.Data, w.Shape);
            parameter.copy_(source);
            weights.Remove(name);
        }
        if (weights.Count > 0) throw new InvalidOperationException($"The model has no parameter '{weights.Keys.First()}' of its ResNet18 stem.");
    }

    /// <summary>Reverses the input-channel axis of a [out, in, k·k] filter bank (BGR ↔ RGB).</summary>
    private static float[] ReverseInputChannels(float[] w, int outChannels, int inChannels, int area)
    {
        var r = new float[w.Length];
        for (int o = 0; o < outChannels; o++)
            for (int c = 0; c < inChannels; c++)
                Array.Copy(w, (o * inChannels + c) * area, r, (o * inChannels + (inChannels - 1 - c)) * area, area);
        return r;
    }

    private static float[] Floats(Dictionary<string, TensorProto> initializers, string name, long[] shape) =>
        Onnx.ViTOnnxReader.ReadFloats(initializers.TryGetValue(name, out var t) ? t : throw new InvalidDataException($"no initializer '{name}'"), shape);
}
