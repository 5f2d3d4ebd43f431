using System.Runtime.InteropServices;
using Microsoft.ML.Data;
using SkiaSharp;

namespace VitMlNet.Data;

/// <summary>
/// Pixel plumbing shared by the readers: decoding files with SkiaSharp into planar (CHW) uint8 buffers,
/// resizing and channel conversion of CHW buffers, and CHW → <see cref="MLImage"/>.
/// </summary>
/// <remarks>Channel order of every CHW buffer is R, G, B (or a single gray plane).</remarks>
internal static class ImageCodec
{
    /// <summary>File extensions the image readers pick up (compared case-insensitively).</summary>
    internal static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];

    internal static bool HasImageExtension(string path) =>
        Array.Exists(Extensions, e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    internal static void ValidateShape(int channels, int height, int width, string what)
    {
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, $"{what}: channels must be 1 (gray) or 3 (RGB), not {channels}.");
        }

        if (height <= 0 || width <= 0)
        {
            throw new ArgumentOutOfRangeException(height <= 0 ? nameof(height) : nameof(width), $"{what}: height and width must be positive, not {height}x{width}.");
        }
    }

    /// <summary>Opens only the header of an image file; returns why it is unreadable, or null when it looks fine.</summary>
    internal static string? ProbeHeader(string path)
    {
        try
        {
            using var codec = SKCodec.Create(path, out var result);
            if (codec is null)
            {
                return $"not a recognised image format (SkiaSharp: {result})";
            }

            var info = codec.Info;
            return info.Width <= 0 || info.Height <= 0 ? $"invalid image size {info.Width}x{info.Height}" : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read: {e.Message}";
        }
    }

    /// <summary>
    /// Decodes <paramref name="path"/>, resizes it to <paramref name="height"/>×<paramref name="width"/> (stretching,
    /// aspect ratio not kept) and writes it as CHW into <paramref name="destination"/>.
    /// </summary>
    /// <returns>Why the file could not be decoded, or null on success.</returns>
    internal static string? TryDecodeFile(string path, int channels, int height, int width, Span<byte> destination)
    {
        SKBitmap? bitmap = null;
        try
        {
            using (var codec = SKCodec.Create(path, out var createResult))
            {
                if (codec is null)
                {
                    return $"not a recognised image format (SkiaSharp: {createResult})";
                }

                var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                if (info.Width <= 0 || info.Height <= 0)
                {
                    return $"invalid image size {info.Width}x{info.Height}";
                }

                bitmap = new SKBitmap(info);
                var result = codec.GetPixels(info, bitmap.GetPixels());
                if (result == SKCodecResult.IncompleteInput)
                {
                    return "truncated image data (SkiaSharp: IncompleteInput)";
                }

                if (result != SKCodecResult.Success)
                {
                    return $"the decoder failed (SkiaSharp: {result})";
                }
            }

            RgbaToChw(bitmap, channels, height, width, destination);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read: {e.Message}";
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
        finally
        {
            bitmap?.Dispose();
        }
    }

    /// <summary>Resizes and channel-converts one CHW image.</summary>
    internal static void ResizeChw(ReadOnlySpan<byte> source, int channels, int height, int width,
        Span<byte> destination, int newChannels, int newHeight, int newWidth)
    {
        if (height == newHeight && width == newWidth)
        {
            ConvertChannels(source, channels, destination, newChannels, height * width);
            return;
        }

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgba = new byte[bitmap.RowBytes * height];
        ChwToInterleaved(source, channels, height, width, rgba, bitmap.RowBytes, rgbaOrder: true);
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);

        RgbaToChw(bitmap, newChannels, newHeight, newWidth, destination);
    }

    /// <summary>Builds a Bgra32 <see cref="MLImage"/> from one CHW image (gray is replicated into B, G and R).</summary>
    internal static MLImage ToMLImage(ReadOnlySpan<byte> chw, int channels, int height, int width)
    {
        var bgra = new byte[height * width * 4];
        ChwToInterleaved(chw, channels, height, width, bgra, width * 4, rgbaOrder: false);
        return MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, bgra);
    }

    private static void RgbaToChw(SKBitmap bitmap, int channels, int height, int width, Span<byte> destination)
    {
        SKBitmap? resized = null;
        try
        {
            if (bitmap.Width != width || bitmap.Height != height)
            {
                resized = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                if (!bitmap.ScalePixels(resized, new SKSamplingOptions(SKCubicResampler.Mitchell)))
                {
                    throw new InvalidOperationException($"SkiaSharp could not resize a {bitmap.Width}x{bitmap.Height} image to {width}x{height}.");
                }
            }

            var source = resized ?? bitmap;
            ReadOnlySpan<byte> rgba = source.GetPixelSpan();
            int rowBytes = source.RowBytes;
            int plane = height * width;
            for (int y = 0; y < height; y++)
            {
                var row = rgba.Slice(y * rowBytes, width * 4);
                int o = y * width;
                for (int x = 0; x < width; x++)
                {
                    byte r = row[4 * x], g = row[(4 * x) + 1], b = row[(4 * x) + 2];
                    if (channels == 1)
                    {
                        destination[o + x] = Luma(r, g, b);
                    }
                    else
                    {
                        destination[o + x] = r;
                        destination[plane + o + x] = g;
                        destination[(2 * plane) + o + x] = b;
                    }
                }
            }
        }
        finally
        {
            resized?.Dispose();
        }
    }

    /// <summary>CHW → interleaved 4-byte pixels, RGBA or BGRA order, alpha 255.</summary>
    private static void ChwToInterleaved(ReadOnlySpan<byte> chw, int channels, int height, int width,
        Span<byte> destination, int rowBytes, bool rgbaOrder)
    {
        int plane = height * width;
        for (int y = 0; y < height; y++)
        {
            var row = destination.Slice(y * rowBytes, width * 4);
            for (int x = 0; x < width; x++)
            {
                int i = (y * width) + x;
                byte r, g, b;
                if (channels == 1)
                {
                    r = g = b = chw[i];
                }
                else
                {
                    r = chw[i];
                    g = chw[plane + i];
                    b = chw[(2 * plane) + i];
                }

                row[4 * x] = rgbaOrder ? r : b;
                row[(4 * x) + 1] = g;
                row[(4 * x) + 2] = rgbaOrder ? b : r;
                row[(4 * x) + 3] = 255;
            }
        }
    }

    private static void ConvertChannels(ReadOnlySpan<byte> source, int channels, Span<byte> destination, int newChannels, int plane)
    {
        if (channels == newChannels)
        {
            source[..(channels * plane)].CopyTo(destination);
        }
        else if (channels == 1)
        {
            for (int c = 0; c < 3; c++)
            {
                source[..plane].CopyTo(destination.Slice(c * plane, plane));
            }
        }
        else
        {
            for (int i = 0; i < plane; i++)
            {
                destination[i] = Luma(source[i], source[plane + i], source[(2 * plane) + i]);
            }
        }
    }

    /// <summary>ITU-R BT.601 luma, rounded: gray inputs map to themselves.</summary>
    private static byte Luma(byte r, byte g, byte b) => (byte)(((299 * r) + (587 * g) + (114 * b) + 500) / 1000);
}
