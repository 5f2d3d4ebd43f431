using System.Globalization;

namespace VitMlNet.Experiments;

/// <summary>What a <see cref="SearchDimension"/> may know about the data when it samples: the input geometry and class count.</summary>
/// <param name="Channels">Image channels (1 or 3).</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="NumClasses">Number of classes.</param>
internal sealed record SearchContext(int Channels, int Height, int Width, int NumClasses);

/// <summary>
/// One axis of a <see cref="SearchSpace"/>: a typed range or a list of choices that random sampling draws from.
/// Create them with <see cref="LogUniform"/>, <see cref="Uniform"/>, <see cref="Integer"/>, <see cref="Choice{T}"/> and
/// <see cref="DivisorsOfImageSize"/>.
/// </summary>
public abstract class SearchDimension
{
    private protected SearchDimension()
    {
    }

    /// <summary>Draws one value.</summary>
    /// <param name="random">The experiment's seeded generator.</param>
    /// <param name="context">The data's geometry (used by <see cref="DivisorsOfImageSize"/>).</param>
    /// <returns>A value: <see cref="double"/> for continuous ranges, <see cref="int"/> for integer ranges, the element type for choices.</returns>
    internal abstract object Sample(Random random, SearchContext context);

    /// <summary>A value uniform in log space between <paramref name="min"/> and <paramref name="max"/> (learning rates, weight decay).</summary>
    /// <param name="min">Smallest value, positive.</param>
    /// <param name="max">Largest value, at least <paramref name="min"/>.</param>
    /// <returns>The dimension.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not positive, finite and ordered.</exception>
    public static SearchDimension LogUniform(double min, double max) => new LogUniformDimension(min, max);

    /// <summary>A value uniform between <paramref name="min"/> and <paramref name="max"/> (dropout, label smoothing).</summary>
    /// <param name="min">Smallest value.</param>
    /// <param name="max">Largest value, at least <paramref name="min"/>.</param>
    /// <returns>The dimension.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite and ordered.</exception>
    public static SearchDimension Uniform(double min, double max) => new UniformDimension(min, max);

    /// <summary>An integer uniform between <paramref name="min"/> and <paramref name="max"/>, both included.</summary>
    /// <param name="min">Smallest value.</param>
    /// <param name="max">Largest value, at least <paramref name="min"/>.</param>
    /// <returns>The dimension.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is below <paramref name="min"/>.</exception>
    public static SearchDimension Integer(int min, int max) => new IntegerDimension(min, max);

    /// <summary>One of the given values, each equally likely (depths, widths, heads, patch sizes).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="values">At least one value.</param>
    /// <returns>The dimension.</returns>
    /// <exception cref="ArgumentException">No values were given.</exception>
    public static SearchDimension Choice<T>(params T[] values)
        where T : notnull => new ChoiceDimension<T>(values);

    /// <summary>
    /// A patch size that divides both image sides: one of the divisors of gcd(height, width) between
    /// <paramref name="min"/> and <paramref name="max"/> that leave at least <paramref name="minPatchesPerSide"/> patches
    /// along each side (resolved when the data is known, so it never proposes a size that cannot fit the image).
    /// </summary>
    /// <param name="min">Smallest patch size. The default is 2.</param>
    /// <param name="max">Largest patch size. The default is 16.</param>
    /// <param name="minPatchesPerSide">Fewest patches along a side. The default is 2.</param>
    /// <returns>The dimension.</returns>
    public static SearchDimension DivisorsOfImageSize(int min = 2, int max = 16, int minPatchesPerSide = 2) =>
        new DivisorDimension(min, max, minPatchesPerSide);

