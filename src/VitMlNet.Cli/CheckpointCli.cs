using System.CommandLine;
using System.Globalization;
using VitMlNet.Checkpoints;
using VitMlNet.Onnx;

namespace VitMlNet.Cli;

/// <summary>
/// Pretrained checkpoints (timm, Hugging Face, torchvision; <see cref="ViTCheckpoint"/>) wherever the CLI takes a model:
/// <c>vit info CHECKPOINT</c>, <c>vit export-onnx CHECKPOINT out.onnx</c>, <c>vit train --from CHECKPOINT</c>.
/// </summary>
internal static class CheckpointCli
{
    /// <summary>The <c>--heads</c> option: attention heads of a checkpoint whose width does not follow the 64-wide-heads rule.</summary>
    public static Option<int?> HeadsOption() => new("--heads")
    {
        HelpName = "N",
        Description = "Attention heads of a pretrained checkpoint (default: Hugging Face's config.json, else width / 64)",
    };

    /// <summary>The <c>--mean</c> option: per-channel mean of a pretrained checkpoint whose folder does not give it.</summary>
    public static Option<string?> MeanOption() => new("--mean")
    {
        HelpName = "R,G,B",
        Description = "Per-channel mean of a pretrained checkpoint (default: its folder's preprocessor config, else ImageNet's)",
    };

    /// <summary>The <c>--std</c> option: per-channel standard deviation of a pretrained checkpoint.</summary>
    public static Option<string?> StdOption() => new("--std")
    {
        HelpName = "R,G,B",
        Description = "Per-channel standard deviation of a pretrained checkpoint (default: its folder's preprocessor config, else ImageNet's)",
    };

