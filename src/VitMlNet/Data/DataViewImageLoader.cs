using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Training;

namespace VitMlNet.Data;

/// <summary>Images read from an <see cref="IDataView"/> into an <see cref="ImageCache"/>, with their class names.</summary>
/// <param name="Cache">The pixels and labels (and so the geometry: channels, height, width).</param>
/// <param name="ClassNames">Class names in key order (the label's key values, or "0", "1", ... without them).</param>
internal sealed record LoadedImages(ImageCache Cache, string[] ClassNames) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Cache.Dispose();
}

/// <summary>
/// Reads the pixel vectors and key labels of an <see cref="IDataView"/> once into a compact tensor cache,
/// checking the schema and every row on the way.
/// </summary>
internal static class DataViewImageLoader
{
    /// <summary>Reads every row. Throws when the data is empty, a label is missing or the labels hold a single class.</summary>
    public static LoadedImages Load(IDataView data, string featureColumn, string labelColumn, string? teacherColumn,
        int? channels, int? height, int? width, int? expectedClasses = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var schema = data.Schema;
        var vector = SchemaChecks.CheckFeature(schema, featureColumn);
        var (c, h, w) = VisionTransformerRecipes.ColumnGeometry(vector, featureColumn, channels, height, width);
        var key = SchemaChecks.CheckKey(schema, "label", labelColumn);
        int classes = checked((int)key.Count);
        if (expectedClasses is int k && k != classes)
            throw SchemaChecks.Mismatch("label", labelColumn, $"a key type with {k} values (as the training labels)", SchemaChecks.Describe(key));
        if (teacherColumn is not null)
        {
            var teacher = SchemaChecks.CheckKey(schema, "teacher", teacherColumn);
            if (teacher.Count != key.Count)
                throw SchemaChecks.Mismatch("teacher", teacherColumn, $"a key type with {key.Count} values (as the label)", SchemaChecks.Describe(teacher));
        }

        var feature = schema[featureColumn];
        var label = schema[labelColumn];
        var columns = new List<DataViewSchema.Column> { feature, label };
        if (teacherColumn is not null) columns.Add(schema[teacherColumn]);
        int per = c * h * w;
        var pixels = new List<float[]>();
        var labels = new List<int>();
        var teacherLabels = teacherColumn is null ? null : new List<int>();
        using (var cursor = data.GetRowCursor(columns))
        {
            var getPixels = cursor.GetGetter<VBuffer<float>>(feature);
            var getLabel = KeyGetter(cursor, label);
            var getTeacher = teacherColumn is null ? null : KeyGetter(cursor, schema[teacherColumn]);
            var buffer = default(VBuffer<float>);
            long row = 0;
            while (MoveNext(cursor, data, row))
            {
                if ((row & 1023) == 0) cancellation.ThrowIfCancellationRequested();
                ulong raw = getLabel();
                if (raw == 0) throw new InvalidDataException($"Label column '{labelColumn}' has a missing value (key 0) at row {row}: every training row needs a label.");
                labels.Add((int)(raw - 1));
                if (getTeacher is not null)
                {
                    ulong t = getTeacher();
                    if (t == 0) throw new InvalidDataException($"Teacher column '{teacherColumn}' has a missing value (key 0) at row {row}.");
                    teacherLabels!.Add((int)(t - 1));
                }
                GetPixels(getPixels, ref buffer, data, row);
                if (buffer.Length != per)
                    throw SchemaChecks.Mismatch("feature", featureColumn, $"{per} values per row", $"{buffer.Length} at row {row}");
                var dense = new float[per];
                buffer.CopyTo(dense);
                pixels.Add(dense);
                row++;
            }
        }
        if (labels.Count == 0)
            throw new InvalidOperationException($"The training data is empty: expected at least one row with columns '{featureColumn}' and '{labelColumn}', actual 0 rows.");
        var distinct = labels.Distinct().Count();
        string[] names = ClassNames(label, classes);
        if (distinct < 2)
        {
            throw new InvalidOperationException(
                $"Label column '{labelColumn}' holds a single class ('{names[labels[0]]}') in all {labels.Count} rows: expected at least 2 classes to train a classifier.");
        }
        var flat = new float[(long)labels.Count * per];
        for (int i = 0; i < pixels.Count; i++) Array.Copy(pixels[i], 0, flat, (long)i * per, per);
        var cache = ImageCache.FromFloats(flat, labels.ToArray(), c, h, w, classes, teacherLabels?.ToArray());
        return new LoadedImages(cache, names);
    }

