namespace VitMlNet.Cli.Reporting;

/// <summary>One image with its attention map (e.g. attention rollout), for <see cref="AttentionMapChart"/>.</summary>
/// <param name="Pixels">Planar C×H×W bytes, C = 1 (gray) or 3 (R, G, B planes); C follows from the length.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Attention">Attention per patch, row-major over <paramref name="GridRows"/>×<paramref name="GridColumns"/>; finite and ≥ 0.</param>
/// <param name="GridRows">Patch rows.</param>
/// <param name="GridColumns">Patch columns.</param>
/// <param name="Title">Caption above the image (e.g. "Sneaker (p = 0.97)"), or null for none.</param>
internal sealed record AttentionSample(byte[] Pixels, int Width, int Height, float[] Attention, int GridRows, int GridColumns, string? Title = null);
