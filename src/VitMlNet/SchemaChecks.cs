using Microsoft.ML;
using Microsoft.ML.Data;

namespace VitMlNet;

/// <summary>
/// Input-schema checks shared by the estimator (on <see cref="SchemaShape"/>) and the transformer and
/// <c>Fit</c> (on <see cref="DataViewSchema"/>). Messages name the column, the expected and the actual type,
/// in the spirit of ML.NET's schema-mismatch errors.
/// </summary>
internal static class SchemaChecks
{
    public static Exception Mismatch(string role, string column, string expected, string actual) =>
        new ArgumentOutOfRangeException(nameof(column),
            $"Schema mismatch for {role} column '{column}': expected {expected}, actual {actual}.");

    public static Exception Missing(string role, string column, IEnumerable<string> available) =>
        new ArgumentOutOfRangeException(nameof(column),
            $"The {role} column '{column}' was not found in the input; available columns: {string.Join(", ", available)}.");

    /// <summary>Checks the feature column and returns its vector type.</summary>
    public static VectorDataViewType CheckFeature(DataViewSchema schema, string name, int? expectedSize = null)
    {
        var column = schema.GetColumnOrNull(name) ?? throw Missing("feature", name, schema.Select(c => c.Name));
        if (column.Type is not VectorDataViewType vector || vector.ItemType != NumberDataViewType.Single || !vector.IsKnownSize)
            throw Mismatch("feature", name, "known-size vector of Single (the pixels from ExtractPixels)", Describe(column.Type));
        if (expectedSize is int size && vector.Size != size)
            throw Mismatch("feature", name, $"vector of Single of size {size} (the model's C×H×W)", Describe(column.Type));
        return vector;
    }

    /// <summary>Checks a key-typed label (or teacher) column and returns its key type.</summary>
    public static KeyDataViewType CheckKey(DataViewSchema schema, string role, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw Missing(role, name, schema.Select(c => c.Name));
        if (column.Type is not KeyDataViewType key)
            throw Mismatch(role, name, "a key type (use MapValueToKey)", Describe(column.Type));
        return key;
    }

    public static void CheckFeature(SchemaShape shape, string name)
    {
        var column = Find(shape, name) ?? throw Missing("feature", name, shape.Select(c => c.Name));
        if (column.Kind != SchemaShape.Column.VectorKind.Vector || column.ItemType != NumberDataViewType.Single)
            throw Mismatch("feature", name, "known-size vector of Single (the pixels from ExtractPixels)", Describe(column));
    }

    public static void CheckKey(SchemaShape shape, string role, string name)
    {
        var column = Find(shape, name) ?? throw Missing(role, name, shape.Select(c => c.Name));
        if (!column.IsKey || column.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw Mismatch(role, name, "a key type (use MapValueToKey)", Describe(column));
    }

    public static SchemaShape.Column? Find(SchemaShape shape, string name)
    {
        foreach (var c in shape)
        {
            if (c.Name == name) return c;
        }
        return null;
    }

    public static string Describe(DataViewType type) => type switch
    {
        VectorDataViewType v when v.IsKnownSize => $"Vector<{Describe(v.ItemType)}, {v.Size}>",
        VectorDataViewType v => $"Vector<{Describe(v.ItemType)}> of unknown size",
        KeyDataViewType k => $"Key<{k.RawType.Name}, {k.Count}>",
        _ => type.ToString() ?? type.GetType().Name,
    };

    private static string Describe(SchemaShape.Column c)
    {
        string item = c.IsKey ? "Key" : Describe(c.ItemType);
        return c.Kind switch
        {
            SchemaShape.Column.VectorKind.Scalar => item,
            SchemaShape.Column.VectorKind.Vector => $"Vector<{item}>",
            _ => $"Vector<{item}> of unknown size",
        };
    }

    /// <summary>
    /// Builds a <see cref="SchemaShape.Column"/>: ML.NET keeps its constructor internal, so the public
    /// readonly fields of the struct are set on a boxed copy (covered by the schema-propagation tests).
    /// </summary>
    public static SchemaShape.Column MakeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null)
    {
        object boxed = default(SchemaShape.Column);
        var type = typeof(SchemaShape.Column);
        type.GetField(nameof(SchemaShape.Column.Name))!.SetValue(boxed, name);
        type.GetField(nameof(SchemaShape.Column.Kind))!.SetValue(boxed, kind);
        type.GetField(nameof(SchemaShape.Column.ItemType))!.SetValue(boxed, itemType);
        type.GetField(nameof(SchemaShape.Column.IsKey))!.SetValue(boxed, isKey);
        type.GetField(nameof(SchemaShape.Column.Annotations))!.SetValue(boxed, annotations ?? new SchemaShape(Array.Empty<SchemaShape.Column>()));
        return (SchemaShape.Column)boxed;
    }
}