    /// <summary>Moves the cursor to row <paramref name="row"/>, a failure wrapped by <see cref="RowFailure"/>.</summary>
    private static bool MoveNext(DataViewRowCursor cursor, IDataView data, long row)
    {
        try
        {
            return cursor.MoveNext();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw RowFailure(data, row, e);
        }
    }

    /// <summary>Reads row <paramref name="row"/>'s pixels into <paramref name="buffer"/>, a failure wrapped by <see cref="RowFailure"/>.</summary>
    private static void GetPixels(ValueGetter<VBuffer<float>> getter, ref VBuffer<float> buffer, IDataView data, long row)
    {
        try
        {
            getter(ref buffer);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw RowFailure(data, row, e);
        }
    }

    /// <summary>
    /// Wraps a failure while reading a row (typically an unreadable image file in LoadImages) into one message with
    /// the row number and the row's text columns (such as the image path), which ML.NET's own message lacks.
    /// </summary>
    private static Exception RowFailure(IDataView data, long row, Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        string context = DescribeRow(data, row);
        return new InvalidDataException($"Reading row {row} of the data failed{context}: {inner.Message}", e);
    }

    private static string DescribeRow(IDataView data, long row)
    {
        try
        {
            var text = data.Schema.Where(c => c.Type is TextDataViewType && !c.IsHidden).Take(4).ToArray();
            if (text.Length == 0) return "";
            using var cursor = data.GetRowCursor(text);
            var getters = text.Select(c => cursor.GetGetter<ReadOnlyMemory<char>>(c)).ToArray();
            for (long i = 0; i <= row; i++)
            {
                if (!cursor.MoveNext()) return "";
            }
            var parts = new List<string>();
            for (int i = 0; i < text.Length; i++)
            {
                ReadOnlyMemory<char> value = default;
                getters[i](ref value);
                parts.Add($"{text[i].Name}='{value}'");
            }
            return " (" + string.Join(", ", parts) + ")";
        }
        catch (Exception)
        {
            return "";
        }
    }

    /// <summary>The key values of a key column as strings, or "0".."K-1" when it has none.</summary>
    public static string[] ClassNames(DataViewSchema.Column keyColumn, int count)
    {
        var keyValuesType = keyColumn.Annotations.Schema.GetColumnOrNull("KeyValues")?.Type;
        if (keyValuesType is VectorDataViewType { ItemType: TextDataViewType })
        {
            var values = default(VBuffer<ReadOnlyMemory<char>>);
            keyColumn.GetKeyValues(ref values);
            var dense = values.DenseValues().Select(v => v.ToString()).ToArray();
            if (dense.Length == count) return dense;
        }
        else if (keyValuesType is VectorDataViewType vt)
        {
            // Numeric key values (e.g. MapValueToKey over an int label): render them invariantly.
            var names = TryNumericKeyValues(keyColumn, vt, count);
            if (names is not null) return names;
        }
        return Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    private static string[]? TryNumericKeyValues(DataViewSchema.Column column, VectorDataViewType type, int count)
    {
        string[]? Read<T>()
        {
            var values = default(VBuffer<T>);
            column.Annotations.GetValue("KeyValues", ref values);
            var dense = values.DenseValues().Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray();
            return dense.Length == count ? dense : null;
        }
        return type.ItemType.RawType switch
        {
            Type t when t == typeof(int) => Read<int>(),
            Type t when t == typeof(uint) => Read<uint>(),
            Type t when t == typeof(long) => Read<long>(),
            Type t when t == typeof(float) => Read<float>(),
            Type t when t == typeof(double) => Read<double>(),
            Type t when t == typeof(bool) => Read<bool>(),
            _ => null,
        };
    }

    private static Func<ulong> KeyGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var raw = ((KeyDataViewType)column.Type).RawType;
        if (raw == typeof(uint)) { var g = cursor.GetGetter<uint>(column); return () => { uint v = 0; g(ref v); return v; }; }
        if (raw == typeof(ulong)) { var g = cursor.GetGetter<ulong>(column); return () => { ulong v = 0; g(ref v); return v; }; }
        if (raw == typeof(ushort)) { var g = cursor.GetGetter<ushort>(column); return () => { ushort v = 0; g(ref v); return v; }; }
        if (raw == typeof(byte)) { var g = cursor.GetGetter<byte>(column); return () => { byte v = 0; g(ref v); return v; }; }
        throw SchemaChecks.Mismatch("label", column.Name, "a key type over UInt32", SchemaChecks.Describe(column.Type));
    }
}
