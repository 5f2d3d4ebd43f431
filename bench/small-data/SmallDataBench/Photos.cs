using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using SkiaSharp;

namespace VitMlNet.Bench.SmallData;

/// <summary>A photo file and its class (the name of its folder).</summary>
internal sealed record Photo(string Path, string Label)
{
    /// <summary>The photos of FOLDER/CLASS/*, classes in ordinal order, files in ordinal order.</summary>
    public static List<Photo> Folder(string folder) =>
        Directory.GetDirectories(folder).Order(StringComparer.Ordinal)
            .SelectMany(d => Directory.GetFiles(d).Order(StringComparer.Ordinal).Select(f => new Photo(f, System.IO.Path.GetFileName(d))))
            .ToList();
}

/// <summary>A training row: an image in memory, its label and (optionally) a teacher's label.</summary>
internal sealed class TrainRow
{
    [ImageType(1, 1)]
    public MLImage Image { get; set; } = null!;

    public string Label { get; set; } = string.Empty;

    public string Teacher { get; set; } = string.Empty;
}

/// <summary>What a plain consumer of either zip feeds: one image column.</summary>
internal sealed class ConsumerInput
{
    [ImageType(1, 1)]
    [ColumnName("Image")]
    public MLImage Image { get; set; } = null!;
}

/// <summary>What a plain consumer of either zip reads back.</summary>
internal sealed class ConsumerOutput
{
    [ColumnName("PredictedLabel")]
    public string PredictedLabel { get; set; } = string.Empty;
}

/// <summary>A label row for the key mapping (classes in a fixed order).</summary>
internal sealed class LabelRow
{
    public string Label { get; set; } = string.Empty;
}

/// <summary>
/// Offline augmentation on the full-size photo: random-resized crops (area 30–100 %, aspect 3:4–4:3) and mirrors, each
/// view encoded as PNG and decoded back as an <see cref="MLImage"/> (longest side at most <c>maxSide</c>).
/// </summary>
internal static class Views
{
    public static MLImage Load(string path) => MLImage.CreateFromFile(path);

    public static List<MLImage> Make(string path, int count, Random random, int maxSide = 256)
    {
        using var bitmap = SKBitmap.Decode(path) ?? throw new InvalidDataException($"cannot decode {path}");
        var views = new List<MLImage>(count);
        for (int v = 0; v < count; v++)
        {
            double area = bitmap.Width * bitmap.Height * (0.3 + 0.7 * random.NextDouble());
            double aspect = Math.Exp(Math.Log(3.0 / 4) + random.NextDouble() * (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)));
            int w = Math.Clamp((int)Math.Round(Math.Sqrt(area * aspect)), 8, bitmap.Width);
            int h = Math.Clamp((int)Math.Round(Math.Sqrt(area / aspect)), 8, bitmap.Height);
            int x = random.Next(bitmap.Width - w + 1), y = random.Next(bitmap.Height - h + 1);
            bool flip = random.Next(2) == 1;
            double scale = Math.Min(1.0, (double)maxSide / Math.Max(w, h));
            int ow = Math.Max(1, (int)Math.Round(w * scale)), oh = Math.Max(1, (int)Math.Round(h * scale));
            using var target = new SKBitmap(new SKImageInfo(ow, oh, SKColorType.Rgba8888, SKAlphaType.Premul));
            using (var canvas = new SKCanvas(target))
            {
                if (flip) canvas.Scale(-1, 1, ow / 2f, 0);
                using var image = SKImage.FromBitmap(bitmap);
                canvas.DrawImage(image, new SKRect(x, y, x + w, y + h), new SKRect(0, 0, ow, oh), new SKSamplingOptions(SKCubicResampler.Mitchell));
            }
            using var encoded = target.Encode(SKEncodedImageFormat.Png, 100);
            using var stream = new MemoryStream(encoded.ToArray());
            views.Add(MLImage.CreateFromStream(stream));
        }
        return views;
    }
}
