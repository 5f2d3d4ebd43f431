using VitMlNet.Modeling;

namespace VitMlNet.Experiments;

/// <summary>Names of the parameters a <see cref="SearchSpace"/> knows how to apply to <see cref="VisionTransformerOptions"/>.</summary>
internal static class SearchParameterNames
{
    /// <summary><see cref="VisionTransformerOptions.LearningRate"/>.</summary>
    public const string LearningRate = "LearningRate";

    /// <summary><see cref="VisionTransformerOptions.WeightDecay"/>; also selects <see cref="VisionTransformerOptimizer.AdamW"/>, the optimizer that uses it.</summary>
    public const string WeightDecay = "WeightDecay";

    /// <summary><see cref="ViTConfig.Depth"/>.</summary>
    public const string Depth = "Depth";

    /// <summary><see cref="ViTConfig.Dim"/>.</summary>
    public const string Dim = "Dim";

    /// <summary><see cref="ViTConfig.Heads"/>.</summary>
    public const string Heads = "Heads";

    /// <summary><see cref="ViTConfig.DimHead"/>.</summary>
    public const string DimHead = "DimHead";

    /// <summary><see cref="ViTConfig.MlpRatio"/>.</summary>
    public const string MlpRatio = "MlpRatio";

    /// <summary><see cref="ViTConfig.PatchSize"/>; must divide the image size (a trial whose patch does not fit fails before training).</summary>
    public const string PatchSize = "PatchSize";

    /// <summary><see cref="ViTConfig.Dropout"/> and <see cref="ViTConfig.EmbeddingDropout"/>, set to the same value.</summary>
    public const string Dropout = "Dropout";

    /// <summary><see cref="ViTConfig.DropPathRate"/> (stochastic depth).</summary>
    public const string DropPathRate = "DropPathRate";

    /// <summary>
    /// A scalar s ≥ 0 that scales the augmentation recipe (see <see cref="SearchSpace.ScaleAugmentation"/>): crop padding,
    /// random erasing, Mixup and CutMix are off at 0 and at a DeiT-like strength at 1.
    /// </summary>
    public const string AugmentationStrength = "AugmentationStrength";

    /// <summary><see cref="VisionTransformerOptions.LabelSmoothing"/>.</summary>
    public const string LabelSmoothing = "LabelSmoothing";

    /// <summary><see cref="VisionTransformerOptions.BatchSize"/>.</summary>
    public const string BatchSize = "BatchSize";

    /// <summary><see cref="VisionTransformerOptions.WarmupEpochs"/>.</summary>
    public const string WarmupEpochs = "WarmupEpochs";

    /// <summary>Every built-in name.</summary>
    public static IReadOnlyList<string> All { get; } = new[]
    {
        LearningRate, WeightDecay, Depth, Dim, Heads, DimHead, MlpRatio, PatchSize, Dropout, DropPathRate, AugmentationStrength,
        LabelSmoothing, BatchSize, WarmupEpochs,
    };
}

/// <summary>
/// The hyperparameters an experiment searches: named <see cref="SearchDimension"/>s, each with the code that applies a
/// sampled value to a copy of the base <see cref="VisionTransformerOptions"/>. Built-in names
/// (<see cref="SearchParameterNames"/>) apply themselves; other names need an apply action. Start from
/// <see cref="CreateDefault"/> and narrow it (<see cref="Add(string, SearchDimension)"/> replaces a dimension,
/// <see cref="Remove"/> drops one) or from an empty space and add only what you want to search.
/// </summary>
/// <example><code>
/// var space = SearchSpace.CreateDefault()
///     .Add(SearchParameterNames.LearningRate, SearchDimension.LogUniform(3e-4, 3e-3))
///     .Add(SearchParameterNames.Depth, SearchDimension.Choice(4, 6))
///     .Remove(SearchParameterNames.WeightDecay)
///     .Add("Ema", SearchDimension.Choice(0.0, 0.999), (options, value) => options.EmaDecay = (double)value);
/// </code></example>
public sealed class SearchSpace
{
    private readonly List<Entry> entries = new();

    /// <summary>
    /// Runs after every dimension has been applied, with the trial's values: a hook to tie parameters together
    /// (e.g. <c>DimHead = Dim / Heads</c>) or to set anything the dimensions do not cover. The default is null.
    /// </summary>
    public Action<VisionTransformerOptions, TrialParameters>? AfterApply { get; set; }

    /// <summary>The dimension names, in sampling order.</summary>
    public IReadOnlyList<string> Names => entries.Select(e => e.Name).ToArray();

    /// <summary>Number of dimensions.</summary>
    public int Count => entries.Count;

