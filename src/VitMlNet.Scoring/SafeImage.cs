using System.Globalization;
using Microsoft.ML.Data;
using SkiaSharp;

namespace VitMlNet.Scoring;

/// <summary>
/// Loads an image for scoring without trusting it: the width and height are read from the file's header before any
/// pixel is decoded, and an image with more pixels than a maximum is refused, so that a small file whose header
/// claims 40,000 × 40,000 pixels (a decompression bomb: 6.4 GB once decoded) costs a few kilobytes and a millisecond.
/// A file that is not an image, or a truncated one, is refused with a one-line reason instead of a partial picture.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="MLImage.CreateFromFile(string)"/> and <see cref="MLImage.CreateFromStream(Stream)"/> decode whatever
/// they are given: a bomb allocates its full size, and a truncated PNG or JPEG silently yields a partly grey
/// picture. <see cref="Load(string, long)"/> checks the header (SkiaSharp's <see cref="SKCodec"/> reads it without
/// decoding), decodes the pixels once to make sure the image is complete, then returns the same
/// <see cref="MLImage"/> that <see cref="MLImage.CreateFromFile(string)"/> returns for a good file.
/// </para>
/// <para>Every refusal is an <see cref="ImageRejectedException"/> whose message is one line naming the image and the problem.</para>
/// <code>
/// using var image = SafeImage.Load("upload.png");               // at most SafeImage.DefaultMaxPixels pixels
/// var prediction = engine.Predict(new ModelInput { Image = image });
/// </code>
/// </remarks>
public static class SafeImage
{
    /// <summary>
    /// The default maximum pixel count (width × height): 100,000,000, e.g. 10,000 × 10,000; a 100-megapixel camera
    /// photo passes. Decoded as 4 bytes a pixel, such an image takes 400 MB.
    /// </summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Loads an image file after checking its header and its data.</summary>
    /// <param name="path">The image file (PNG, JPEG, BMP, GIF, WebP, or another format SkiaSharp reads).</param>
    /// <param name="maxPixels">The largest width × height accepted; the default is <see cref="DefaultMaxPixels"/>.</param>
    /// <returns>The decoded image; the caller disposes it (ML.NET's image transforms dispose it after use).</returns>
    /// <exception cref="ImageRejectedException">The file is missing, unreadable, not an image, truncated, or larger than <paramref name="maxPixels"/>.</exception>
    public static MLImage Load(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? problem = Check(path, maxPixels);
        if (problem is not null) throw new ImageRejectedException(path, problem);
        try
        {
            return MLImage.CreateFromFile(path);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            throw new ImageRejectedException(path, OneLine(e.Message), e);
        }
    }

