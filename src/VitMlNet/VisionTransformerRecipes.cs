using VitMlNet.Modeling;
using VitMlNet.Training;

namespace VitMlNet;

/// <summary>
/// Named recipes: an architecture preset together with the training options that suit it (optimizer, schedule,
/// epochs, augmentation, regularization). Every <see cref="ViTConfig"/> preset is also a recipe, with the
/// reference's training options unless a tuned recipe of the same name exists. The one home of the recipe and input-size
/// choice: <see cref="Resolve(string, int, int, int, int, int, VisionTransformerOptions?)"/> gives a recipe's options for
/// data of a shape (or a checkpoint to fine-tune) and the input size; the catalog, the trainer and <c>vit train</c> call it,
/// <c>vit sweep</c> (whose search starts from an architecture preset) takes its input size from it.
/// </summary>
public static class VisionTransformerRecipes
{
    private static readonly Dictionary<string, Action<VisionTransformerOptions>> Tuned = new(StringComparer.OrdinalIgnoreCase)
    {
        // The reference workload: Adam 3e-4, batch 64, 10 epochs, no augmentation.
        ["seed"] = o =>
        {
            o.Architecture = ViTConfig.Seed;
            o.Optimizer = VisionTransformerOptimizer.Adam;
            o.LearningRate = 3e-4;
            o.BatchSize = 64;
            o.Epochs = 10;
            o.Schedule = VisionTransformerLearningRateSchedule.Constant;
        },
        // Fashion-MNIST in minutes on 2 cores (README main job).
        ["fmnist-fast"] = o =>
        {
            o.Architecture = ViTConfig.FmnistFast;
            o.Optimizer = VisionTransformerOptimizer.AdamW;
            o.LearningRate = 2e-3;
            o.WeightDecay = 0.05;
            o.BatchSize = 128;
            o.Epochs = 8;
            o.Schedule = VisionTransformerLearningRateSchedule.WarmupCosine;
            o.WarmupEpochs = 1;
            o.LabelSmoothing = 0.1;
        },
        // Fashion-MNIST for accuracy within an hour on 2 cores: convolutional stem (two convolutions per stage) and
        // feed-forwards with BatchNorm, light augmentation (one-pixel crop, flip), drop-path, label smoothing, EMA, cosine schedule,
        // flip and one-pixel shift averaging at scoring time (ten views; docs/benchmarks.md has the ablations). A 56-minute
        // time budget (training fits the hour end to end, scoring the test set with ten views included, whatever the
        // machine's speed of the day; docs/benchmarks.md has the epochs it reached) with at most 40 epochs.
        ["fmnist-accurate"] = o =>
        {
            o.Architecture = ViTConfig.FmnistAccurate;
            o.Optimizer = VisionTransformerOptimizer.AdamW;
            o.LearningRate = 1.5e-3;
            o.WeightDecay = 0.05;
            o.BatchSize = 128;
            o.Epochs = 40;
            o.TimeBudget = TimeSpan.FromMinutes(56);
            o.Schedule = VisionTransformerLearningRateSchedule.WarmupCosine;
            o.WarmupEpochs = 2;
            o.LabelSmoothing = 0.1;
            o.EmaDecay = 0.999;
            // Crop padding 1, not 2 (it validated better with ten views; docs/benchmarks.md): the model under-fits at
            // this length, so the lighter shift wins, and it matches the one-pixel shifts scored at the end.
            o.Augmentation = new AugmentationOptions { RandomCropPadding = 1, HorizontalFlip = true };
            o.ScoringFlipAverage = true;
            o.ScoringShiftAverage = true;
        },
        // Small photo datasets (docs/benchmarks.md "Small photos"): the hybrid ViT on ML.NET's
        // pretrained ResNet18, frozen, its features cached for 8 views (random resized crops and flips) of each photo; AdamW, cosine.
        ["hybrid-resnet18"] = o =>
        {
            o.Architecture = ViTConfig.HybridResNet18;
            o.Optimizer = VisionTransformerOptimizer.AdamW;
            // 6e-4, not 3e-4: higher on both selection splits averaged over seeds 1-3 (docs/benchmarks.md, "Small photos").
            o.LearningRate = 6e-4;
            o.WeightDecay = 0.05;
            o.BatchSize = 32;
            o.Epochs = 12;
            o.Schedule = VisionTransformerLearningRateSchedule.WarmupCosine;
            o.WarmupEpochs = 1;
            o.LabelSmoothing = 0.1;
            // Random resized crops (at least 35 % of the area) and flips: chosen over padded crops on bench/small-data's
            // selection split (docs/benchmarks.md).
            o.Augmentation = new AugmentationOptions { RandomResizedCropScale = 0.35, HorizontalFlip = true };
            o.FreezeStem = true;
            o.StemFeatureViews = 8;
        },
        // CIFAR-10 from scratch with the reference's sizes and the standard convolutional patch embedding, which keeps a
        // flat patch's value (unmeasured here: CIFAR-10 cannot be downloaded).
        ["cifar10"] = o =>
        {
            o.Architecture = ViTConfig.Seed with { Name = "cifar10", Stem = ViTStem.PatchConv, DropPathRate = 0.1 };
            o.Optimizer = VisionTransformerOptimizer.AdamW;
            o.LearningRate = 1e-3;
            o.WeightDecay = 0.05;
            o.BatchSize = 128;
            o.Epochs = 100;
            o.Schedule = VisionTransformerLearningRateSchedule.WarmupCosine;
            o.WarmupEpochs = 5;
            o.LabelSmoothing = 0.1;
            o.Augmentation = new AugmentationOptions
            {
                RandomCropPadding = 4, HorizontalFlip = true, RandomErasingProbability = 0.25, MixupAlpha = 0.8, CutMixAlpha = 1.0, MixProbability = 0.5,
            };
        },
    };

