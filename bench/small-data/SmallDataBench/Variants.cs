using System.Globalization;
using VitMlNet.Modeling;

namespace VitMlNet.Bench.SmallData;

/// <summary>
/// The bench's VitMlNet variants: a base recipe and knobs joined by '+', e.g. <c>vit-auto+v4+size224+lr1e-3</c>.
/// <c>vit-auto</c> is what the data-aware default (<see cref="VisionTransformerRecipes.Resolve"/>) picks for the
/// training photos at <see cref="VisionTransformerRecipes.PhotoInputSize"/>, i.e. <c>vit train --data photos/</c>.
/// </summary>
internal static class Variants
{
    /// <summary>The base recipes: vit-auto (the default for photos) and the from-scratch 32×32 recipes measured before it.</summary>
    public static readonly string[] Bases = ["vit-auto", "vit-auto-32", "vit-32-strong", "vit-32-views", "vit-32-views-teacher"];

    /// <summary>The options of <paramref name="variant"/> for <paramref name="count"/> training images of <paramref name="classes"/> classes.</summary>
    /// <param name="variant">Base recipe and knobs.</param>
    /// <param name="count">Training images the recipe is chosen for (the photos, before any offline views).</param>
    /// <param name="classes">Classes.</param>
    /// <param name="size">The input side the variant trains and scores at.</param>
    public static VisionTransformerOptions Options(string variant, int count, int classes, out int size)
    {
        var inv = CultureInfo.InvariantCulture;
        var knobs = variant.Split('+').Skip(1).ToArray();
        string baseVariant = variant.Split('+')[0];
        if (!Bases.Contains(baseVariant)) throw new ArgumentException($"unknown variant '{variant}' (known: {string.Join(", ", Bases)})");
        size = baseVariant.Contains("32", StringComparison.Ordinal) ? 32 : VisionTransformerRecipes.PhotoInputSize;
        // sizeN: the input side (a multiple of 32 for the hybrid), before the recipe is chosen for it.
        foreach (var knob in knobs.Where(k => k.StartsWith("size", StringComparison.Ordinal))) size = int.Parse(knob[4..], inv);
        var options = VisionTransformerRecipes.Resolve(VisionTransformerRecipes.Auto, count, classes, 3, size, size);
        options.Seed = 1;
        foreach (var knob in knobs)
        {
            if (knob.StartsWith("size", StringComparison.Ordinal)) continue;
            else if (knob == "flip") options.ScoringFlipAverage = true;
            else if (knob.StartsWith("skip", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { StemSkipLastBlocks = int.Parse(knob[4..], inv) };
            // tuneK: the ResNet's last K blocks train (3 = layer4) on cached maps before them; slrS: their learning-rate scale.
            else if (knob.StartsWith("tune", StringComparison.Ordinal)) options.StemTrainLastBlocks = int.Parse(knob[4..], inv);
            else if (knob.StartsWith("slr", StringComparison.Ordinal)) options.StemLearningRateScale = double.Parse(knob[3..], inv);
            else if (knob == "mean") options.Architecture = options.ResolveArchitecture() with { Pooling = ViTPooling.Mean };
            else if (knob.StartsWith("seed", StringComparison.Ordinal)) options.Seed = int.Parse(knob[4..], inv); // a second draw of the same recipe
            else if (knob == "teacher" || knob.StartsWith("soft", StringComparison.Ordinal))
            {
                // DeiT distillation from ML.NET's ResNet18 + a linear head fitted in the trainer: hard, or soft at τ (soft3).
                options.Architecture = options.ResolveArchitecture() with { DistillationToken = true };
                options.Teacher = VisionTransformerTeacher.ResNet18;
                if (knob != "teacher") { options.Distillation = VisionTransformerDistillation.Soft; options.DistillationTemperature = double.Parse(knob[4..], inv); }
            }
            else if (knob == "unfrozen") { options.FreezeStem = false; options.StemFeatureViews = 0; }
            else if (knob.StartsWith("depth", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { Depth = int.Parse(knob[5..], inv) };
            else if (knob.StartsWith("dim", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { Dim = int.Parse(knob[3..], inv) };
            else if (knob.StartsWith("drop", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { Dropout = double.Parse(knob[4..], inv) };
            else if (knob.StartsWith("dpr", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { DropPathRate = double.Parse(knob[3..], inv) };
            else if (knob.StartsWith("mix", StringComparison.Ordinal)) options.Augmentation = options.Augmentation with { MixupAlpha = double.Parse(knob[3..], inv), MixProbability = 1 };
            else if (knob.StartsWith("ema", StringComparison.Ordinal)) options.EmaDecay = double.Parse(knob[3..], inv);
            else if (knob.StartsWith("ls", StringComparison.Ordinal)) options.LabelSmoothing = double.Parse(knob[2..], inv);
            else if (knob.StartsWith("wd", StringComparison.Ordinal)) options.WeightDecay = double.Parse(knob[2..], inv);
            else if (knob.StartsWith("e", StringComparison.Ordinal)) options.Epochs = int.Parse(knob[1..], inv);
            else if (knob.StartsWith("v", StringComparison.Ordinal)) options.StemFeatureViews = int.Parse(knob[1..], inv);
            else if (knob.StartsWith("rrc", StringComparison.Ordinal)) options.Augmentation = options.Augmentation with { RandomResizedCropScale = double.Parse(knob[3..], inv), RandomCropPadding = 0 };
            else if (knob.StartsWith("pad", StringComparison.Ordinal)) options.Augmentation = options.Augmentation with { RandomCropPadding = int.Parse(knob[3..], inv) };
            else if (knob.StartsWith("lr", StringComparison.Ordinal)) options.LearningRate = double.Parse(knob[2..], inv);
            else throw new ArgumentException($"unknown knob '{knob}' in '{variant}'");
        }
        if (baseVariant.Contains("strong", StringComparison.Ordinal))
        {
            // The small-data augmentations of DeiT: TrivialAugment, random erasing, Mixup/CutMix.
            options.Augmentation = options.Augmentation with
            {
                TrivialAugment = true, RandomErasingProbability = 0.25, MixupAlpha = 0.8, CutMixAlpha = 1.0, MixProbability = 0.5,
            };
        }
        return options;
    }

    /// <summary>One line describing what a variant trained.</summary>
    public static string Describe(VisionTransformerOptions options, int images, int size)
    {
        var a = options.ResolveArchitecture();
        return string.Format(CultureInfo.InvariantCulture, "{0} images{5}, {1}x{1}, {6}patch {2}, {3} epochs, batch {4}", images, size, a.PatchSize, options.Epochs, options.BatchSize,
            options.StemFeatureViews > 0 ? string.Format(CultureInfo.InvariantCulture, " x {0} cached views", options.StemFeatureViews) : "",
            a.Stem == ViTStem.ResNet18 ? (!options.FreezeStem ? "fine-tuned" : options.StemTrainLastBlocks > 0
                ? string.Format(CultureInfo.InvariantCulture, "frozen but its last {0} blocks (lr x{1})", options.StemTrainLastBlocks, options.StemLearningRateScale) : "frozen") + " pretrained ResNet18 stem, " : "");
    }
}
