using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using VitMlNet.Scoring;
using static TorchSharp.torch;

namespace VitMlNet.Checkpoints;

/// <summary>
/// A pretrained Vision Transformer read from a timm, Hugging Face transformers or torchvision checkpoint
/// (<c>.safetensors</c>, or a <c>torch.save</c> state dict: <c>.pt</c>, <c>.pth</c>, <c>.bin</c>; or a Hugging Face model
/// folder), as VitMlNet's configuration and weights; and the way back, <see cref="SaveTimmSafetensors(VisionTransformer, string, IReadOnlyList{string}?)"/>.
/// </summary>
/// <remarks>
/// The architecture comes from the tensors (width, depth, patch size, channels, MLP ratio, qkv bias, final norm,
/// distillation token, classes, grid), the heads from <see cref="CheckpointImportOptions.Heads"/> or the rules
/// there, the LayerNorm epsilon and mean/std from the family. A tensor the architecture lacks, or one it needs that the
/// file lacks, is an error that names it.
/// </remarks>
public sealed partial class ViTCheckpoint
{
    /// <summary>Metadata key of the VitMlNet configuration in an exported safetensors file.</summary>
    public const string ConfigMetadataKey = ModelZipKeys.Config;

    /// <summary>Metadata key of the class names in an exported safetensors file.</summary>
    public const string ClassesMetadataKey = ModelZipKeys.Classes;

    private ViTCheckpoint(ViTConfig config, Dictionary<string, TensorData> weights, CheckpointFamily family, IReadOnlyList<string> classNames, string path,
        IReadOnlyList<CheckpointAssumption> assumptions)
    {
        Assumptions = assumptions;
        Config = config;
        Weights = weights;
        Family = family;
        ClassNames = classNames;
        SourcePath = path;
    }

    /// <summary>The architecture (a <see cref="ViTStem.PatchConv"/> ViT), with the family's mean/std and LayerNorm epsilon.</summary>
    public ViTConfig Config { get; }

    /// <summary>The weights by VitMlNet state-dict name, complete for <see cref="Config"/>.</summary>
    public IReadOnlyDictionary<string, TensorData> Weights { get; }

    /// <summary>The naming scheme the file used.</summary>
    internal CheckpointFamily Family { get; }

    /// <summary>Class names: Hugging Face's <c>id2label</c>, an exported file's metadata, or "0", "1", ...</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The file the weights came from.</summary>
    public string SourcePath { get; }

    /// <summary>
    /// What the import inferred instead of reading it (e.g. the head count of a torchvision state dict, which never
    /// records it), each with the option that overrides it; empty when the checkpoint (or its folder's
    /// <c>config.json</c>, or the options) gave everything.
    /// </summary>
    public IReadOnlyList<CheckpointAssumption> Assumptions { get; }

