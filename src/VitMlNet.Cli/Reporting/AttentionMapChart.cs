using SkiaSharp;

namespace VitMlNet.Cli.Reporting;

/// <summary>
/// Attention maps over their images: per image a column with the input on top and the attention overlay below (the map
/// bilinearly upsampled to the displayed image, normalized by its maximum, jet-coloured and alpha-blended), images side by
/// side with their titles, and a colour bar.
/// </summary>
internal static class AttentionMapChart
{
    /// <summary>File name the CLI's report uses.</summary>
    public const string DefaultFileName = "attention_maps.png";

    /// <summary>Longest side, in pixels, an image is drawn at (larger images are scaled down to it).</summary>
    public const int MaxImageSide = 224;

    private const float Padding = 12;
    private const float MinCellWidth = 150;
    private const float TitleBlock = 26;
    private const float RowLabelWidth = 34;
    private const float HeaderHeight = 56;
    private const float ColorBarWidth = 86;

    /// <summary>Draws <paramref name="samples"/> with their attention overlays and writes them as a PNG.</summary>
    /// <param name="path">PNG file to write (its folder is created).</param>
    /// <param name="samples">Images with attention maps, drawn left to right.</param>
    /// <param name="scale">Nearest-neighbour upscaling factor (1 to 16), lowered so that no image side exceeds <see cref="MaxImageSide"/>.</param>
    /// <param name="alpha">Weight of the heat map in the overlay, in [0, 1].</param>
    /// <param name="columns">Images per band; 0 puts up to 8 side by side before wrapping.</param>
    /// <param name="title">Chart title; "Attention maps" when null.</param>
    /// <returns>The pixel size of the PNG, which follows from the image size, scale, columns and sample count.</returns>
    /// <exception cref="ArgumentException">
    /// No samples, a pixel array that does not match its width and height, an attention array whose length is not
    /// rows × columns or that holds a negative or non-finite value, or an out-of-range scale, alpha or column count.
    /// </exception>
    public static PixelSize Write(string path, IReadOnlyList<AttentionSample> samples, int scale = 4, float alpha = 0.5f,
        int columns = 0, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var channels = Validate(samples, scale, alpha, columns);
        int count = samples.Count;

        int maxW = samples.Max(s => s.Width), maxH = samples.Max(s => s.Height);
        float display = ChartImages.DisplayScale(maxW, maxH, scale, MaxImageSide);
        int imageW = Math.Max(1, (int)MathF.Round(maxW * display)), imageH = Math.Max(1, (int)MathF.Round(maxH * display));
        float cellW = MathF.Max(MinCellWidth, imageW) + Padding;
        float bandH = TitleBlock + (2 * imageH) + (3 * Padding);
        int cols = columns > 0 ? Math.Min(columns, count) : Math.Min(8, count);
        int bands = (count + cols - 1) / cols;
        int width = (int)MathF.Ceiling(Math.Max(RowLabelWidth + (cols * cellW) + ColorBarWidth + Padding, 480));
        int height = (int)MathF.Ceiling(Math.Max(HeaderHeight + (bands * bandH) + Padding, HeaderHeight + 200));

        using var chart = new ChartCanvas(width, height);
        var canvas = chart.Canvas;
        ChartText.Draw(canvas, ChartText.Fit(title ?? "Attention maps", ChartStyle.TitleSize, width - 40, bold: true), 24, 22, ChartStyle.TitleSize,
            ChartStyle.Ink, bold: true);
        ChartText.Draw(canvas, ChartText.Fit(string.Create(ChartStyle.Invariant,
                $"Top: input image. Bottom: attention per patch, upsampled, scaled to its maximum, blended at alpha {alpha:0.##}."),
                ChartStyle.TickSize, width - 40), 24, 44, ChartStyle.TickSize, ChartStyle.MutedInk);

        for (int i = 0; i < count; i++)
        {
            var s = samples[i];
            float left = RowLabelWidth + ((i % cols) * cellW), top = HeaderHeight + ((i / cols) * bandH);
            float centerX = left + (cellW / 2);
            if (i % cols == 0)
            {
                float imageTop = top + TitleBlock + Padding;
                ChartText.Draw(canvas, "Input", 18, imageTop + (imageH / 2f), ChartStyle.TickSize, ChartStyle.MutedInk, TextAnchor.Middle, degrees: -90);
                ChartText.Draw(canvas, "Attention", 18, imageTop + imageH + Padding + (imageH / 2f), ChartStyle.TickSize, ChartStyle.MutedInk,
                    TextAnchor.Middle, degrees: -90);
            }

            if (!string.IsNullOrEmpty(s.Title))
            {
                ChartText.Draw(canvas, ChartText.Fit(s.Title, 13, cellW - 6), centerX, top + 16, 13, ChartStyle.Ink, TextAnchor.Middle);
            }

            int w = Math.Max(1, (int)MathF.Round(s.Width * display)), h = Math.Max(1, (int)MathF.Round(s.Height * display));
            float x = MathF.Round(centerX - (w / 2f));
            float y1 = MathF.Round(top + TitleBlock + Padding + ((imageH - h) / 2f));
            float y2 = y1 + imageH + Padding;
            var heat = Upsample(s.Attention, s.GridRows, s.GridColumns, w, h);
            using (var plain = ChartImages.Render(s.Pixels, channels[i], s.Width, s.Height, w, h))
            using (var overlay = ChartImages.Render(s.Pixels, channels[i], s.Width, s.Height, w, h, heat, alpha))
            {
                canvas.DrawBitmap(plain, x, y1);
                canvas.DrawBitmap(overlay, x, y2);
            }

            using var frame = ChartStyle.Stroke(new SKColor(0xc8, 0xcc, 0xd0), 1, antialias: false);
            canvas.DrawRect(x - 0.5f, y1 - 0.5f, w + 1, h + 1, frame);
            canvas.DrawRect(x - 0.5f, y2 - 0.5f, w + 1, h + 1, frame);
        }

        float barTop = HeaderHeight + TitleBlock + Padding;
        float barHeight = MathF.Min((2 * imageH) + Padding, height - barTop - Padding - 10);
        DrawColorBar(chart, new SKRect(width - ColorBarWidth + 14, barTop, width - ColorBarWidth + 30, barTop + barHeight));
        return chart.Save(path);
    }

