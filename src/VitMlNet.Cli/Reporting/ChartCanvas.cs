using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>A white raster surface that saves itself as PNG.</summary>
internal sealed class ChartCanvas : IDisposable
{
    private readonly SKSurface _surface;

    internal ChartCanvas(int width, int height)
    {
        Width = width;
        Height = height;
        _surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}x{height} raster surface.");
        Canvas = _surface.Canvas;
        Canvas.Clear(SKColors.White);
    }

    internal int Width { get; }

    internal int Height { get; }

    internal SKCanvas Canvas { get; }

    /// <summary>Encodes the surface as PNG to <paramref name="path"/> (creating its folder) and returns its size.</summary>
    internal PixelSize Save(string path)
    {
        Canvas.Flush();
        using var image = _surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the chart as PNG.");
        IO.AtomicFile.Write(path, stream => data.SaveTo(stream));

        return new PixelSize(Width, Height);
    }

    public void Dispose() => _surface.Dispose();
}
