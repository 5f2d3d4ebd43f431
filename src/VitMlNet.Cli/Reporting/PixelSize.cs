namespace VitMlNet.Cli.Reporting;

/// <summary>The pixel size of a written chart.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
internal readonly record struct PixelSize(int Width, int Height)
{
    /// <summary>"WIDTHxHEIGHT", e.g. "1400x540".</summary>
    public override string ToString() => $"{Width}x{Height}";
}
