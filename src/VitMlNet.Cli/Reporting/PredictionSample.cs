namespace VitMlNet.Cli.Reporting;

/// <summary>One test image with its prediction, for <see cref="PredictionGrid"/>.</summary>
/// <param name="Pixels">Planar C×H×W bytes, C = 1 (gray) or 3 (R, G, B planes); C follows from the length.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Predicted">Predicted class name.</param>
/// <param name="Actual">Actual (true) class name.</param>
/// <param name="Probability">Probability of the predicted class, in [0, 1].</param>
internal sealed record PredictionSample(byte[] Pixels, int Width, int Height, string Predicted, string Actual, double Probability)
{
    /// <summary>Whether the prediction matches the actual class (ordinal comparison).</summary>
    public bool IsCorrect => string.Equals(Predicted, Actual, StringComparison.Ordinal);
}
