using System.Globalization;

namespace VitMlNet.Experiments;

/// <summary>The values one trial drew from a <see cref="SearchSpace"/>, by parameter name, in the space's order.</summary>
public sealed class TrialParameters
{
    private readonly KeyValuePair<string, object>[] values;
    private readonly Dictionary<string, object> byName;

    /// <summary>Creates a set of values (e.g. to record or compare trials).</summary>
    /// <param name="values">Name/value pairs; names must be unique.</param>
    /// <exception cref="ArgumentException">A name repeats.</exception>
    public TrialParameters(IEnumerable<KeyValuePair<string, object>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        this.values = values.ToArray();
        byName = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in this.values)
        {
            if (!byName.TryAdd(name, value)) throw new ArgumentException($"Parameter '{name}' appears twice.", nameof(values));
        }
    }

    /// <summary>The values in the search space's order.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Values => values;

    /// <summary>The parameter names in order.</summary>
    public IEnumerable<string> Names => values.Select(v => v.Key);

    /// <summary>The value of a parameter (names are case-insensitive).</summary>
    /// <param name="name">The parameter name.</param>
    /// <exception cref="KeyNotFoundException">No such parameter; the message lists the known ones.</exception>
    public object this[string name] => byName.TryGetValue(name, out var v) ? v
        : throw new KeyNotFoundException($"No trial parameter '{name}'; the trial has: {string.Join(", ", Names)}.");

    /// <summary>Whether the trial has a value for <paramref name="name"/>.</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns>True when present.</returns>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>Gets a value if present.</summary>
    /// <param name="name">The parameter name.</param>
    /// <param name="value">The value, or null.</param>
    /// <returns>True when present.</returns>
    public bool TryGetValue(string name, out object? value) => byName.TryGetValue(name, out value);

    /// <summary>A value as a <see cref="double"/> (any numeric choice converts).</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns>The value.</returns>
    public double GetDouble(string name) => Convert.ToDouble(this[name], CultureInfo.InvariantCulture);

    /// <summary>A value as an <see cref="int"/> (a numeric choice converts; fractions round to the nearest).</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns>The value.</returns>
    public int GetInt32(string name) => this[name] is int i ? i : (int)Math.Round(GetDouble(name));

    /// <summary>A compact one-line summary, e.g. <c>LearningRate=1.2e-3 Depth=4 PatchSize=4</c>.</summary>
    /// <returns>The summary.</returns>
    public override string ToString() => string.Join(" ", values.Select(v => $"{v.Key}={SearchDimension.Format(v.Value)}"));
}