    /// <summary>The dimension named <paramref name="name"/> (case-insensitive).</summary>
    /// <param name="name">A dimension name.</param>
    /// <exception cref="KeyNotFoundException">No such dimension.</exception>
    public SearchDimension this[string name] => Find(name)?.Dimension
        ?? throw new KeyNotFoundException($"The search space has no dimension '{name}'; it has: {string.Join(", ", Names)}.");

    /// <summary>
    /// The default space, sized for the CIFAR-scale "seed" preset: learning rate log-uniform in [1e-4, 3e-3], weight decay
    /// log-uniform in [1e-3, 0.1] (AdamW), depth 4/6/8, dim 64/128/192, heads 2/4/8, patch size among the divisors of the
    /// image size in [4, 8], dropout and drop-path uniform in [0, 0.2], augmentation strength uniform in [0, 1], label
    /// smoothing uniform in [0, 0.2].
    /// </summary>
    /// <returns>A new space.</returns>
    public static SearchSpace CreateDefault() => new SearchSpace()
        .Add(SearchParameterNames.LearningRate, SearchDimension.LogUniform(1e-4, 3e-3))
        .Add(SearchParameterNames.WeightDecay, SearchDimension.LogUniform(1e-3, 0.1))
        .Add(SearchParameterNames.Depth, SearchDimension.Choice(4, 6, 8))
        .Add(SearchParameterNames.Dim, SearchDimension.Choice(64, 128, 192))
        .Add(SearchParameterNames.Heads, SearchDimension.Choice(2, 4, 8))
        .Add(SearchParameterNames.PatchSize, SearchDimension.DivisorsOfImageSize(4, 8))
        .Add(SearchParameterNames.Dropout, SearchDimension.Uniform(0, 0.2))
        .Add(SearchParameterNames.DropPathRate, SearchDimension.Uniform(0, 0.2))
        .Add(SearchParameterNames.AugmentationStrength, SearchDimension.Uniform(0, 1))
        .Add(SearchParameterNames.LabelSmoothing, SearchDimension.Uniform(0, 0.2));

