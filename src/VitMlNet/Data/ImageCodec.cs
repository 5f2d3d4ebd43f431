using Microsoft.ML.Data;
using SkiaSharp;
using VitMlNet.Scoring;

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

    /// <summary>
    /// Opens only the header of an image file; returns why it is unreadable or larger than
    /// <see cref="SafeImage.DefaultMaxPixels"/>, or null when it looks fine.
    /// </summary>
    internal static string? ProbeHeader(string path) => SafeImage.Check(path, SafeImage.DefaultMaxPixels, decode: false);

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
    /// Checks the header's size against <see cref="SafeImage.DefaultMaxPixels"/> before any pixel is decoded (a small
    /// file whose header claims 40,000 x 40,000 pixels is refused without allocating them), then decodes the whole
    /// file once with SkiaSharp to find out whether it is a complete image: a truncated PNG or JPEG still yields a
    /// partial picture from <see cref="MLImage.CreateFromFile"/> (SkiaSharp's IncompleteInput).
    /// </summary>
    /// <returns>Why the file is not a complete image of an accepted size, or null when it is.</returns>
    internal static string? CheckFile(string path) => SafeImage.Check(path, SafeImage.DefaultMaxPixels);

    /// <summary>
    /// Loads an image file as an app does (<see cref="SafeImage.Load(string, long)"/>: the header's size checked,
    /// the data checked complete, then <see cref="MLImage.CreateFromFile"/>).
    /// </summary>
    /// <exception cref="DatasetException">The file is missing, truncated, too large or not an image; the message names it.</exception>
    internal static MLImage LoadChecked(string path)
    {
        try
        {
            return SafeImage.Load(path, SafeImage.DefaultMaxPixels);
        }
        catch (ImageRejectedException e)
        {
            throw new DatasetException($"Image file '{path}' cannot be decoded: {e.Reason.TrimEnd('.')}.", path, e);
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