    internal static string Format(object value) => value switch
    {
        double d => d.ToString(Math.Abs(d) is > 0 and < 1e-2 ? "0.##e0" : "0.####", CultureInfo.InvariantCulture),
        float f => Format((double)f),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Uniform in log space.</summary>
internal sealed class LogUniformDimension : SearchDimension
{
    public LogUniformDimension(double min, double max)
    {
        if (!(min > 0) || !double.IsFinite(max) || !(max >= min))
            throw new ArgumentOutOfRangeException(nameof(min), $"LogUniform needs 0 < min <= max, both finite (actual {min}, {max}).");
        Min = min;
        Max = max;
    }

    public double Min { get; }

    public double Max { get; }

    internal override object Sample(Random random, SearchContext context) =>
        Math.Exp(Math.Log(Min) + random.NextDouble() * (Math.Log(Max) - Math.Log(Min)));

    public override string ToString() => $"LogUniform({Format(Min)}, {Format(Max)})";
}

/// <summary>Uniform.</summary>
internal sealed class UniformDimension : SearchDimension
{
    public UniformDimension(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(max >= min))
            throw new ArgumentOutOfRangeException(nameof(min), $"Uniform needs min <= max, both finite (actual {min}, {max}).");
        Min = min;
        Max = max;
    }

    public double Min { get; }

    public double Max { get; }

    internal override object Sample(Random random, SearchContext context) => Min + random.NextDouble() * (Max - Min);

    public override string ToString() => $"Uniform({Format(Min)}, {Format(Max)})";
}

/// <summary>Uniform over an integer range.</summary>
internal sealed class IntegerDimension : SearchDimension
{
    public IntegerDimension(int min, int max)
    {
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), $"Integer needs min <= max (actual {min}, {max}).");
        Min = min;
        Max = max;
    }

    public int Min { get; }

    public int Max { get; }

    internal override object Sample(Random random, SearchContext context) => (int)random.NextInt64(Min, (long)Max + 1);

    public override string ToString() => $"Integer({Min}, {Max})";
}

/// <summary>A uniform choice among values.</summary>
internal sealed class ChoiceDimension<T> : SearchDimension
    where T : notnull
{
    private readonly T[] values;

    public ChoiceDimension(T[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0) throw new ArgumentException("Choice needs at least one value.", nameof(values));
        this.values = (T[])values.Clone();
    }

    internal override object Sample(Random random, SearchContext context) => values[random.Next(values.Length)];

    public override string ToString() => $"Choice({string.Join(", ", values.Select(v => Format(v)))})";
}

/// <summary>Divisors of the image size, resolved at sampling time.</summary>
internal sealed class DivisorDimension : SearchDimension
{
    public DivisorDimension(int min, int max, int minPatchesPerSide)
    {
        if (min < 1 || max < min || minPatchesPerSide < 1)
            throw new ArgumentOutOfRangeException(nameof(min), $"DivisorsOfImageSize needs 1 <= min <= max and minPatchesPerSide >= 1 (actual {min}, {max}, {minPatchesPerSide}).");
        Min = min;
        Max = max;
        MinPatchesPerSide = minPatchesPerSide;
    }

    public int Min { get; }

    public int Max { get; }

    public int MinPatchesPerSide { get; }

    /// <summary>The candidate patch sizes for an image size; never empty (falls back to the largest fitting divisor, else 1).</summary>
    public int[] Candidates(int height, int width)
    {
        int g = (int)System.Numerics.BigInteger.GreatestCommonDivisor(height, width);
        var fits = Enumerable.Range(1, g).Where(d => g % d == 0 && height / d >= MinPatchesPerSide && width / d >= MinPatchesPerSide).ToArray();
        var inRange = fits.Where(d => d >= Min && d <= Max).ToArray();
        if (inRange.Length > 0) return inRange;
        return fits.Length > 0 ? new[] { fits.Where(d => d <= Max).DefaultIfEmpty(fits[0]).Max() } : new[] { 1 };
    }

    internal override object Sample(Random random, SearchContext context)
    {
        var candidates = Candidates(context.Height, context.Width);
        return candidates[random.Next(candidates.Length)];
    }

    public override string ToString() => $"DivisorsOfImageSize({Min}, {Max})";
}