    /// <summary>The data-aware recipe's name: <see cref="ForData"/> chooses the architecture and training from the data.</summary>
    public const string Auto = "auto";

    /// <summary>Recipe names: <see cref="Auto"/>, the tuned recipes and every architecture preset.</summary>
    public static IReadOnlyList<string> Names => new[] { Auto }.Concat(Tuned.Keys).Union(ViTConfig.PresetNames, StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>
    /// The data-aware recipe (<see cref="Auto"/>): chosen from the number of training images, the classes and the input
    /// geometry, so that small datasets learn. It starts from <c>fmnist-fast</c> (the standard convolutional patch embedding,
    /// which keeps a flat patch's value; 4 blocks, dim 64, AdamW, warmup + cosine, label smoothing) and then: a patch size that gives about 8×8 tokens; about 50,000 images seen in all (8 epochs for
    /// 60,000 images, 35 for 1,400, at most 100); below 20,000 images a smaller batch (at least 8 steps per epoch) with a
    /// learning rate scaled by the square root of the batch, and random crops, plus horizontal flips for colour images
    /// (gray data is often digits or text, which a mirror changes). At 20,000 images or more it is <c>fmnist-fast</c> itself.
    /// </summary>
    /// <param name="count">Training images.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="channels">Input channels, 1 or 3.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="baseOptions">Options to start from (columns, seed, device, progress and cancellation are kept).</param>
    /// <returns>The options; <see cref="DescribeChoice"/> says what was chosen.</returns>
    public static VisionTransformerOptions ForData(int count, int classes, int channels, int height, int width, VisionTransformerOptions? baseOptions = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (UsesPretrainedStem(channels, height, width))
        {
            var h = Apply("hybrid-resnet18", baseOptions);
            h.Preset = "hybrid-resnet18";
            h.Architecture = ViTConfig.HybridResNet18.WithInput(channels, height, width, classes);
            h.StemFeatureViews = StemFeatureViewsFor(count, h.Architecture);
            // Epochs for about 7,500 samples seen (views × images), at least 5: 4 views × 12 epochs of 150 photos, which
            // scored as well as 8 × 12 on the protocol's selection means at about 0.6× the fit time (docs/benchmarks.md).
            h.Epochs = Math.Clamp((int)Math.Round(7_500.0 / (count * Math.Max(1, h.StemFeatureViews))), 5, 30);
            return WithTeacherToken(h);
        }
        var o = Apply("fmnist-fast", baseOptions);
        o.Preset = "fmnist-fast";
        // WithInput gives mean/std one value per channel (fmnist-fast's gray values, repeated for RGB: what docs/benchmarks.md's small-data rows measured).
        o.Architecture = ViTConfig.FmnistFast.WithInput(channels, height, width, classes) with { Name = Auto, PatchSize = PatchFor(height, width) };
        o.Epochs = Math.Clamp((int)Math.Round(50_000.0 / count), 8, 100);
        if (count < 20_000)
        {
            o.BatchSize = Math.Clamp(count / 8, 16, 128);
            o.LearningRate = 2e-3 * Math.Sqrt(o.BatchSize / 128.0);
            o.Augmentation = new AugmentationOptions { RandomCropPadding = Math.Max(1, Math.Min(height, width) / 14), HorizontalFlip = channels == 3 };
        }

        return WithTeacherToken(o);
    }

    /// <summary>With a <see cref="VisionTransformerOptions.Teacher"/> asked for, the chosen architecture gets the distillation token it needs.</summary>
    internal static VisionTransformerOptions WithTeacherToken(VisionTransformerOptions o)
    {
        if (o.Teacher != VisionTransformerTeacher.None) o.Architecture = o.ResolveArchitecture() with { DistillationToken = true };
        return o;
    }

    /// <summary>
    /// The most memory <see cref="ForData"/> gives the hybrid's cached ResNet feature maps (<see cref="VisionTransformerOptions.StemFeatureViews"/>):
    /// 2 GiB. A 288×288 view's 9×9×512 map takes 166 KB, so 2 views of up to 6,000 photos or 1 view of up to 12,900 are
    /// cached; beyond that the frozen ResNet runs on every training step instead (no cache; the training images' own cache,
    /// 249 KB a 288×288 photo, is held either way).
    /// </summary>
    public const long StemFeatureCacheBytes = 2L << 30;

    /// <summary>
    /// The feature-map views <see cref="ForData"/> caches for <paramref name="count"/> images of the hybrid
    /// <paramref name="architecture"/>: 4 views of up to about 170 photos, fewer for more photos (each view's ResNet pass is
    /// the cost), at least 2, then as many as <see cref="StemFeatureCacheBytes"/> holds (at least 1); 0 (the frozen ResNet
    /// runs every step) when not even one view of every image fits.
    /// </summary>
    internal static int StemFeatureViewsFor(int count, ViTConfig architecture)
    {
        long perView = (long)count * StemFeatureBytes(architecture);
        int views = Math.Clamp((int)Math.Round(600.0 / count), 2, 4);
        return (int)Math.Min(views, StemFeatureCacheBytes / perView);
    }

    /// <summary>Bytes of one cached view of one image: the ResNet's feature map, channels × (height / patch) × (width / patch) floats.</summary>
    internal static long StemFeatureBytes(ViTConfig architecture) =>
        (long)ResNetStem.FeatureChannels(architecture) * (architecture.ImageHeight / architecture.PatchSize) * (architecture.ImageWidth / architecture.PatchSize) * sizeof(float);

    /// <summary>
    /// The input side <c>vit train</c> gives photos (image files) when <see cref="ForData"/> will pick the pretrained hybrid:
    /// 288, <see cref="ViTConfig.HybridResNet18"/>'s (chosen over the ResNet18's native 224 on bench/small-data's selection splits).
    /// </summary>
    public static int PhotoInputSize => ViTConfig.HybridResNet18.ImageHeight;

    /// <summary>
    /// Whether <see cref="ForData"/> picks the hybrid ViT on ML.NET's pretrained ResNet18 (<c>hybrid-resnet18</c>): colour
    /// images of at least 64 pixels a side, both sides multiples of 32, however many (more photos cache fewer feature views:
    /// <see cref="StemFeatureCacheBytes"/>). Photo sets learn far more from pretrained features than from scratch
    /// (docs/benchmarks.md); gray or small images (digits, Fashion-MNIST) train a ViT from scratch.
    /// </summary>
    public static bool UsesPretrainedStem(int channels, int height, int width) =>
        channels == 3 && Math.Min(height, width) >= 64 && height % 32 == 0 && width % 32 == 0;

    /// <summary>One line saying what <see cref="ForData"/> chose, printed by <c>vit train</c> so the user sees it.</summary>
    /// <param name="o">Options from <see cref="ForData"/>.</param>
    /// <param name="count">Training images.</param>
    /// <returns>The description.</returns>
    public static string DescribeChoice(VisionTransformerOptions o, int count)
    {
        ArgumentNullException.ThrowIfNull(o);
        var a = o.ResolveArchitecture();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var aug = o.Augmentation;
        string augment = aug.RandomResizedCropScale > 0
            ? string.Format(inv, ", random resized crop ≥ {0:0.##} of the area{1}", aug.RandomResizedCropScale, aug.HorizontalFlip ? " and flip" : "")
            : aug.RandomCropPadding > 0
                ? string.Format(inv, ", random crop {0}px{1}", aug.RandomCropPadding, aug.HorizontalFlip ? " and flip" : "")
                : "";
        string stem = a.Stem == ViTStem.ResNet18
            ? string.Format(inv, "hybrid ViT on ML.NET's pretrained ResNet18 ({0}{1}), ", o.FreezeStem ? "frozen" : "fine-tuned",
                !o.FreezeStem ? "" : o.StemFeatureViews > 0 ? string.Format(inv, ", features of {0} view{1} per image computed once", o.StemFeatureViews, o.StemFeatureViews == 1 ? "" : "s")
                    : ", features computed every step: too many images to cache them")
            : "";
        string teacher = o.Teacher == VisionTransformerTeacher.None ? "" : $", {o.Distillation.ToString().ToLowerInvariant()} distillation from a {o.Teacher} teacher";
        return string.Format(inv, "recipe auto for {0} images of {1}x{2}x{3}: {11}{4} blocks, dim {5}, patch {6}, {7} epochs, batch {8}, lr {9:0.0##e+00}{10}{12}",
            count, a.Channels, a.ImageHeight, a.ImageWidth, a.Depth, a.Dim, a.PatchSize, o.Epochs, o.BatchSize, o.LearningRate, augment, stem, teacher);
    }

    /// <summary>The divisor of both sides closest to a grid of 8×8 tokens (at least 2 pixels, at least 2 tokens a side; 1 when nothing else divides).</summary>
    private static int PatchFor(int height, int width)
    {
        int side = Math.Min(height, width);
        var divisors = Enumerable.Range(2, Math.Max(0, side / 2 - 1)).Where(p => height % p == 0 && width % p == 0).ToList();
        return divisors.Count == 0 ? 1 : divisors.MinBy(p => Math.Abs(Math.Log((double)side / p / 8)))!;
    }

    /// <summary>
    /// Returns a copy of <paramref name="baseOptions"/> (or default options) with the recipe's architecture and
    /// training settings; columns, seed, device, progress and cancellation are kept.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown recipe; the message lists the known ones.</exception>
    public static VisionTransformerOptions Apply(string name, VisionTransformerOptions? baseOptions = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var options = baseOptions?.Clone() ?? new VisionTransformerOptions();
        if (Tuned.TryGetValue(name, out var apply))
        {
            apply(options);
        }
        else if (ViTConfig.PresetNames.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            options.Architecture = ViTConfig.FromPreset(name);
        }
        else
        {
            throw new ArgumentException($"Unknown recipe '{name}'. Known recipes: {string.Join(", ", Names)}.", nameof(name));
        }
        return options;
    }

    /// <summary>The canonical spelling of recipe <paramref name="name"/> (names are case-insensitive), or null when no recipe has it.</summary>
    internal static string? Find(string name) => Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The options of recipe <paramref name="name"/> for training data of this shape: its architecture fitted to the input
    /// (<paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>) and the classes, with its training
    /// options; <see cref="Auto"/> is chosen from the shape (<see cref="ForData"/>). The trainer, the catalog's short
    /// overload and <c>vit train</c> resolve a recipe through this one method, so a name means the same options everywhere.
    /// </summary>
    /// <param name="name">A recipe name (<see cref="Names"/>).</param>
    /// <param name="count">Training images.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="channels">Input channels, 1 or 3.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="baseOptions">Options to start from (columns, seed, device, progress and cancellation are kept).</param>
    /// <returns>The options; their <see cref="VisionTransformerOptions.Architecture"/> carries the input size.</returns>
    /// <exception cref="ArgumentException">Unknown recipe; the message lists the known ones.</exception>
    public static VisionTransformerOptions Resolve(string name, int count, int classes, int channels, int height, int width, VisionTransformerOptions? baseOptions = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Resolve(new RecipeRequest(name, count, classes, channels, height, width) { BaseOptions = baseOptions }).Options;
    }

    /// <summary>
    /// THE resolver: a recipe and the training data's shape (or a pretrained checkpoint) in, the options and the model's
    /// input size out. The input: the requested side (<see cref="RecipeRequest.ImageSize"/>); else the data's own size
    /// (IDX, CIFAR-10, a pixel column); else the checkpoint's; else the recipe's (<see cref="Auto"/>:
    /// <see cref="PhotoInputSize"/> for colour photos, where <see cref="ForData"/> picks the pretrained
    /// hybrid, else 32×32). The options: the recipe's (<see cref="Auto"/>: <see cref="ForData"/>), then a checkpoint's
    /// fine-tuning recipe (its architecture and weights, AdamW, learning rate <see cref="FineTuneLearningRate"/>, weight
    /// decay <see cref="FineTuneWeightDecay"/>), the distillation token a teacher needs, and last the caller's epochs, batch
    /// size and learning rate.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown recipe; the message lists the known ones.</exception>
    internal static RecipeResolution Resolve(RecipeRequest r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string name = Find(r.Recipe) ?? throw new ArgumentException($"Unknown recipe '{r.Recipe}'. Known recipes: {string.Join(", ", Names)}.", nameof(r));
        var (channels, height, width) = InputSize(name, r);
        var o = name == Auto
            ? ForData(r.Count, r.Classes, channels, height, width, r.BaseOptions)
            : Apply(name, r.BaseOptions);
        if (r.Checkpoint is { } checkpoint)
        {
            o.Architecture = checkpoint.Config;
            o.Preset = checkpoint.Config.Name;
            o.InitialModel = checkpoint.Path;
            o.Optimizer = VisionTransformerOptimizer.AdamW;
            o.LearningRate = FineTuneLearningRate;
            o.WeightDecay = FineTuneWeightDecay;
        }
        if (r.Checkpoint is null || r.Checkpoint.Config.DistillationToken) WithTeacherToken(o);
        o.Architecture = o.ResolveArchitecture().WithInput(channels, height, width, r.Classes);
        o.Epochs = r.Epochs ?? o.Epochs;
        o.BatchSize = r.BatchSize ?? o.BatchSize;
        o.LearningRate = r.LearningRate ?? o.LearningRate;
        return new RecipeResolution(name, o, channels, height, width);
    }

    /// <summary>
    /// The model's input for <paramref name="r"/> (see <see cref="Resolve(RecipeRequest)"/>): the requested side, the data's
    /// own size, the checkpoint's, or the recipe's.
    /// </summary>
    internal static (int Channels, int Height, int Width) InputSize(string name, RecipeRequest r)
    {
        if (r.ImageSize is int side) return (r.Channels, side, side);
        if (r.Height is int h && r.Width is int w) return (r.Channels, h, w);
        var config = r.Checkpoint?.Config
            ?? (string.Equals(name, Auto, StringComparison.OrdinalIgnoreCase)
                ? (r.Channels == 3 ? ViTConfig.HybridResNet18 : ViTConfig.Seed)
                : Apply(name).ResolveArchitecture());
        return (r.Channels, config.ImageHeight, config.ImageWidth);
    }

    /// <summary>
    /// The options an input size is checked against before any data is read: the recipe's; <see cref="Auto"/>'s
    /// architecture follows the data, so <c>fmnist-fast</c> (its largest batch) with a patch of an eighth of the side
    /// (<paramref name="imageSize"/>, else 32) stands in for it.
    /// </summary>
    internal static VisionTransformerOptions BeforeData(string name, int? imageSize)
    {
        if (!string.Equals(name, Auto, StringComparison.OrdinalIgnoreCase)) return Apply(name);
        var preview = Apply("fmnist-fast");
        preview.Architecture = ViTConfig.FmnistFast with { PatchSize = Math.Max(1, (imageSize ?? 32) / 8) };
        return preview;
    }

    /// <summary>
    /// The options a trainer trains with on data of this shape: <paramref name="options"/> as they are, or, for
    /// <see cref="Auto"/>, the resolved recipe with the short overload's <paramref name="overrides"/>.
    /// </summary>
    internal static VisionTransformerOptions ForTrainer(VisionTransformerOptions options, RecipeOverrides overrides, int count, int classes, int channels, int height, int width)
    {
        if (options.IsAuto)
        {
            return Resolve(new RecipeRequest(Auto, count, classes, channels, height, width)
            {
                BaseOptions = options, Epochs = overrides.Epochs, BatchSize = overrides.BatchSize, LearningRate = overrides.LearningRate,
            }).Options;
        }
        var o = options.Clone();
        o.Architecture = o.ResolveArchitecture().WithInput(channels, height, width, classes);
        return o;
    }

    /// <summary>
    /// The catalog's short overload: the options of recipe <paramref name="name"/> before the data is seen, on top of
    /// <paramref name="baseOptions"/> (its columns and validation data). A named recipe is applied now, with the caller's
    /// <paramref name="overrides"/>; <see cref="Auto"/> waits for the data (<see cref="ForTrainer"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown recipe; the message lists the known ones.</exception>
    internal static VisionTransformerOptions ForCatalog(string name, VisionTransformerOptions baseOptions, RecipeOverrides overrides)
    {
        string recipe = Find(name) ?? throw new ArgumentException($"Unknown recipe '{name}'. Known recipes: {string.Join(", ", Names)}.", nameof(name));
        if (recipe == Auto)
        {
            var auto = baseOptions.Clone();
            auto.Preset = Auto;
            auto.Architecture = null;
            return auto;
        }
        var o = Apply(recipe, baseOptions);
        o.Epochs = overrides.Epochs ?? o.Epochs;
        o.BatchSize = overrides.BatchSize ?? o.BatchSize;
        o.LearningRate = overrides.LearningRate ?? o.LearningRate;
        return o;
    }

    /// <summary>Learning rate of fine-tuning a pretrained checkpoint (<see cref="RecipeRequest.Checkpoint"/>) unless the caller gives one: a far smaller step than training from scratch.</summary>
    internal const double FineTuneLearningRate = 5e-5;

    /// <summary>Weight decay of fine-tuning a pretrained checkpoint (AdamW; DeiT's 0.05).</summary>
    internal const double FineTuneWeightDecay = 0.05;

    /// <summary>
    /// The geometry of a pixel-vector column: the options' channels, height and width when all are given, else the
    /// vector's dimensions (<c>ExtractPixels</c> records [C, H, W]), else a square RGB or gray image of the vector's size.
    /// </summary>
    internal static (int Channels, int Height, int Width) ColumnGeometry(Microsoft.ML.Data.VectorDataViewType type, string column, int? channels, int? height, int? width)
    {
        int size = type.Size;
        if (channels is int c && height is int h && width is int w)
        {
            if (c * h * w != size)
                throw SchemaChecks.Mismatch("feature", column, $"vector of size {c * h * w} ({c}x{h}x{w} from the options)", SchemaChecks.Describe(type));
            return (c, h, w);
        }
        if (type.Dimensions.Length == 3 && type.Dimensions[0] is 1 or 3)
        {
            return (type.Dimensions[0], type.Dimensions[1], type.Dimensions[2]);
        }
        foreach (int ch in channels is int only ? new[] { only } : new[] { 3, 1 })
        {
            if (size % ch != 0) continue;
            int side = (int)Math.Round(Math.Sqrt(size / ch));
            if (side * side * ch == size) return (ch, height ?? side, width ?? side);
        }
        throw SchemaChecks.Mismatch("feature", column,
            "a vector with [C, H, W] dimensions or a square image size; set Channels, ImageHeight and ImageWidth in the options", SchemaChecks.Describe(type));
    }
}

/// <summary>
/// What a recipe is resolved for (<see cref="VisionTransformerRecipes.Resolve(RecipeRequest)"/>): the training data's
/// shape and what the caller asked for.
/// </summary>
/// <param name="Recipe">A recipe name (<see cref="VisionTransformerRecipes.Names"/>, any case).</param>
/// <param name="Count">Training images.</param>
/// <param name="Classes">Classes.</param>
/// <param name="Channels">Input channels: the data's (image files: 1 when every file is gray), or the caller's.</param>
/// <param name="Height">The data's own height (IDX, CIFAR-10, a pixel column); null for image files of any size.</param>
/// <param name="Width">The data's own width; null for image files of any size.</param>
internal sealed record RecipeRequest(string Recipe, int Count, int Classes, int Channels, int? Height, int? Width)
{
    /// <summary>A square input side asked for (<c>--image-size</c>); overrides the data's size.</summary>
    public int? ImageSize { get; init; }

