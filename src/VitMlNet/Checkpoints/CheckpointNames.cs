using System.Text.RegularExpressions;
using VitMlNet.Modeling;

namespace VitMlNet.Checkpoints;

/// <summary>
/// Each checkpoint family's tensor names brought to timm's (the lingua franca: DeiT, timm and the safetensors export use
/// them). timm's names to VitMlNet's are the model's own layout (<see cref="ViTParameterLayout.TimmToVitMlNet"/>).
/// </summary>
internal static partial class CheckpointNames
{
    /// <summary>Guesses the family from the names: torchvision's encoder layers, Hugging Face's embeddings, or timm's blocks.</summary>
    public static CheckpointFamily? Detect(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.Any(n => n.Contains("encoder.layers.encoder_layer_", StringComparison.Ordinal) || n == "conv_proj.weight")) return CheckpointFamily.TorchVision;
        if (list.Any(n => n.Contains("embeddings.patch_embeddings.projection", StringComparison.Ordinal) || n.Contains("encoder.layer.", StringComparison.Ordinal))) return CheckpointFamily.HuggingFace;
        if (list.Any(n => n == "patch_embed.proj.weight" || n.StartsWith("blocks.", StringComparison.Ordinal))) return CheckpointFamily.Timm;
        return null;
    }

    /// <summary>
    /// Renames a family's tensors to timm's names (Hugging Face's separate q, k and v concatenated into qkv). Names no
    /// rule knows are kept as they are, so that the completeness check names them.
    /// </summary>
    public static Dictionary<string, TensorData> ToTimm(CheckpointFamily family, IReadOnlyDictionary<string, TensorData> tensors)
    {
        // DistributedDataParallel's "module." prefix.
        var source = tensors.Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal))
            ? tensors.ToDictionary(kv => kv.Key["module.".Length..], kv => kv.Value, StringComparer.Ordinal)
            : tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return family switch
        {
            CheckpointFamily.Timm => source,
            CheckpointFamily.TorchVision => Rename(source, TorchVisionName),
            _ => FromHuggingFace(source),
        };
    }

    private static Dictionary<string, TensorData> Rename(
        Dictionary<string, TensorData> source, Func<string, string> rename)
    {
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var (name, value) in source) result[rename(name)] = value;
        return result;
    }

    private static string TorchVisionName(string name)
    {
        var m = TorchVisionLayer().Match(name);
        if (m.Success)
        {
            string rest = m.Groups[2].Value switch
            {
                "ln_1.weight" => "norm1.weight", "ln_1.bias" => "norm1.bias",
                "self_attention.in_proj_weight" => "attn.qkv.weight", "self_attention.in_proj_bias" => "attn.qkv.bias",
                "self_attention.out_proj.weight" => "attn.proj.weight", "self_attention.out_proj.bias" => "attn.proj.bias",
                "ln_2.weight" => "norm2.weight", "ln_2.bias" => "norm2.bias",
                "mlp.0.weight" or "mlp.linear_1.weight" => "mlp.fc1.weight", "mlp.0.bias" or "mlp.linear_1.bias" => "mlp.fc1.bias",
                "mlp.3.weight" or "mlp.linear_2.weight" => "mlp.fc2.weight", "mlp.3.bias" or "mlp.linear_2.bias" => "mlp.fc2.bias",
                _ => null!,
            };
            return rest is null ? name : $"blocks.{m.Groups[1].Value}.{rest}";
        }
        return name switch
        {
            "class_token" => "cls_token",
            "conv_proj.weight" => "patch_embed.proj.weight",
            "conv_proj.bias" => "patch_embed.proj.bias",
            "encoder.pos_embedding" => "pos_embed",
            "encoder.ln.weight" => "norm.weight",
            "encoder.ln.bias" => "norm.bias",
            "heads.head.weight" => "head.weight",
            "heads.head.bias" => "head.bias",
            _ => name,
        };
    }

    private static Dictionary<string, TensorData> FromHuggingFace(Dictionary<string, TensorData> source)
    {
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var qkv = new Dictionary<string, TensorData?[]>(StringComparer.Ordinal);
        foreach (var (full, value) in source)
        {
            // ViTForImageClassification ("vit."), DeiT ("deit."), or a bare ViTModel.
            string name = full.StartsWith("vit.", StringComparison.Ordinal) ? full[4..] : full.StartsWith("deit.", StringComparison.Ordinal) ? full[5..] : full;
            var m = HuggingFaceLayer().Match(name);
            if (m.Success)
            {
                string block = m.Groups[1].Value, rest = m.Groups[2].Value;
                var part = HuggingFaceQkv().Match(rest);
                if (part.Success)
                {
                    string key = $"blocks.{block}.attn.qkv.{part.Groups[2].Value}";
                    if (!qkv.TryGetValue(key, out var parts)) qkv[key] = parts = new TensorData?[3];
                    parts[part.Groups[1].Value switch { "query" => 0, "key" => 1, _ => 2 }] = value;
                    continue;
                }
                string? mapped = rest switch
                {
                    "layernorm_before.weight" => "norm1.weight", "layernorm_before.bias" => "norm1.bias",
                    "attention.output.dense.weight" => "attn.proj.weight", "attention.output.dense.bias" => "attn.proj.bias",
                    "layernorm_after.weight" => "norm2.weight", "layernorm_after.bias" => "norm2.bias",
                    "intermediate.dense.weight" => "mlp.fc1.weight", "intermediate.dense.bias" => "mlp.fc1.bias",
                    "output.dense.weight" => "mlp.fc2.weight", "output.dense.bias" => "mlp.fc2.bias",
                    _ => null,
                };
                result[mapped is null ? full : $"blocks.{block}.{mapped}"] = value;
                continue;
            }
            result[name switch
            {
                "embeddings.cls_token" => "cls_token",
                "embeddings.distillation_token" => "dist_token",
                "embeddings.position_embeddings" => "pos_embed",
                "embeddings.patch_embeddings.projection.weight" => "patch_embed.proj.weight",
                "embeddings.patch_embeddings.projection.bias" => "patch_embed.proj.bias",
                "layernorm.weight" => "norm.weight",
                "layernorm.bias" => "norm.bias",
                "classifier.weight" or "cls_classifier.weight" => "head.weight",
                "classifier.bias" or "cls_classifier.bias" => "head.bias",
                "distillation_classifier.weight" => "head_dist.weight",
                "distillation_classifier.bias" => "head_dist.bias",
                _ => full,
            }] = value;
        }
        foreach (var (key, parts) in qkv)
        {
            if (parts.Any(p => p is null))
            {
                // Incomplete q/k/v: keep what is there under a name that the completeness check reports.
                string[] which = ["query", "key", "value"];
                for (int i = 0; i < 3; i++)
                    if (parts[i] is { } p) result[$"{key} ({which[i]} only; the others are missing)"] = p;
                continue;
            }
            var data = parts.SelectMany(p => p!.Value.Data).ToArray();
            var first = parts[0]!.Value.Shape;
            result[key] = new(data, first.Length == 2 ? [first[0] * 3, first[1]] : [first[0] * 3]);
        }
        return result;
    }

    [GeneratedRegex(@"^encoder\.layers\.encoder_layer_(\d+)\.(.+)$")]
    private static partial Regex TorchVisionLayer();

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.(.+)$")]
    private static partial Regex HuggingFaceLayer();

    [GeneratedRegex(@"^attention\.attention\.(query|key|value)\.(weight|bias)$")]
    private static partial Regex HuggingFaceQkv();
}
