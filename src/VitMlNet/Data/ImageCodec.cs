using Microsoft.ML.Data;
using SkiaSharp;

namespace VitMlNet.Data;

/// <summary>
/// File plumbing shared by the readers: which files are images, whether a file decodes completely, loading a file as
/// an app does, and CHW pixels → <see cref="MLImage"/>. Resizing and channel conversion are not here: they are
/// <see cref="ImagePreprocessing"/>'s, the chain saved in the zip.
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

    /// <summary>Whether the file's header says it is a gray image (SkiaSharp decodes it as Gray8); false when unreadable.</summary>
    internal static bool IsGray(string path)
    {
        try
        {
            using var codec = SKCodec.Create(path);
            return codec?.Info.ColorType == SKColorType.Gray8;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decodes the whole file once with SkiaSharp to find out whether it is a complete image: a truncated PNG or JPEG
    /// still yields a partial picture from <see cref="MLImage.CreateFromFile"/> (SkiaSharp's IncompleteInput).
    /// </summary>
    /// <returns>Why the file is not a complete image, or null when it is.</returns>
    internal static string? CheckFile(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return Directory.Exists(path) ? "it is a folder, not an image file" : "the file does not exist (or is a dangling link)";
            }

            using var codec = SKCodec.Create(path, out var createResult);
            if (codec is null)
            {
                return $"not a recognised image format (SkiaSharp: {createResult})";
            }

            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
            if (info.Width <= 0 || info.Height <= 0)
            {
                return $"invalid image size {info.Width}x{info.Height}";
            }

            using var bitmap = new SKBitmap(info);
            var result = codec.GetPixels(info, bitmap.GetPixels());
            return result switch
            {
                SKCodecResult.Success => null,
                SKCodecResult.IncompleteInput => "truncated image data (SkiaSharp: IncompleteInput)",
                _ => $"the decoder failed (SkiaSharp: {result})",
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read: {e.Message}";
        }
    }

    /// <summary>
    /// Loads an image file as an app does (<see cref="MLImage.CreateFromFile"/>) after <see cref="CheckFile"/> has found it complete.
    /// </summary>
    /// <exception cref="DatasetException">The file is missing, truncated or not an image; the message names it.</exception>
    internal static MLImage LoadChecked(string path)
    {
        string? problem = CheckFile(path);
        if (problem is not null)
        {
            throw new DatasetException($"Image file '{path}' cannot be decoded: {problem}.", path);
        }

        try
        {
            return MLImage.CreateFromFile(path);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
        {
            throw new DatasetException($"Image file '{path}' cannot be loaded: {e.Message}", path, e);
        }
    }

    /// <summary>Builds a Bgra32 <see cref="MLImage"/> from one CHW image (gray is replicated into B, G and R).</summary>
    internal static MLImage ToMLImage(ReadOnlySpan<byte> chw, int channels, int height, int width)
    {
        var bgra = new byte[height * width * 4];
        int plane = height * width;
        for (int i = 0; i < plane; i++)
        {
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

            bgra[4 * i] = b;
            bgra[(4 * i) + 1] = g;
            bgra[(4 * i) + 2] = r;
            bgra[(4 * i) + 3] = 255;
        }

        return MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, bgra);
    }
}