    /// <summary>Adds a built-in parameter (see <see cref="SearchParameterNames"/>), replacing any dimension of that name.</summary>
    /// <param name="name">A built-in name.</param>
    /// <param name="dimension">Its range or choices.</param>
    /// <returns>This space.</returns>
    /// <exception cref="ArgumentException">The name is not built in; the message lists the built-in names.</exception>
    public SearchSpace Add(string name, SearchDimension dimension)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dimension);
        var apply = BuiltIn(name) ?? throw new ArgumentException(
            $"'{name}' is not a built-in parameter ({string.Join(", ", SearchParameterNames.All)}); pass an apply action for custom parameters.", nameof(name));
        return Put(new Entry(Canonical(name)!, dimension, apply));
    }

    /// <summary>Adds a parameter applied by <paramref name="apply"/>, replacing any dimension of that name (built-in or not).</summary>
    /// <param name="name">The parameter name.</param>
    /// <param name="dimension">Its range or choices.</param>
    /// <param name="apply">Sets the sampled value on the trial's options (a copy of the base options).</param>
    /// <returns>This space.</returns>
    public SearchSpace Add(string name, SearchDimension dimension, Action<VisionTransformerOptions, object> apply)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(dimension);
        ArgumentNullException.ThrowIfNull(apply);
        return Put(new Entry(name, dimension, (o, v, _) => apply(o, v)));
    }

    /// <summary>Removes a dimension if present (the base options' value is then used).</summary>
    /// <param name="name">The dimension name.</param>
    /// <returns>This space.</returns>
    public SearchSpace Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        entries.RemoveAll(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
        return this;
    }

    /// <summary>Whether the space has a dimension named <paramref name="name"/>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True when present.</returns>
    public bool Contains(string name) => Find(name) is not null;

    /// <summary>Draws one value per dimension, in order.</summary>
    /// <param name="random">The generator.</param>
    /// <param name="context">The data's geometry.</param>
    /// <returns>The trial's values.</returns>
    internal TrialParameters Sample(Random random, SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(context);
        return new TrialParameters(entries.Select(e => new KeyValuePair<string, object>(e.Name, e.Dimension.Sample(random, context))).ToArray());
    }

    /// <summary>
    /// A copy of <paramref name="baseOptions"/> with the trial's values applied (dimensions in order, then
    /// <see cref="AfterApply"/>). Values without a dimension in this space are ignored.
    /// </summary>
    /// <param name="baseOptions">The options every trial starts from; not modified.</param>
    /// <param name="parameters">The trial's values.</param>
    /// <param name="context">The data's geometry (augmentation strength scales with the image size).</param>
    /// <returns>The trial's options.</returns>
    internal VisionTransformerOptions Apply(VisionTransformerOptions baseOptions, TrialParameters parameters, SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(baseOptions);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        var options = baseOptions.Clone();
        foreach (var entry in entries)
        {
            if (parameters.TryGetValue(entry.Name, out var value) && value is not null) entry.Apply(options, value, context);
        }
        AfterApply?.Invoke(options, parameters);
        return options;
    }

    /// <summary>
    /// The augmentation at strength <paramref name="strength"/>: crop padding round(s × side / 8), random-erasing
    /// probability min(1, 0.25 s), Mixup α 0.8 s and CutMix α 1.0 s (DeiT's recipe at s = 1); horizontal flips and the
    /// mixing probabilities stay as in <paramref name="baseAugmentation"/>.
    /// </summary>
    /// <param name="baseAugmentation">The base options' augmentation.</param>
    /// <param name="strength">The strength, non-negative.</param>
    /// <param name="imageSide">The shorter image side in pixels.</param>
    /// <returns>The scaled augmentation.</returns>
    public static Training.AugmentationOptions ScaleAugmentation(Training.AugmentationOptions baseAugmentation, double strength, int imageSide)
    {
        ArgumentNullException.ThrowIfNull(baseAugmentation);
        double s = Math.Max(0, strength);
        return baseAugmentation with
        {
            RandomCropPadding = (int)Math.Round(s * imageSide / 8.0),
            RandomErasingProbability = Math.Min(1, 0.25 * s),
            MixupAlpha = 0.8 * s,
            CutMixAlpha = 1.0 * s,
        };
    }

    /// <summary>One line per dimension: <c>name: range</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Join(Environment.NewLine, entries.Select(e => $"{e.Name}: {e.Dimension}"));

    private SearchSpace Put(Entry entry)
    {
        int i = entries.FindIndex(e => string.Equals(e.Name, entry.Name, StringComparison.OrdinalIgnoreCase));
        if (i >= 0) entries[i] = entry;
        else entries.Add(entry);
        return this;
    }

    private Entry? Find(string name) => entries.Find(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The built-in name that <paramref name="name"/> spells (case-insensitive), or null.</summary>
    private static string? Canonical(string name) =>
        SearchParameterNames.All.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));

    private static double D(object v) => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture);

    private static int I(object v) => v is int i ? i : (int)Math.Round(D(v));

    private static ViTConfig Arch(VisionTransformerOptions o) => o.ResolveArchitecture();

    private static Action<VisionTransformerOptions, object, SearchContext>? BuiltIn(string name) => Canonical(name) switch
    {
        SearchParameterNames.LearningRate => (o, v, _) => o.LearningRate = D(v),
        SearchParameterNames.WeightDecay => (o, v, _) =>
        {
            o.WeightDecay = D(v);
            o.Optimizer = VisionTransformerOptimizer.AdamW;
        },
        SearchParameterNames.Depth => (o, v, _) => o.Architecture = Arch(o) with { Depth = I(v) },
        SearchParameterNames.Dim => (o, v, _) => o.Architecture = Arch(o) with { Dim = I(v) },
        SearchParameterNames.Heads => (o, v, _) => o.Architecture = Arch(o) with { Heads = I(v) },
        SearchParameterNames.DimHead => (o, v, _) => o.Architecture = Arch(o) with { DimHead = I(v) },
        SearchParameterNames.MlpRatio => (o, v, _) => o.Architecture = Arch(o) with { MlpRatio = D(v) },
        SearchParameterNames.PatchSize => (o, v, _) => o.Architecture = Arch(o) with { PatchSize = I(v) },
        SearchParameterNames.Dropout => (o, v, _) => o.Architecture = Arch(o) with { Dropout = D(v), EmbeddingDropout = D(v) },
        SearchParameterNames.DropPathRate => (o, v, _) => o.Architecture = Arch(o) with { DropPathRate = D(v) },
        SearchParameterNames.AugmentationStrength => (o, v, c) =>
            o.Augmentation = ScaleAugmentation(o.Augmentation, D(v), Math.Min(c.Height, c.Width)),
        SearchParameterNames.LabelSmoothing => (o, v, _) => o.LabelSmoothing = D(v),
        SearchParameterNames.BatchSize => (o, v, _) => o.BatchSize = I(v),
        SearchParameterNames.WarmupEpochs => (o, v, _) => o.WarmupEpochs = D(v),
        _ => null,
    };

    private sealed record Entry(string Name, SearchDimension Dimension, Action<VisionTransformerOptions, object, SearchContext> Apply);
}