    /// <summary>Parses <c>--mean</c> / <c>--std</c>: comma-separated finite numbers (std positive).</summary>
    public static float[]? ParseChannels(string? text, string option, bool positive)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]) || (positive && values[i] <= 0))
                throw new UsageException($"{option} expects 1 or 3 comma-separated {(positive ? "positive " : "")}numbers, got '{text}'.");
        }
        if (values.Length is not (1 or 3)) throw new UsageException($"{option} expects 1 or 3 comma-separated numbers, got {values.Length}.");
        return values;
    }

    /// <summary>Whether <paramref name="path"/> is a checkpoint rather than a VitMlNet zip.</summary>
    public static bool IsCheckpoint(string path) => ViTCheckpoint.IsCheckpointPath(path);

    /// <summary>Reads a checkpoint as the model the other commands work on; file errors become usage errors.</summary>
    /// <param name="path">The checkpoint file or folder.</param>
    /// <param name="heads">The <c>--heads</c> value, or null.</param>
    /// <param name="notes">Where to print what the import assumed (one <c>note:</c> line each, with the flag that overrides it); null for nowhere.</param>
    /// <param name="mean">The <c>--mean</c> value, or null.</param>
    /// <param name="std">The <c>--std</c> value, or null.</param>
    public static ViTOnnxModel Read(string path, int? heads, TextWriter? notes = null, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new UsageException($"'{path}' not found.");
        var c = Load(path, heads, mean, std);
        if (notes is not null) PrintAssumptions(c, notes);
        return new ViTOnnxModel(c.Config, c.ClassNames, c.Weights, null);
    }

    /// <summary>One <c>note:</c> line per assumption of an import, with the flag that overrides it.</summary>
    public static void PrintAssumptions(ViTCheckpoint checkpoint, TextWriter notes)
    {
        foreach (var a in checkpoint.Assumptions)
            notes.WriteLine($"note: {a.Setting} {a.Value} assumed ({a.Reason}); override with {a.Override}");
    }

    /// <summary>The model of a checkpoint (<see cref="Read"/>, assumptions printed to <paramref name="notes"/>) or of a VitMlNet zip.</summary>
    public static ViTOnnxModel ReadModel(string path, int? heads, TextWriter? notes = null, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null) =>
        IsCheckpoint(path) ? Read(path, heads, notes, mean, std) : ModelZipFile.ReadOnnx(path);

    /// <summary>Loads a checkpoint; an unreadable one is a usage error.</summary>
    private static ViTCheckpoint Load(string path, int? heads, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        try
        {
            return ViTCheckpoint.Load(path, new CheckpointImportOptions { Heads = heads, Mean = mean, Std = std });
        }
        catch (InvalidDataException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary><c>vit info CHECKPOINT</c>: family, architecture, parameters, mean/std, classes.</summary>
    public static int Info(string path, int? heads, bool json, CliContext context, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        var checkpoint = Load(path, heads, mean, std);
        var c = checkpoint.Config;
        bool Assumed(string setting) => checkpoint.Assumptions.Any(a => a.Setting == setting);
        long parameters = checkpoint.Weights.Sum(w => (long)w.Value.Data.Length);
        if (json)
        {
            context.Out.WriteLine(CliJson.Serialize(new
            {
                checkpoint = Path.GetFullPath(checkpoint.SourcePath),
                bytes = new FileInfo(checkpoint.SourcePath).Length,
                family = checkpoint.Family.ToString(),
                classes = checkpoint.ClassNames,
                architecture = InfoCommand.ArchitectureJson(c),
                layerNormEpsilon = c.LayerNormEpsilon,
                qkvBias = c.QkvBias,
                finalNorm = c.FinalNorm,
                parameters,
                assumed = checkpoint.Assumptions.Select(a => new { setting = a.Setting, value = a.Value, reason = a.Reason, @override = a.Override }),
            }));
            return ExitCodes.Ok;
        }
        var inv = CultureInfo.InvariantCulture;
        var o = context.Out;
        const string assumed = " (assumed)";
        o.WriteLine($"checkpoint {checkpoint.SourcePath} ({new FileInfo(checkpoint.SourcePath).Length / 1024.0:F0} KiB), {checkpoint.Family} names");
        o.WriteLine(string.Format(inv, "network  ViT: {0}x{1}x{2} input{13}, patch {3}, dim {4}, depth {5}, heads {6}x{7}{14}, MLP ratio {8}{9}{10}{11}, LayerNorm eps {12:G3}{15}",
            c.Channels, c.ImageHeight, c.ImageWidth, c.PatchSize, c.Dim, c.Depth, c.Heads, c.DimHead, c.MlpRatio,
            c.QkvBias ? ", qkv bias" : "", c.FinalNorm ? ", final norm" : "", c.DistillationToken ? ", distillation token" : "", c.LayerNormEpsilon,
            Assumed("image size") ? assumed : "", Assumed("heads") ? assumed : "", Assumed("LayerNorm epsilon") ? assumed : ""));
        o.WriteLine(string.Format(inv, "params   {0:N0}", parameters));
        o.WriteLine($"classes  {c.NumClasses}: {string.Join(", ", checkpoint.ClassNames.Take(10))}{(c.NumClasses > 10 ? ", ..." : "")}");
        o.WriteLine(string.Format(inv, "pixels   mean [{0}]{2}, std [{1}]{3} (the ONNX export and fine-tuning use them)",
            string.Join(", ", c.Mean.Select(v => v.ToString("G4", inv))), string.Join(", ", c.Std.Select(v => v.ToString("G4", inv))),
            Assumed("mean") ? assumed : "", Assumed("std") ? assumed : ""));
        foreach (var a in checkpoint.Assumptions)
            o.WriteLine($"assumed  {a.Setting} {a.Value}: {a.Reason}; override with {a.Override}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// <c>vit train --from CHECKPOINT</c>'s own flags on top of the fine-tuning recipe (the checkpoint's architecture and
    /// weights, AdamW, a small learning rate: <see cref="VisionTransformerRecipes.Resolve(RecipeRequest)"/>):
    /// <c>--layer-decay</c> and <c>--freeze-backbone</c>.
    /// </summary>
    public static void ApplyFineTuning(double? layerDecay, bool freezeBackbone, VisionTransformerOptions recipe)
    {
        if (layerDecay is double decay)
        {
            if (!(decay > 0 && decay <= 1)) throw new UsageException($"--layer-decay must be in (0, 1] (got {decay.ToString(CultureInfo.InvariantCulture)})");
            recipe.LayerDecay = decay;
        }
        recipe.FreezeBackbone = freezeBackbone;
    }
}

/// <summary>
/// <c>vit export-safetensors MODEL out.safetensors</c>: a model zip's (or a checkpoint's) weights as safetensors with
/// timm's names, for PyTorch (timm's <c>VisionTransformer</c>, or <c>load_state_dict</c>); the way back of
/// <c>vit train --from</c>.
/// </summary>
internal static class ExportSafetensorsCommand
{
    public static Command Build(CliContext context)
    {
        var model = new Argument<string>("model") { HelpName = "model.zip", Description = "Model zip written by 'vit train' (a standard ViT, e.g. fine-tuned with --from), or a checkpoint" };
        var output = new Argument<string>("output") { HelpName = "out.safetensors", Description = "The .safetensors file to write" };
        var heads = CheckpointCli.HeadsOption();
        var command = new Command("export-safetensors", "Write a standard ViT's weights as safetensors with timm's names (for PyTorch).") { model, output, heads };
        command.SetAction(parse => Guard.Run("export-safetensors", context.Error, () => Run(parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(heads), context)));
        return command;
    }

    public static int Run(string modelPath, string outputPath, int? heads, CliContext context)
    {
        var source = CheckpointCli.ReadModel(modelPath, heads, context.Error);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (folder is not null) Directory.CreateDirectory(folder);
        try
        {
            ViTCheckpoint.SaveTimmSafetensors(source.Config, source.Weights, outputPath, source.ClassNames);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
        var c = source.Config;
        context.Out.WriteLine($"wrote {outputPath} ({new FileInfo(outputPath).Length / 1024.0:F0} KiB, {source.Weights.Count} tensors with timm names)");
        context.Out.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "timm: timm.create_model('{0}', img_size={1}, patch_size={2}, embed_dim={3}, depth={4}, num_heads={5}, mlp_ratio={6}, num_classes={7}{8}).load_state_dict(safetensors.torch.load_file(...))",
            c.DistillationToken ? "deit_base_distilled_patch16_224" : "vit_base_patch16_224", c.ImageHeight, c.PatchSize, c.Dim, c.Depth, c.Heads, c.MlpRatio, c.NumClasses,
            c.QkvBias ? "" : ", qkv_bias=False"));
        context.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "pixels: mean [{0}], std [{1}]",
            string.Join(", ", c.Mean.Select(v => v.ToString("G4", CultureInfo.InvariantCulture))), string.Join(", ", c.Std.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))));
        return ExitCodes.Ok;
    }
}