    private static int[] Validate(IReadOnlyList<AttentionSample> samples, int scale, float alpha, int columns)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("samples: the list of images is empty; at least one is needed.", nameof(samples));
        }

        if (scale is < 1 or > 16)
        {
            throw new ArgumentException($"scale is {scale}; it must be from 1 to 16.", nameof(scale));
        }

        if (!(alpha is >= 0 and <= 1))
        {
            throw new ArgumentException($"alpha is {alpha}; it must be in [0, 1].", nameof(alpha));
        }

        if (columns < 0)
        {
            throw new ArgumentException($"columns is {columns}; use 0 for automatic or a positive count.", nameof(columns));
        }

        var channels = new int[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            var s = samples[i] ?? throw new ArgumentException($"samples[{i}] is null.", nameof(samples));
            channels[i] = ChartImages.Channels(s.Pixels, s.Width, s.Height, $"samples[{i}]");
            if (s.GridRows <= 0 || s.GridColumns <= 0)
            {
                throw new ArgumentException($"samples[{i}]: the attention grid must be positive, not {s.GridRows}x{s.GridColumns}.", nameof(samples));
            }

            if (s.Attention is null || s.Attention.Length != (long)s.GridRows * s.GridColumns)
            {
                throw new ArgumentException(
                    $"samples[{i}]: the attention map has {s.Attention?.Length ?? 0} values, but a {s.GridRows}x{s.GridColumns} patch grid needs {(long)s.GridRows * s.GridColumns}.",
                    nameof(samples));
            }

            int bad = Array.FindIndex(s.Attention, v => !float.IsFinite(v) || v < 0);
            if (bad >= 0)
            {
                throw new ArgumentException(
                    $"samples[{i}]: attention value {bad} is {s.Attention[bad]}; attention values must be finite and not negative.", nameof(samples));
            }
        }

        return channels;
    }

    /// <summary>
    /// The map bilinearly resampled to <paramref name="width"/>×<paramref name="height"/> (patch centres at pixel-centre
    /// positions, edges clamped) and divided by its maximum, so values lie in [0, 1] (all 0 when the map is all 0).
    /// </summary>
    internal static float[] Upsample(float[] map, int rows, int cols, int width, int height)
    {
        float max = map.Max();
        float inv = max > 0 ? 1f / max : 0f;
        var result = new float[width * height];
        for (int y = 0; y < height; y++)
        {
            float gy = Math.Clamp((((y + 0.5f) * rows) / height) - 0.5f, 0, rows - 1);
            int y0 = (int)gy, y1 = Math.Min(rows - 1, y0 + 1);
            float fy = gy - y0;
            for (int x = 0; x < width; x++)
            {
                float gx = Math.Clamp((((x + 0.5f) * cols) / width) - 0.5f, 0, cols - 1);
                int x0 = (int)gx, x1 = Math.Min(cols - 1, x0 + 1);
                float fx = gx - x0;
                float top = (map[(y0 * cols) + x0] * (1 - fx)) + (map[(y0 * cols) + x1] * fx);
                float bottom = (map[(y1 * cols) + x0] * (1 - fx)) + (map[(y1 * cols) + x1] * fx);
                result[(y * width) + x] = ((top * (1 - fy)) + (bottom * fy)) * inv;
            }
        }

        return result;
    }

    private static void DrawColorBar(ChartCanvas chart, SKRect bar)
    {
        var canvas = chart.Canvas;
        using (var fill = ChartStyle.Fill(SKColors.White, antialias: false))
        {
            for (int y = (int)bar.Top; y < (int)bar.Bottom; y++)
            {
                var (r, g, b) = ChartStyle.Jet((bar.Bottom - y - 0.5f) / bar.Height);
                fill.Color = new SKColor((byte)MathF.Round(r * 255), (byte)MathF.Round(g * 255), (byte)MathF.Round(b * 255));
                canvas.DrawRect(bar.Left, y, bar.Width, 1, fill);
            }
        }

        using var frame = ChartStyle.Stroke(ChartStyle.Axis, 1, antialias: false);
        canvas.DrawRect(bar.Left - 0.5f, bar.Top - 0.5f, bar.Width + 1, bar.Height + 1, frame);
        ChartText.Draw(canvas, "high", bar.Right + 6, bar.Top + 6, ChartStyle.TickSize, ChartStyle.MutedInk);
        ChartText.Draw(canvas, "low", bar.Right + 6, bar.Bottom - 6, ChartStyle.TickSize, ChartStyle.MutedInk);
    }
}
