namespace VitMlNet.Experiments;

/// <summary>How an experiment spends its budget: <see cref="Random"/> or <see cref="SuccessiveHalving"/>.</summary>
public abstract record SearchStrategy
{
    private protected SearchStrategy()
    {
    }

    /// <summary>Random search: every trial draws fresh values and trains for the base options' full <see cref="VisionTransformerOptions.Epochs"/>.</summary>
    public static SearchStrategy Random { get; } = new RandomSearchStrategy();

    /// <summary>
    /// Successive halving in the asynchronous style of ASHA (Li et al., arXiv 1810.05934), run one trial at a time: the
    /// rungs train max, max/η, max/η², ... epochs (rounded, ascending, each at least <paramref name="minEpochs"/>) and new trials start at
    /// the smallest rung of at least <paramref name="minEpochs"/>; whenever a trial is in the top 1/<paramref name="reductionFactor"/> of
    /// its rung it is promoted and resumes from its checkpoint to the next rung's epochs, up to the
    /// base options' <see cref="VisionTransformerOptions.Epochs"/>; the rest are stopped. Many cheap trials, few long ones.
    /// </summary>
    /// <param name="minEpochs">Fewest epochs of the first rung. The default is 1.</param>
    /// <param name="reductionFactor">η: the share promoted is 1/η and each rung trains η× longer. The default is 3.</param>
    /// <returns>The strategy.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minEpochs"/> is below 1 or <paramref name="reductionFactor"/> below 2.</exception>
    public static SearchStrategy SuccessiveHalving(int minEpochs = 1, int reductionFactor = 3) => new SuccessiveHalvingStrategy(minEpochs, reductionFactor);
}

/// <summary>Random search (see <see cref="SearchStrategy.Random"/>).</summary>
internal sealed record RandomSearchStrategy : SearchStrategy
{
    internal RandomSearchStrategy()
    {
    }
}

/// <summary>Successive halving (see <see cref="SearchStrategy.SuccessiveHalving"/>).</summary>
internal sealed record SuccessiveHalvingStrategy : SearchStrategy
{
    internal SuccessiveHalvingStrategy(int minEpochs, int reductionFactor)
    {
        if (minEpochs < 1) throw new ArgumentOutOfRangeException(nameof(minEpochs), minEpochs, "minEpochs must be at least 1.");
        if (reductionFactor < 2) throw new ArgumentOutOfRangeException(nameof(reductionFactor), reductionFactor, "reductionFactor must be at least 2.");
        MinEpochs = minEpochs;
        ReductionFactor = reductionFactor;
    }

    /// <summary>Fewest epochs of the first rung.</summary>
    public int MinEpochs { get; }

    /// <summary>η: promote the top 1/η of a rung to η× the epochs.</summary>
    public int ReductionFactor { get; }

    /// <summary>
    /// The epoch budgets of the rungs for a maximum of <paramref name="maxEpochs"/>: max, max/η, max/η², ... (rounded),
    /// as long as they stay at least <see cref="MinEpochs"/>; ascending, without repeats.
    /// </summary>
    /// <param name="maxEpochs">The last rung's epochs.</param>
    /// <returns>The rungs' epochs, ascending; the last is <paramref name="maxEpochs"/>.</returns>
    public IReadOnlyList<int> Rungs(int maxEpochs)
    {
        var rungs = new List<int> { maxEpochs };
        double e = maxEpochs;
        while (true)
        {
            e /= ReductionFactor;
            int r = (int)Math.Round(e, MidpointRounding.AwayFromZero);
            if (r < MinEpochs || r >= rungs[^1]) break;
            rungs.Add(r);
        }
        rungs.Reverse();
        return rungs.Distinct().ToArray();
    }
}
