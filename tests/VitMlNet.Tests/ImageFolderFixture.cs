using SkiaSharp;

namespace VitMlNet.Tests;

/// <summary>Writes the synthetic task as PNG files (one subfolder per class) into a temp folder.</summary>
public sealed class ImageFolderFixture : IDisposable
{
    public ImageFolderFixture(int count, int seed, int size = 16, bool gray = false)
    {
        Root = Path.Combine(Path.GetTempPath(), "vit-images-" + Guid.NewGuid().ToString("N"));
        var (pixels, labels) = SyntheticImages.Make(count, seed, 3, size, size);
        int plane = size * size;
        for (int i = 0; i < count; i++)
        {
            string cls = SyntheticImages.ClassNames[labels[i]];
            string dir = Path.Combine(Root, cls);
            Directory.CreateDirectory(dir);
            using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    long o = (long)i * 3 * plane + y * size + x;
                    byte r = pixels[o], g = pixels[o + plane], b = pixels[o + 2 * plane];
                    bitmap.SetPixel(x, y, gray ? new SKColor(r, r, r) : new SKColor(r, g, b));
                }
            }
            string file = Path.Combine(dir, $"{i:D4}.png");
            using (var image = SKImage.FromBitmap(bitmap))
            using (var data = image.Encode(SKEncodedImageFormat.Png, 100))
            using (var stream = File.Create(file))
            {
                data.SaveTo(stream);
            }
            Rows.Add(new ImageRow { ImagePath = file, Label = cls });
        }
    }

    public string Root { get; }

    public List<ImageRow> Rows { get; } = new();

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, true);
    }
}

public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}