    /// <summary>A pretrained checkpoint to fine-tune (<c>--from</c>).</summary>
    public RecipeCheckpoint? Checkpoint { get; init; }

    /// <summary>Options to start from (columns, seed, device, teacher, progress and cancellation are kept).</summary>
    public VisionTransformerOptions? BaseOptions { get; init; }

    /// <summary>Epochs asked for; null keeps the recipe's.</summary>
    public int? Epochs { get; init; }

    /// <summary>Batch size asked for; null keeps the recipe's.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Learning rate asked for; null keeps the recipe's (a checkpoint's: <see cref="VisionTransformerRecipes.FineTuneLearningRate"/>).</summary>
    public double? LearningRate { get; init; }
}

/// <summary>A pretrained checkpoint to fine-tune: its path (<see cref="VisionTransformerOptions.InitialModel"/>) and architecture.</summary>
internal sealed record RecipeCheckpoint(string Path, ViTConfig Config);

/// <summary>What a recipe resolved to: its canonical name, the options to train with, and the model's input size.</summary>
internal sealed record RecipeResolution(string Recipe, VisionTransformerOptions Options, int Channels, int Height, int Width);

/// <summary>Epochs, batch size and learning rate given beside a recipe name (the catalog's short overload); null keeps the recipe's.</summary>
internal readonly record struct RecipeOverrides(int? Epochs, int? BatchSize, double? LearningRate);
