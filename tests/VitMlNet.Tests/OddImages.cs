using SkiaSharp;

namespace VitMlNet.Tests;

/// <summary>
/// Image folders as users have them: files of odd sizes and shapes, PNG and JPEG, for the three synthetic classes
/// (bright top half, bright left half, bright upper-left triangle) with noise; none of them at a model's input size.
/// </summary>
public sealed class OddImageFolder : IDisposable
{
    public static readonly string[] ClassNames = ["diagonal", "left", "top"];

    public OddImageFolder(int perClass, int seed)
    {
        Root = Path.Combine(Path.GetTempPath(), "vit-odd-" + Guid.NewGuid().ToString("N"));
        var random = new Random(seed);
        for (int k = 0; k < ClassNames.Length; k++)
        {
            string dir = Path.Combine(Root, ClassNames[k]);
            Directory.CreateDirectory(dir);
            for (int i = 0; i < perClass; i++)
            {
                int width = random.Next(19, 61), height = random.Next(19, 61);
                using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
                var tint = new[] { random.Next(60, 256), random.Next(60, 256), random.Next(60, 256) };
                for (int y = 0; y < height; y++)
                {
                    for (int x = 0; x < width; x++)
                    {
                        double u = (x + 0.5) / width, v = (y + 0.5) / height;
                        bool on = k switch { 0 => u + v < 1, 1 => u < 0.5, _ => v < 0.5 };
                        byte Channel(int c) => (byte)Math.Clamp((on ? tint[c] : 30) + random.Next(-25, 26), 0, 255);
                        bitmap.SetPixel(x, y, new SKColor(Channel(0), Channel(1), Channel(2)));
                    }
                }

                bool jpeg = i % 2 == 1;
                string file = Path.Combine(dir, $"{i:D3}.{(jpeg ? "jpg" : "png")}");
                using var image = SKImage.FromBitmap(bitmap);
                using var data = image.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);
                using var stream = File.Create(file);
                data.SaveTo(stream);
                Files.Add((file, ClassNames[k]));
            }
        }
    }

    public string Root { get; }

    public List<(string Path, string Label)> Files { get; } = [];

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, true);
    }
}
