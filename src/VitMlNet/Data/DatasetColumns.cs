using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace VitMlNet.Data;

/// <summary>
/// Marks an <see cref="MLImage"/> member as an image column of any size. ML.NET's own <see cref="ImageTypeAttribute"/>
/// needs a fixed height and width, and <see cref="MLImage"/> has no type registered without an attribute.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class AnySizeImageTypeAttribute : DataViewTypeAttribute
{
    public override bool Equals(DataViewTypeAttribute other) => other is AnySizeImageTypeAttribute;

    public override int GetHashCode() => typeof(AnySizeImageTypeAttribute).GetHashCode();

    public override void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), this);
}

/// <summary>Row of the IDataView built from an <see cref="ImageDataset"/>.</summary>
internal sealed class ImageRow
{
    [AnySizeImageType]
    [ColumnName(DatasetColumns.Image)]
    public MLImage Image { get; set; } = null!;

    public string Label { get; set; } = string.Empty;
}

/// <summary>Column names shared by every reader's IDataView.</summary>
internal static class DatasetColumns
{
    /// <summary>The image column (<see cref="MLImage"/>, accepted by <c>ResizeImages</c> and <c>ExtractPixels</c>): "Image".</summary>
    public const string Image = ImagePreprocessing.ImageColumn;

    /// <summary>The label column (string, the class name): "Label".</summary>
    public const string Label = "Label";

    /// <summary>The source file column (string, full path), present for image folders and CSV lists: "ImagePath".</summary>
    public const string ImagePath = "ImagePath";

    internal static IDataView Load<T>(MLContext mlContext, IEnumerable<T> rows)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return mlContext.Data.LoadFromEnumerable(rows);
    }
}
