using System.Runtime.InteropServices;
using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>Validation of planar (CHW) uint8 pixel arrays and their conversion to bitmaps.</summary>
internal static class ChartImages
{
    /// <summary>Channels of a C×H×W byte array (1 or 3); throws naming <paramref name="what"/> when the sizes do not match.</summary>
    internal static int Channels(byte[]? pixels, int width, int height, string what)
    {
        if (pixels is null)
        {
            throw new ArgumentException($"{what}: the pixel array is null.", what);
        }

        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"{what}: width and height must be positive, not {width}x{height}.", what);
        }

        long plane = (long)width * height;
        if (pixels.Length == plane)
        {
            return 1;
        }

        if (pixels.Length == 3 * plane)
        {
            return 3;
        }

        throw new ArgumentException(
            $"{what}: the pixel array has {pixels.Length} bytes, but a {width}x{height} image needs {plane} (gray) or {3 * plane} (RGB, planar CxHxW).",
            what);
    }

    /// <summary>The RGB colour of pixel (x, y) of a CHW image.</summary>
    internal static (byte R, byte G, byte B) Rgb(byte[] pixels, int channels, int width, int height, int x, int y)
    {
        int i = (y * width) + x;
        if (channels == 1)
        {
            byte v = pixels[i];
            return (v, v, v);
        }

        int plane = width * height;
        return (pixels[i], pixels[plane + i], pixels[(2 * plane) + i]);
    }

    /// <summary>
    /// The image drawn at <paramref name="displayWidth"/>×<paramref name="displayHeight"/> by nearest-neighbour sampling,
    /// optionally blended with a jet-coloured heat map (values in [0, 1] per display pixel).
    /// </summary>
    internal static SKBitmap Render(byte[] pixels, int channels, int width, int height, int displayWidth, int displayHeight,
        float[]? heat = null, float alpha = 0)
    {
        var bitmap = new SKBitmap(new SKImageInfo(displayWidth, displayHeight, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[displayWidth * displayHeight * 4];
        for (int dy = 0; dy < displayHeight; dy++)
        {
            int sy = Math.Min(height - 1, (int)((long)dy * height / displayHeight));
            for (int dx = 0; dx < displayWidth; dx++)
            {
                int sx = Math.Min(width - 1, (int)((long)dx * width / displayWidth));
                var (r, g, b) = Rgb(pixels, channels, width, height, sx, sy);
                int o = ((dy * displayWidth) + dx) * 4;
                if (heat is null)
                {
                    (rgba[o], rgba[o + 1], rgba[o + 2]) = (r, g, b);
                }
                else
                {
                    var (hr, hg, hb) = ChartStyle.Jet(heat[(dy * displayWidth) + dx]);
                    rgba[o] = Blend(r, hr, alpha);
                    rgba[o + 1] = Blend(g, hg, alpha);
                    rgba[o + 2] = Blend(b, hb, alpha);
                }

                rgba[o + 3] = 255;
            }
        }

        if (bitmap.RowBytes != displayWidth * 4)
        {
            throw new InvalidOperationException($"Unexpected bitmap row stride {bitmap.RowBytes} for width {displayWidth}.");
        }

        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    private static byte Blend(byte image, float heat, float alpha) =>
        (byte)Math.Clamp(MathF.Round((image * (1 - alpha)) + (heat * 255f * alpha)), 0, 255);

    /// <summary>
    /// Display scale: <paramref name="scale"/>, reduced so that the larger side is at most <paramref name="maxSide"/> pixels.
    /// </summary>
    internal static float DisplayScale(int width, int height, int scale, int maxSide) =>
        MathF.Min(scale, (float)maxSide / Math.Max(width, height));
}
