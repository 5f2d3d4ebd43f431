using TorchSharp.Modules;
using VitMlNet.Modeling;

namespace VitMlNet.Training;

/// <summary>
/// The optimizer's parameter groups for fine-tuning: weight decay or none (timm's no-decay list), times a learning-rate
/// scale per layer (<see cref="VisionTransformerOptions.LayerDecay"/>), without the frozen parameters
/// (<see cref="VisionTransformerOptions.FreezeBackbone"/>).
/// </summary>
internal static class ParameterGroups
{
    /// <summary>One group: its parameters, its learning-rate scale and whether it takes weight decay.</summary>
    public sealed record Group(IReadOnlyList<Parameter> Parameters, double Scale, bool Decay);

    /// <summary>
    /// timm's layer id of a parameter: 0 for everything before the blocks (patch embedding, stem, tokens, position
    /// embedding), i + 1 for block i, depth + 1 for what follows (final norm, heads).
    /// </summary>
    public static int LayerId(string name, int depth)
    {
        if (name.StartsWith("layers.", StringComparison.Ordinal))
        {
            int end = name.IndexOf('.', 7);
            return int.Parse(name.AsSpan(7, end - 7), System.Globalization.CultureInfo.InvariantCulture) + 1;
        }
        return name is "cls" or "pos" or "dist" || name.StartsWith("embed.", StringComparison.Ordinal)
            || name.StartsWith("stem.", StringComparison.Ordinal) || name.StartsWith("patch_embed.", StringComparison.Ordinal) ? 0 : depth + 1;
    }

    /// <summary>Whether a parameter belongs to a classifier head (the only ones that train with a frozen backbone).</summary>
    public static bool IsHead(string name) => name.StartsWith("head.", StringComparison.Ordinal) || name.StartsWith("head_dist.", StringComparison.Ordinal);

    /// <summary>
    /// Groups of <paramref name="model"/>'s parameters; freezes (requires_grad false) the backbone when
    /// <paramref name="freezeBackbone"/> is set. Empty groups are left out.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="layerDecay">Layer-wise learning-rate decay; 1 for none.</param>
    /// <param name="freezeBackbone">Whether only the heads train.</param>
    /// <param name="weightDecay">Whether the groups take weight decay (timm's no-decay list aside).</param>
    /// <param name="scaleOf">A further learning-rate scale per parameter name (the ResNet's trained last blocks:
    /// <see cref="VisionTransformerOptions.StemLearningRateScale"/>); null for 1.</param>
    public static IReadOnlyList<Group> Build(VisionTransformer model, double layerDecay, bool freezeBackbone, bool weightDecay, Func<string, double>? scaleOf = null)
    {
        int depth = model.Config.Depth;
        var noDecay = model.NoWeightDecayParameterNames;
        var groups = new Dictionary<(int Layer, bool Decay, double Scale), List<Parameter>>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!parameter.requires_grad) continue; // frozen already (FreezeStem)
            if (freezeBackbone && !IsHead(name))
            {
                parameter.requires_grad = false;
                continue;
            }
            int layer = layerDecay < 1 ? LayerId(name, depth) : 0;
            var key = (layer, weightDecay && !noDecay.Contains(name), scaleOf?.Invoke(name) ?? 1.0);
            if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
            list.Add(parameter);
        }
        return groups.OrderBy(g => g.Key.Layer).ThenBy(g => g.Key.Decay).ThenBy(g => g.Key.Scale)
            .Select(g => new Group(g.Value, g.Key.Scale * (layerDecay < 1 ? Math.Pow(layerDecay, depth + 1 - g.Key.Layer) : 1.0), g.Key.Decay))
            .ToList();
    }
}
