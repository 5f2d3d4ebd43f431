using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>
/// The first test images in a grid, each upscaled with nearest-neighbour sampling and titled "predicted / actual" with the
/// predicted probability; wrong predictions are framed and titled in red.
/// </summary>
internal static class PredictionGrid
{
    /// <summary>File name the CLI's report uses.</summary>
    public const string DefaultFileName = "predictions.png";

    /// <summary>Longest side, in pixels, an image is drawn at (larger images are scaled down to it).</summary>
    public const int MaxImageSide = 224;

    private const float Padding = 14;
    private const float MinCellWidth = 150;
    private const float TitleBlock = 40;
    private const float HeaderHeight = 56;

    /// <summary>Draws the first <paramref name="maxImages"/> samples and writes them as a PNG.</summary>
    /// <param name="path">PNG file to write (its folder is created).</param>
    /// <param name="samples">Images with predictions, in test-set order.</param>
    /// <param name="maxImages">How many of the first samples to draw (at least 1).</param>
    /// <param name="scale">Nearest-neighbour upscaling factor (1 to 16), lowered so that no image side exceeds <see cref="MaxImageSide"/>.</param>
    /// <param name="columns">Grid columns; 0 chooses about a square grid (at most 8 columns).</param>
    /// <param name="title">Chart title; when null, "Predictions on the first N test images".</param>
    /// <returns>The pixel size of the PNG, which follows from the image size, scale, columns and sample count.</returns>
    /// <exception cref="ArgumentException">
    /// No samples, a pixel array whose length does not match its width and height, an empty label, a probability outside
    /// [0, 1], or an out-of-range <paramref name="maxImages"/>, <paramref name="scale"/> or <paramref name="columns"/>.
    /// </exception>
    public static PixelSize Write(string path, IReadOnlyList<PredictionSample> samples, int maxImages = 36, int scale = 4,
        int columns = 0, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("samples: the list of images is empty; at least one is needed.", nameof(samples));
        }

        if (maxImages < 1)
        {
            throw new ArgumentException($"maxImages is {maxImages}; at least 1 image must be drawn.", nameof(maxImages));
        }

        if (scale is < 1 or > 16)
        {
            throw new ArgumentException($"scale is {scale}; it must be from 1 to 16.", nameof(scale));
        }

        if (columns < 0)
        {
            throw new ArgumentException($"columns is {columns}; use 0 for automatic or a positive count.", nameof(columns));
        }

        int count = Math.Min(maxImages, samples.Count);
        var channels = new int[count];
        for (int i = 0; i < count; i++)
        {
            var s = samples[i] ?? throw new ArgumentException($"samples[{i}] is null.", nameof(samples));
            channels[i] = ChartImages.Channels(s.Pixels, s.Width, s.Height, $"samples[{i}]");
            if (string.IsNullOrEmpty(s.Predicted) || string.IsNullOrEmpty(s.Actual))
            {
                throw new ArgumentException($"samples[{i}]: the predicted and actual labels must not be empty.", nameof(samples));
            }

            if (!(s.Probability is >= 0 and <= 1))
            {
                throw new ArgumentException($"samples[{i}].Probability is {s.Probability}; it must be in [0, 1].", nameof(samples));
            }
        }

        int maxW = samples.Take(count).Max(s => s.Width), maxH = samples.Take(count).Max(s => s.Height);
        float display = ChartImages.DisplayScale(maxW, maxH, scale, MaxImageSide);
        int imageW = Math.Max(1, (int)MathF.Round(maxW * display)), imageH = Math.Max(1, (int)MathF.Round(maxH * display));
        float cellW = MathF.Max(MinCellWidth, imageW) + (2 * Padding);
        float cellH = TitleBlock + imageH + (2 * Padding);
        int cols = columns > 0 ? Math.Min(columns, count) : Math.Min(8, (int)Math.Ceiling(Math.Sqrt(count)));
        int rows = (count + cols - 1) / cols;
        int width = (int)MathF.Ceiling(Math.Max(cols * cellW, 520) + (2 * Padding));
        int height = (int)MathF.Ceiling(HeaderHeight + (rows * cellH) + Padding);

        using var chart = new ChartCanvas(width, height);
        var canvas = chart.Canvas;
        int wrong = samples.Take(count).Count(s => !s.IsCorrect);
        string heading = title ?? $"Predictions on the first {count} test images";
        ChartText.Draw(canvas, ChartText.Fit(heading, ChartStyle.TitleSize, width - 40, bold: true), 2 * Padding, 22, ChartStyle.TitleSize,
            ChartStyle.Ink, bold: true);
        string summary = $"{count - wrong} correct, {wrong} wrong (red). Titles: predicted / actual, probability of the prediction.";
        ChartText.Draw(canvas, ChartText.Fit(summary, ChartStyle.TickSize, width - 40), 2 * Padding, 44, ChartStyle.TickSize, ChartStyle.MutedInk);

        for (int i = 0; i < count; i++)
        {
            var s = samples[i];
            float left = Padding + ((i % cols) * cellW), top = HeaderHeight + ((i / cols) * cellH);
            float centerX = left + (cellW / 2);
            var color = s.IsCorrect ? ChartStyle.Ink : ChartStyle.Wrong;
            float room = cellW - 8;
            ChartText.Draw(canvas, ChartText.Fit($"{s.Predicted} / {s.Actual}", 13, room, bold: !s.IsCorrect), centerX, top + Padding + 8, 13,
                color, TextAnchor.Middle, bold: !s.IsCorrect);
            ChartText.Draw(canvas, string.Create(ChartStyle.Invariant, $"p = {s.Probability:F3}"), centerX, top + Padding + 27, 11.5f,
                s.IsCorrect ? ChartStyle.MutedInk : ChartStyle.Wrong, TextAnchor.Middle);

            int w = Math.Max(1, (int)MathF.Round(s.Width * display)), h = Math.Max(1, (int)MathF.Round(s.Height * display));
            float x = MathF.Round(centerX - (w / 2f)), y = MathF.Round(top + Padding + TitleBlock + ((imageH - h) / 2f));
            using (var bitmap = ChartImages.Render(s.Pixels, channels[i], s.Width, s.Height, w, h))
            {
                canvas.DrawBitmap(bitmap, x, y);
            }

            using var frame = s.IsCorrect ? ChartStyle.Stroke(new SKColor(0xc8, 0xcc, 0xd0), 1, antialias: false)
                : ChartStyle.Stroke(ChartStyle.Wrong, 3, antialias: false);
            float inset = s.IsCorrect ? 0.5f : 1.5f;
            canvas.DrawRect(x - inset, y - inset, w + (2 * inset), h + (2 * inset), frame);
        }

        return chart.Save(path);
    }
}