    /// <summary>Loads an image from a stream after checking its header and its data.</summary>
    /// <param name="stream">The image's bytes, read to the end. The caller bounds its length (e.g. a request size limit).</param>
    /// <param name="name">The name to give in messages, e.g. the uploaded file's name.</param>
    /// <param name="maxPixels">The largest width × height accepted; the default is <see cref="DefaultMaxPixels"/>.</param>
    /// <returns>The decoded image; the caller disposes it.</returns>
    /// <exception cref="ImageRejectedException">The bytes are empty, not an image, truncated, or larger than <paramref name="maxPixels"/>.</exception>
    public static MLImage Load(Stream stream, string name, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        byte[] bytes;
        if (stream is MemoryStream memory && memory.Position == 0 && memory.TryGetBuffer(out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
        {
            bytes = segment.Array;
        }
        else
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            bytes = copy.ToArray();
        }

        return Load(bytes, name, maxPixels);
    }

    /// <summary>Loads an image from its encoded bytes after checking its header and its data.</summary>
    /// <param name="bytes">The encoded image (the contents of a PNG, JPEG, ... file).</param>
    /// <param name="name">The name to give in messages, e.g. the uploaded file's name.</param>
    /// <param name="maxPixels">The largest width × height accepted; the default is <see cref="DefaultMaxPixels"/>.</param>
    /// <returns>The decoded image; the caller disposes it.</returns>
    /// <exception cref="ImageRejectedException">The bytes are empty, not an image, truncated, or larger than <paramref name="maxPixels"/>.</exception>
    public static MLImage Load(byte[] bytes, string name, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        string? problem = Check(bytes, maxPixels);
        if (problem is not null) throw new ImageRejectedException(name, problem);
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return MLImage.CreateFromStream(stream);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
        {
            throw new ImageRejectedException(name, OneLine(e.Message), e);
        }
    }

    /// <summary>Reads an image file's width and height from its header, without decoding any pixel.</summary>
    /// <param name="path">The image file.</param>
    /// <returns>The width and height the header declares.</returns>
    /// <exception cref="ImageRejectedException">The file is missing, unreadable or not an image.</exception>
    public static (int Width, int Height) ReadSize(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? problem = Missing(path);
        if (problem is not null) throw new ImageRejectedException(path, problem);
        try
        {
            using var codec = SKCodec.Create(path, out var result);
            if (codec is null) throw new ImageRejectedException(path, NotAnImage(result));
            return (codec.Info.Width, codec.Info.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageRejectedException(path, $"cannot be read: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Checks an image file without keeping it: the header's size against <paramref name="maxPixels"/> and, when
    /// <paramref name="decode"/> is true, the whole image decoded once (memory bounded by <paramref name="maxPixels"/>).
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">The largest width × height accepted; the default is <see cref="DefaultMaxPixels"/>.</param>
    /// <param name="decode">False checks the header only (fast; a truncated file passes).</param>
    /// <returns>Why the file is refused (a phrase without the file's name, e.g. <c>not a recognised image format</c>), or null when it is fine.</returns>
    public static string? Check(string path, long maxPixels = DefaultMaxPixels, bool decode = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ValidateMax(maxPixels);
        string? missing = Missing(path);
        if (missing is not null) return missing;
        try
        {
            if (new FileInfo(path).Length == 0) return "the file is empty (0 bytes)";
            using var codec = SKCodec.Create(path, out var result);
            return codec is null ? NotAnImage(result) : Check(codec, maxPixels, decode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read: {OneLine(e.Message)}";
        }
    }

    /// <summary>Checks encoded image bytes without keeping them, as <see cref="Check(string, long, bool)"/> does a file.</summary>
    /// <param name="bytes">The encoded image.</param>
    /// <param name="maxPixels">The largest width × height accepted; the default is <see cref="DefaultMaxPixels"/>.</param>
    /// <param name="decode">False checks the header only (fast; truncated data passes).</param>
    /// <returns>Why the bytes are refused (a phrase), or null when they are fine.</returns>
    public static string? Check(byte[] bytes, long maxPixels = DefaultMaxPixels, bool decode = true)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ValidateMax(maxPixels);
        if (bytes.Length == 0) return "the file is empty (0 bytes)";
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out var result);
        return codec is null ? NotAnImage(result) : Check(codec, maxPixels, decode);
    }

    private static string? Check(SKCodec codec, long maxPixels, bool decode)
    {
        var size = codec.Info;
        if (size.Width <= 0 || size.Height <= 0) return $"invalid image size {size.Width}x{size.Height}";
        long pixels = (long)size.Width * size.Height;
        if (pixels > maxPixels)
        {
            return string.Format(CultureInfo.InvariantCulture,
                "its header declares {0} x {1} = {2:N0} pixels, more than the maximum of {3:N0} pixels", size.Width, size.Height, pixels, maxPixels);
        }

        if (!decode) return null;
        // One decode into a bitmap of the declared (bounded) size: a truncated file reports IncompleteInput here,
        // while MLImage would silently return a partial picture.
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info)) return $"cannot allocate {size.Width}x{size.Height} pixels to decode it";
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        return decoded switch
        {
            SKCodecResult.Success => null,
            SKCodecResult.IncompleteInput => "truncated image data (SkiaSharp: IncompleteInput)",
            _ => $"the decoder failed (SkiaSharp: {decoded})",
        };
    }

    private static string? Missing(string path) =>
        File.Exists(path) ? null
        : Directory.Exists(path) ? "it is a folder, not an image file"
        : "the file does not exist (or is a dangling link)";

    private static string NotAnImage(SKCodecResult result) =>
        $"not a recognised image format (PNG, JPEG, BMP, GIF, WebP; SkiaSharp: {result})";

    private static void ValidateMax(long maxPixels)
    {
        if (maxPixels < 1) throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, "The maximum pixel count must be at least 1.");
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

/// <summary>An image refused by <see cref="SafeImage"/>: not an image, truncated, or too large.</summary>
public sealed class ImageRejectedException : Exception
{
    /// <summary>Creates the exception; the message is <c>Image 'NAME' cannot be loaded: REASON.</c></summary>
    /// <param name="imageName">The file's path or the upload's name.</param>
    /// <param name="reason">Why it is refused, a phrase (see <see cref="SafeImage.Check(string, long, bool)"/>).</param>
    /// <param name="innerException">The decoder's exception, if any.</param>
    public ImageRejectedException(string imageName, string reason, Exception? innerException = null)
        : base($"Image '{imageName}' cannot be loaded: {reason.TrimEnd('.')}.", innerException)
    {
        ImageName = imageName;
        Reason = reason;
    }

    /// <summary>The file's path or the upload's name.</summary>
    public string ImageName { get; }

    /// <summary>Why the image is refused, a phrase without the image's name.</summary>
    public string Reason { get; }
}
