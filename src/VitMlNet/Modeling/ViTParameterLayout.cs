using System.Text.RegularExpressions;

namespace VitMlNet.Modeling;

/// <summary>
/// The parameter names and shapes of a <see cref="VisionTransformer"/> for a configuration, computed from the
/// configuration alone (no TorchSharp), so the ONNX writer and reader and the checkpoint import can check a weights
/// dictionary; and the same names in timm's vocabulary, the lingua franca of checkpoints.
/// </summary>
internal static partial class ViTParameterLayout
{
    /// <summary>Every parameter (and floating-point buffer) of the model for <paramref name="c"/>: name and shape (the order is fixed but not the model's).</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> For(ViTConfig c)
    {
        var list = new List<(string, long[])>();
        list.AddRange(IStem.Layout(c));
        list.Add(("cls", [1, 1, c.Dim]));
        if (c.DistillationToken) list.Add(("dist", [1, 1, c.Dim]));
        list.Add(("pos", [1, c.NumPatches + c.NumPrefixTokens, c.Dim]));
        for (int i = 0; i < c.Depth; i++)
        {
            string a = $"layers.{i}.0.", f = $"layers.{i}.1.";
            if (c.LocalitySelfAttention) list.Add((a + "temperature", [1]));
            list.Add((a + "norm.weight", [c.Dim]));
            list.Add((a + "norm.bias", [c.Dim]));
            list.Add((a + "to_qkv.weight", [3L * c.InnerDim, c.Dim]));
            if (c.QkvBias) list.Add((a + "to_qkv.bias", [3L * c.InnerDim]));
            list.Add((a + "to_out.0.weight", [c.Dim, c.InnerDim]));
            list.Add((a + "to_out.0.bias", [c.Dim]));
            list.Add((f + "net.0.weight", [c.Dim]));
            list.Add((f + "net.0.bias", [c.Dim]));
            list.Add((f + "net.1.weight", [c.MlpHidden, c.Dim]));
            list.Add((f + "net.1.bias", [c.MlpHidden]));
            if (c.HasConvFeedForward(i))
            {
                list.Add((f + "dwconv.weight", [c.MlpHidden, 1, 3, 3]));
                list.Add((f + "dwconv.bias", [c.MlpHidden]));
            }
            if (c.FeedForwardBatchNorm)
            {
                list.Add((f + "bn.weight", [c.MlpHidden]));
                list.Add((f + "bn.bias", [c.MlpHidden]));
                list.Add((f + "bn.running_mean", [c.MlpHidden]));
                list.Add((f + "bn.running_var", [c.MlpHidden]));
            }
            list.Add((f + "net.4.weight", [c.Dim, c.MlpHidden]));
            list.Add((f + "net.4.bias", [c.Dim]));
        }
        if (c.FinalNorm)
        {
            list.Add(("norm.weight", [c.Dim]));
            list.Add(("norm.bias", [c.Dim]));
        }
        list.Add(("head.weight", [c.NumClasses, c.Dim]));
        list.Add(("head.bias", [c.NumClasses]));
        if (c.DistillationToken)
        {
            list.Add(("head_dist.weight", [c.NumClasses, c.Dim]));
            list.Add(("head_dist.bias", [c.NumClasses]));
        }
        return list;
    }

    /// <summary>
    /// Lists every problem of <paramref name="weights"/> against the layout of <paramref name="config"/>:
    /// missing and unexpected names, wrong shapes, data lengths that do not match the shape.
    /// </summary>
    public static IReadOnlyList<string> Check(ViTConfig config, IReadOnlyDictionary<string, TensorData> weights)
    {
        var errors = new List<string>();
        var expected = For(config);
        foreach (var (name, shape) in expected)
        {
            if (!weights.TryGetValue(name, out var w))
            {
                errors.Add($"missing '{name}' [{Format(shape)}]");
                continue;
            }
            if (w.Data is null || w.Shape is null)
            {
                errors.Add($"'{name}' has no data or shape");
                continue;
            }
            if (!w.Shape.SequenceEqual(shape)) errors.Add($"'{name}' has shape [{Format(w.Shape)}], expected [{Format(shape)}]");
            else if (w.Data.LongLength != Numel(shape)) errors.Add($"'{name}' has {w.Data.LongLength} values, its shape [{Format(shape)}] needs {Numel(shape)}");
        }
        var known = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in weights.Keys.Where(k => !known.Contains(k)).Order(StringComparer.Ordinal))
            errors.Add($"unexpected '{name}'");
        return errors;
    }

    /// <summary>Product of the dimensions.</summary>
    public static long Numel(IEnumerable<long> shape) => shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Dimensions joined with ", ".</summary>
    public static string Format(IEnumerable<long> shape) => string.Join(", ", shape);

    /// <summary>timm's and VitMlNet's names of an encoder block's tensors (after <c>blocks.i.</c> and <c>layers.i.</c>).</summary>
    private static readonly (string Timm, string Ours)[] BlockNames =
    [
        ("norm1.weight", "0.norm.weight"), ("norm1.bias", "0.norm.bias"),
        ("attn.qkv.weight", "0.to_qkv.weight"), ("attn.qkv.bias", "0.to_qkv.bias"),
        ("attn.proj.weight", "0.to_out.0.weight"), ("attn.proj.bias", "0.to_out.0.bias"),
        ("norm2.weight", "1.net.0.weight"), ("norm2.bias", "1.net.0.bias"),
        ("mlp.fc1.weight", "1.net.1.weight"), ("mlp.fc1.bias", "1.net.1.bias"),
        ("mlp.fc2.weight", "1.net.4.weight"), ("mlp.fc2.bias", "1.net.4.bias"),
    ];

    /// <summary>timm's and VitMlNet's names of the tensors outside the blocks.</summary>
    private static readonly (string Timm, string Ours)[] OtherNames =
    [
        ("cls_token", "cls"), ("dist_token", "dist"), ("pos_embed", "pos"),
        ("patch_embed.proj.weight", "patch_embed.weight"), ("patch_embed.proj.bias", "patch_embed.bias"),
        ("norm.weight", "norm.weight"), ("norm.bias", "norm.bias"), ("head.weight", "head.weight"), ("head.bias", "head.bias"),
        ("head_dist.weight", "head_dist.weight"), ("head_dist.bias", "head_dist.bias"),
    ];

    /// <summary>timm's name of every VitMlNet name of a standard ViT (block count from the names themselves), both ways.</summary>
    public static string? TimmToVitMlNet(string timm) => Translate(timm, toTimm: false);

    /// <summary>The inverse of <see cref="TimmToVitMlNet"/>.</summary>
    public static string? VitMlNetToTimm(string name) => Translate(name, toTimm: true);

    private static string? Translate(string name, bool toTimm)
    {
        var m = (toTimm ? VitMlNetBlock() : TimmBlock()).Match(name);
        string key = m.Success ? m.Groups[2].Value : name;
        foreach (var (timm, ours) in m.Success ? BlockNames : OtherNames)
        {
            if ((toTimm ? ours : timm) != key) continue;
            string mapped = toTimm ? timm : ours;
            return m.Success ? $"{(toTimm ? "blocks" : "layers")}.{m.Groups[1].Value}.{mapped}" : mapped;
        }
        return null;
    }

    [GeneratedRegex(@"^blocks\.(\d+)\.(.+)$")]
    private static partial Regex TimmBlock();

    [GeneratedRegex(@"^layers\.(\d+)\.(.+)$")]
    private static partial Regex VitMlNetBlock();
}