    /// <summary>Whether <paramref name="path"/> names a checkpoint this class reads (by extension, or a folder holding <c>model.safetensors</c> or <c>pytorch_model.bin</c>), rather than a VitMlNet zip or ONNX file.</summary>
    public static bool IsCheckpointPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) return ResolveFile(path) is not null;
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".safetensors" or ".pt" or ".pth" or ".bin" or ".ckpt";
    }

    /// <summary>Reads a checkpoint.</summary>
    /// <param name="path">A <c>.safetensors</c> or <c>torch.save</c> file, or a Hugging Face model folder.</param>
    /// <param name="options">Heads, input size, class count, mean/std; null for what the checkpoint says.</param>
    /// <returns>The configuration and the weights.</returns>
    /// <exception cref="InvalidDataException">The file is unreadable, or its tensors are not a Vision Transformer (each problem named).</exception>
    public static ViTCheckpoint Load(string path, CheckpointImportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new CheckpointImportOptions();
        string file = Directory.Exists(path)
            ? ResolveFile(path) ?? throw new FileNotFoundException($"'{path}' holds no model.safetensors or pytorch_model.bin.")
            : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"Checkpoint '{file}' not found.", file);

        Dictionary<string, TensorData> raw;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (SafetensorsFile.Looks(file)) (raw, metadata) = SafetensorsFile.Read(file);
        else if (TorchStateDictFile.Looks(file)) raw = TorchStateDictFile.Read(file);
        else throw new InvalidDataException($"'{file}' is neither a safetensors file nor a zip-format torch.save state dict.");

        var family = options.Family ?? CheckpointNames.Detect(raw.Keys)
            ?? throw new InvalidDataException($"'{file}' has no tensor names of a timm, Hugging Face or torchvision ViT (first names: {string.Join(", ", raw.Keys.Take(5))}).");
        var timm = CheckpointNames.ToTimm(family, raw);
        string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        string hfPath = Path.Combine(folder, "config.json"), preprocessorPath = Path.Combine(folder, "preprocessor_config.json");
        var hf = ReadJson(hfPath);
        var preprocessor = ReadJson(preprocessorPath);
        ViTConfig? stored = metadata.TryGetValue(ConfigMetadataKey, out var json) ? ViTOnnxMetadata.DeserializeConfig(json) : null;
        // timm's hub folders carry config.json with pretrained_cfg.mean/std (0.5 for the augreg ViTs, ImageNet's for DeiT).
        if (family == CheckpointFamily.Timm && hf?["pretrained_cfg"] is JsonObject timmCfg)
        {
            preprocessor = new JsonObject { ["image_mean"] = timmCfg["mean"]?.DeepClone(), ["image_std"] = timmCfg["std"]?.DeepClone() };
            preprocessorPath = hfPath + " (pretrained_cfg)";
        }
        else if (family != CheckpointFamily.HuggingFace)
        {
            preprocessor = null;
        }
        if (family != CheckpointFamily.HuggingFace) hf = null;

        var assumptions = new List<CheckpointAssumption>();
        var config = InferConfig(file, family, timm, options, new HfConfig(hf, hfPath), new HfConfig(preprocessor, preprocessorPath), stored, assumptions);

        // timm names → VitMlNet names; anything unknown is reported.
        var errors = new List<string>();
        var weights = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var (name, value) in timm)
        {
            if (ViTParameterLayout.TimmToVitMlNet(name) is { } ours) weights[ours] = value;
            else errors.Add($"unexpected '{name}'");
        }
        int checkpointClasses = config.NumClasses;
        bool newHead = options.NumClasses is { } k && (k != checkpointClasses || !weights.ContainsKey("head.weight"));
        if (newHead)
        {
            config = config with { NumClasses = options.NumClasses!.Value };
            foreach (var head in new[] { "head", "head_dist" })
            {
                weights.Remove(head + ".weight");
                weights.Remove(head + ".bias");
            }
            var random = new Random(options.Seed);
            AddFreshLinear(weights, "head", config.NumClasses, config.Dim, random);
            if (config.DistillationToken) AddFreshLinear(weights, "head_dist", config.NumClasses, config.Dim, random);
        }
        // Another image size: resample the grid of position embeddings.
        if (weights.TryGetValue("pos", out var pos) && pos.Shape.Length == 3 && pos.Shape[1] != config.NumPatches + config.NumPrefixTokens)
        {
            var (gh, gw) = SourceGrid(file, pos.Shape[1] - config.NumPrefixTokens, hf is null ? null : new HfConfig(hf, hfPath).Int("image_size", 1, 65536), config.PatchSize);
            weights["pos"] = ResamplePositionEmbedding(pos, config.NumPrefixTokens, gh, gw, config.ImageHeight / config.PatchSize, config.ImageWidth / config.PatchSize);
        }
        foreach (var problem in ViTParameterLayout.Check(config, weights))
            errors.Add(TimmNames().Replace(problem, m => $"'{ViTParameterLayout.VitMlNetToTimm(m.Groups[1].Value) ?? m.Groups[1].Value}'"));
        if (errors.Count > 0)
            throw new InvalidDataException($"'{file}' ({family} names, shown as timm's) does not fit a {config.Depth}-block ViT of width {config.Dim}: {string.Join("; ", errors)}.");

        IReadOnlyList<string> classes = Enumerable.Range(0, config.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (!newHead)
        {
            if (metadata.TryGetValue(ClassesMetadataKey, out var classesJson) && ViTOnnxMetadata.DeserializeClasses(classesJson) is { } names && names.Length == config.NumClasses)
                classes = names;
            else if (hf?["id2label"] is JsonObject labels && labels.Count == config.NumClasses)
                classes = Enumerable.Range(0, config.NumClasses).Select(i => labels[i.ToString(CultureInfo.InvariantCulture)]?.ToString() ?? i.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        return new ViTCheckpoint(config, weights, family, classes, file, assumptions);
    }

    /// <summary>Builds the TorchSharp model with these weights (training mode, like any new module).</summary>
    /// <returns>The model.</returns>
    internal VisionTransformer CreateModel() => VisionTransformerWeights.CreateModel(Config, Weights);

    /// <summary>
    /// Saves a standard ViT's weights as safetensors with timm's names (<c>blocks.0.attn.qkv.weight</c>, ...), loadable in
    /// Python by <c>timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=path))</c> or
    /// <c>load_state_dict(safetensors.torch.load_file(path))</c>. The header's metadata carries the VitMlNet configuration
    /// and class names, so <see cref="Load"/> reads the file back exactly.
    /// </summary>
    /// <param name="model">A model with the standard ViT layout (<see cref="ViTStem.PatchConv"/>, class-token pooling, no VitMlNet-only options).</param>
    /// <param name="path">The file to write (replaced atomically).</param>
    /// <param name="classNames">Class names for the metadata, or null.</param>
    /// <exception cref="ArgumentException">The model has options timm's ViT lacks.</exception>
    internal static void SaveTimmSafetensors(VisionTransformer model, string path, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        SaveTimmSafetensors(model.Config, VisionTransformerWeights.Extract(model), path, classNames);
    }

    /// <summary>Saves configuration and weights (VitMlNet names) as timm-named safetensors; see <see cref="SaveTimmSafetensors(VisionTransformer, string, IReadOnlyList{string}?)"/>.</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="weights">The weights by VitMlNet name.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="classNames">Class names for the metadata, or null.</param>
    /// <exception cref="ArgumentException">The configuration has options timm's ViT lacks, or the weights do not fit it.</exception>
    public static void SaveTimmSafetensors(ViTConfig config, IReadOnlyDictionary<string, TensorData> weights, string path, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var unsupported = new List<string>();
        if (config.Stem != ViTStem.PatchConv) unsupported.Add($"stem {config.Stem} (timm's ViT has the convolutional patch embedding, ViTStem.PatchConv)");
        if (config.Pooling != ViTPooling.Cls) unsupported.Add("mean pooling");
        if (config.ConvFeedForward) unsupported.Add("ConvFeedForward");
        if (config.FeedForwardBatchNorm) unsupported.Add("FeedForwardBatchNorm");
        if (config.LocalitySelfAttention) unsupported.Add("LocalitySelfAttention");
        if (config.DimHead * config.Heads != config.Dim) unsupported.Add($"heads × dim_head ({config.Heads} × {config.DimHead}) ≠ dim ({config.Dim})");
        if (unsupported.Count > 0) throw new ArgumentException($"The model '{config.Name}' has no timm equivalent: {string.Join("; ", unsupported)}.", nameof(config));
        var errors = ViTParameterLayout.Check(config, weights);
        if (errors.Count > 0) throw new ArgumentException($"The weights do not fit '{config.Name}': {string.Join("; ", errors)}.", nameof(weights));
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            [ConfigMetadataKey] = ViTOnnxMetadata.SerializeConfig(config),
        };
        if (classNames is not null) metadata[ClassesMetadataKey] = ViTOnnxMetadata.SerializeClasses(classNames);
        var tensors = ViTParameterLayout.For(config)
            .Select(p => (ViTParameterLayout.VitMlNetToTimm(p.Name) ?? throw new ArgumentException($"'{p.Name}' has no timm name."), weights[p.Name].Data, weights[p.Name].Shape));
        SafetensorsFile.Write(path, tensors, metadata);
    }

    private static string? ResolveFile(string folder)
    {
        foreach (var name in new[] { "model.safetensors", "pytorch_model.bin", "model.pt", "model.pth" })
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>A JSON configuration beside the weights, or null when there is none; one that is not a JSON object, too
    /// large, or not a regular file is an error naming it (it is never silently ignored).</summary>
    private static JsonObject? ReadJson(string path)
    {
        if (!File.Exists(path) && IO.SafeFile.SpecialKind(path) is null) return null;
        string text = IO.SafeFile.ReadAllText(path, IO.SafeFile.MaxJsonBytes, "configuration");
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw new InvalidDataException($"'{path}' is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>A Hugging Face / timm JSON configuration with typed, checked reads: a value of the wrong type or out of range is an error naming the file and the key.</summary>
    private sealed record HfConfig(JsonObject? Json, string Path)
    {
        public JsonNode? this[string key] => Json?[key];

        public int? Int(string key, int min, int max)
        {
            if (Json?[key] is not JsonNode node) return null;
            if (node is JsonValue v && v.TryGetValue(out double d) && d == Math.Floor(d) && d >= min && d <= max) return (int)d;
            throw new InvalidDataException($"'{Path}': {key} is {node.ToJsonString()}, expected an integer from {min} to {max}.");
        }

        public double? Double(string key, double min, double max)
        {
            if (Json?[key] is not JsonNode node) return null;
            if (node is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) && d >= min && d <= max) return d;
            throw new InvalidDataException($"'{Path}': {key} is {node.ToJsonString()}, expected a number from {min:G3} to {max:G3}.");
        }

        public float[]? Floats(string key, int channels, double min, double max)
        {
            if (Json?[key] is not JsonNode node) return null;
            if (node is JsonArray a && (a.Count == channels || a.Count == 1 || (channels == 1 && a.Count == 3))
                && a.All(x => x is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) && d >= min && d <= max))
            {
                return a.Select(x => (float)x!.GetValue<double>()).ToArray();
            }
            string shortened = node.ToJsonString();
            if (shortened.Length > 60) shortened = shortened[..60] + "...";
            throw new InvalidDataException($"'{Path}': {key} is {shortened}, expected {channels} numbers from {min:G3} to {max:G3} (one per channel).");
        }
    }

    private static ViTConfig InferConfig(string file, CheckpointFamily family, Dictionary<string, TensorData> t,
        CheckpointImportOptions options, HfConfig hf, HfConfig preprocessor, ViTConfig? stored, List<CheckpointAssumption> assumptions)
    {
        TensorData Need(string name, int rank) =>
            t.TryGetValue(name, out var v) && v.Shape.Length == rank ? v
                : throw new InvalidDataException($"'{file}' ({family}) lacks '{name}' (timm's name) of rank {rank}: cannot infer the architecture.");
        var patch = Need("patch_embed.proj.weight", 4).Shape;
        int dim = (int)patch[0], channels = (int)patch[1], p = (int)patch[2];
        if (patch[3] != p) throw new InvalidDataException($"'{file}': non-square patches {patch[2]}x{patch[3]} are not supported.");
        int depth = t.Keys.Select(k => TimmBlockIndex(k)).Max() + 1;
        if (depth <= 0) throw new InvalidDataException($"'{file}' ({family}) has no encoder blocks.");
        int hidden = (int)Need("blocks.0.mlp.fc1.weight", 2).Shape[0];
        bool distilled = t.ContainsKey("dist_token");
        int prefix = distilled ? 2 : 1;
        long gridTokens = Need("pos_embed", 3).Shape[1] - prefix;

        // A Hugging Face config.json must agree with the tensors and hold sane values: a wrong one is an error, not ignored.
        void Agree(string key, int actual)
        {
            if (hf.Int(key, 1, int.MaxValue) is int stated && stated != actual)
                throw new InvalidDataException($"'{hf.Path}': {key} is {stated}, but the weights have {actual}.");
        }
        Agree("hidden_size", dim);
        Agree("num_hidden_layers", depth);
        Agree("patch_size", p);
        Agree("num_channels", channels);
        Agree("intermediate_size", hidden);
        int? hfImageSize = hf.Int("image_size", 1, 65536);
        int? hfHeads = hf.Int("num_attention_heads", 1, 4096);
        double? hfEpsilon = hf.Double("layer_norm_eps", 1e-12, 1e-2);
        float[]? hfMean = preprocessor.Floats("image_mean", channels, -1, 1);
        float[]? hfStd = preprocessor.Floats("image_std", channels, 1e-3, 10);
        if (hfHeads is int given && dim % given != 0)
            throw new InvalidDataException($"'{hf.Path}': num_attention_heads {given} does not divide hidden_size {dim}.");

        var (gh, gw) = SourceGrid(file, gridTokens, hfImageSize, p);
        if (hfImageSize is null && stored is null && options.ImageHeight is null && options.ImageWidth is null)
        {
            assumptions.Add(new CheckpointAssumption("image size", $"{gh * p}x{gw * p}",
                $"a square grid of the {gridTokens} position embeddings", "a config.json with image_size beside the weights"));
        }
        int? classes = t.TryGetValue("head.weight", out var head) && head.Shape.Length == 2 ? (int)head.Shape[0] : null;
        classes ??= options.NumClasses
            ?? throw new InvalidDataException($"'{file}' has no classifier head ('head.weight'): give the class count to fine-tune with a new head.");

        int? readHeads = options.Heads ?? hfHeads ?? stored?.Heads;
        int heads = readHeads
            ?? (dim == 1280 ? 16 : dim % 64 == 0 ? dim / 64 : throw new InvalidDataException(
                $"'{file}': width {dim} is not a multiple of 64, so the heads cannot be inferred; give them (CheckpointImportOptions.Heads, vit --heads)."));
        if (heads <= 0 || dim % heads != 0) throw new InvalidDataException($"'{file}': {heads} heads do not divide the width {dim}.");
        if (readHeads is null)
        {
            assumptions.Add(new CheckpointAssumption("heads", $"{heads} (x{dim / heads})",
                $"{family} weights do not record the head count; the standard rule is 64-wide heads", "--heads N (CheckpointImportOptions.Heads)"));
        }
        double epsilon = stored?.LayerNormEpsilon ?? (family == CheckpointFamily.HuggingFace ? hfEpsilon : null) ?? (family == CheckpointFamily.HuggingFace ? 1e-12 : 1e-6);
        if (stored is null && !(family == CheckpointFamily.HuggingFace && hfEpsilon is not null))
        {
            assumptions.Add(new CheckpointAssumption("LayerNorm epsilon", epsilon.ToString("G3", CultureInfo.InvariantCulture),
                $"{family}'s default", "layer_norm_eps in a config.json beside the weights"));
        }
        IReadOnlyList<float> mean = options.Mean ?? hfMean ?? stored?.Mean ?? ViTConfig.ImageNetMean;
        IReadOnlyList<float> std = options.Std ?? hfStd ?? stored?.Std ?? ViTConfig.ImageNetStd;
        if (options.Mean is null && hfMean is null && stored is null)
            assumptions.Add(new CheckpointAssumption("mean", $"[{string.Join(", ", mean.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}]", $"ImageNet's, {family}'s usual", "--mean R,G,B (CheckpointImportOptions.Mean)"));
        if (options.Std is null && hfStd is null && stored is null)
            assumptions.Add(new CheckpointAssumption("std", $"[{string.Join(", ", std.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}]", $"ImageNet's, {family}'s usual", "--std R,G,B (CheckpointImportOptions.Std)"));
        if (channels == 1 && mean.Count == 3) mean = [mean.Average()];
        if (channels == 1 && std.Count == 3) std = [std.Average()];
        var config = new ViTConfig
        {
            Name = stored?.Name ?? $"{family.ToString().ToLowerInvariant()}:{Path.GetFileNameWithoutExtension(file)}",
            Channels = channels, PatchSize = p, Dim = dim, Depth = depth, Heads = heads, DimHead = dim / heads,
            MlpRatio = (double)hidden / dim, Dropout = 0, EmbeddingDropout = 0, DropPathRate = stored?.DropPathRate ?? 0.1,
            Stem = ViTStem.PatchConv, QkvBias = t.ContainsKey("blocks.0.attn.qkv.bias"), FinalNorm = t.ContainsKey("norm.weight"),
            LayerNormEpsilon = epsilon, TokenInitStd = 0.02, DistillationToken = distilled, Pooling = ViTPooling.Cls,
            ImageHeight = options.ImageHeight ?? gh * p, ImageWidth = options.ImageWidth ?? gw * p,
            NumClasses = classes.Value, Mean = mean.ToArray(), Std = std.ToArray(),
        };
        if (config.MlpHidden != hidden) throw new InvalidDataException($"'{file}': MLP width {hidden} is not a ratio of the width {dim} that round-trips.");
        var configErrors = config.GetErrors();
        if (configErrors.Count > 0) throw new InvalidDataException($"'{file}': the inferred architecture is invalid: {string.Join("; ", configErrors)}.");
        return config;
    }

    private static int TimmBlockIndex(string name)
    {
        if (!name.StartsWith("blocks.", StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', 7);
        return end > 7 && int.TryParse(name.AsSpan(7, end - 7), NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : -1;
    }

    /// <summary>The checkpoint's grid of patch tokens: Hugging Face's image_size, else a square.</summary>
    private static (int Height, int Width) SourceGrid(string file, long tokens, int? imageSize, int patch)
    {
        if (imageSize is int size && size / patch is int g && (long)g * g == tokens) return (g, g);
        int side = (int)Math.Round(Math.Sqrt(tokens));
        if ((long)side * side != tokens) throw new InvalidDataException($"'{file}': {tokens} position embeddings are not a square grid.");
        return (side, side);
    }

    /// <summary>PyTorch's default Linear initialization (uniform ±1/√fan_in for weight and bias), from a seeded generator.</summary>
    private static void AddFreshLinear(Dictionary<string, TensorData> weights, string name, int outputs, int inputs, Random random)
    {
        double bound = 1.0 / Math.Sqrt(inputs);
        float Next() => (float)((random.NextDouble() * 2 - 1) * bound);
        weights[name + ".weight"] = new(Enumerable.Range(0, outputs * inputs).Select(_ => Next()).ToArray(), [outputs, inputs]);
        weights[name + ".bias"] = new(Enumerable.Range(0, outputs).Select(_ => Next()).ToArray(), [outputs]);
    }

    /// <summary>
    /// timm's <c>resample_abs_pos_embed</c>: the prefix tokens' embeddings kept, the grid's resampled from
    /// [<paramref name="fromH"/>, <paramref name="fromW"/>] to [<paramref name="toH"/>, <paramref name="toW"/>] bicubically
    /// with antialiasing (align_corners false).
    /// </summary>
    internal static TensorData ResamplePositionEmbedding(TensorData pos, int prefix, int fromH, int fromW, int toH, int toW)
    {
        long dim = pos.Shape[2];
        using var scope = torch.NewDisposeScope();
        var all = torch.tensor(pos.Data, pos.Shape, ScalarType.Float32);
        var prefixPart = all.narrow(1, 0, prefix);
        var grid = all.narrow(1, prefix, (long)fromH * fromW).reshape(1, fromH, fromW, dim).permute(0, 3, 1, 2);
        var resized = torch.nn.functional.interpolate(grid, [toH, toW], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true);
        var result = torch.cat([prefixPart, resized.permute(0, 2, 3, 1).reshape(1, (long)toH * toW, dim)], 1).contiguous();
        return new(result.data<float>().ToArray(), result.shape);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"'([^']+)'")]
    private static partial System.Text.RegularExpressions.Regex TimmNames();
}

/// <summary>Something <see cref="ViTCheckpoint.Load"/> inferred instead of reading it from the checkpoint.</summary>
/// <param name="Setting">What was inferred ("heads", "mean", ...).</param>
/// <param name="Value">The value taken.</param>
/// <param name="Reason">Why (the rule applied).</param>
/// <param name="Override">The option or file that gives it instead.</param>
public sealed record CheckpointAssumption(string Setting, string Value, string Reason, string Override);
