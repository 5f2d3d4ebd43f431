using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VitMlNet.Modeling;

/// <summary>
/// One value per image channel (a per-channel mean or standard deviation), immutable and equal by value: two instances
/// with the same values in the same order are equal and hash alike, so a <see cref="ViTConfig"/> that holds them keeps
/// the record's generated equality over every field.
/// </summary>
/// <remarks>Converts implicitly from <c>float[]</c> and <see cref="List{T}"/>, and builds from a collection expression (<c>[0.5f, 0.5f, 0.5f]</c>).</remarks>
[CollectionBuilder(typeof(ChannelValues), nameof(Create))]
[JsonConverter(typeof(ChannelValuesJsonConverter))]
public sealed class ChannelValues : IReadOnlyList<float>, IEquatable<ChannelValues>
{
    private readonly float[] _values;

    /// <summary>Copies <paramref name="values"/>.</summary>
    public ChannelValues(IEnumerable<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = values.ToArray();
    }

    private ChannelValues(float[] owned, bool _) => _values = owned;

    /// <summary>Copies <paramref name="values"/> (the builder of collection expressions).</summary>
    public static ChannelValues Create(ReadOnlySpan<float> values) => new(values.ToArray(), true);

    /// <summary>Copies an array.</summary>
    public static implicit operator ChannelValues(float[] values) => new(values);

    /// <summary>Copies a list.</summary>
    public static implicit operator ChannelValues(List<float> values) => new(values);

    /// <inheritdoc />
    public float this[int index] => _values[index];

    /// <inheritdoc />
    public int Count => _values.Length;

    /// <inheritdoc />
    public IEnumerator<float> GetEnumerator() => ((IEnumerable<float>)_values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Whether both hold the same values in the same order (<see cref="float.Equals(float)"/> element by element).</summary>
    public bool Equals(ChannelValues? other) =>
        other is not null && _values.AsSpan().SequenceEqual(other._values);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ChannelValues);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (float v in _values) hash.Add(v);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", _values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
}

/// <summary>Reads and writes <see cref="ChannelValues"/> as a JSON array of numbers.</summary>
internal sealed class ChannelValuesJsonConverter : JsonConverter<ChannelValues>
{
    public override ChannelValues? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<float[]>(ref reader, options) is { } values ? new ChannelValues(values) : null;

    public override void Write(Utf8JsonWriter writer, ChannelValues value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.ToArray(), options);
}
