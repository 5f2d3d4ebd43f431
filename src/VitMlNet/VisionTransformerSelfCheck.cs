using System.Globalization;

namespace VitMlNet;

/// <summary>
/// The check at the end of every <see cref="VisionTransformerTrainer.Fit"/>: a stratified sample of the training images
/// scored through the saved scoring chain (the model saved with ML.NET and loaded back: ONNX Runtime through
/// <c>OnnxTransformer</c>, the path every consumer of the zip takes) and by the training engine in evaluation mode (no
/// augmentation, no dropout, running statistics).
/// </summary>
/// <remarks>
/// A <see cref="Warning"/> says that evaluation-mode accuracy is near chance while training accuracy was not, or far
/// below it: the model learned something that scoring does not see. A zip that disagrees with the engine on more than
/// <see cref="MaxDisagreement"/> of the sample is an export bug: <see cref="VisionTransformerTrainer.Fit"/> throws an
/// <see cref="InvalidOperationException"/> (one line with these figures) instead of returning it.
/// </remarks>
/// <param name="Images">Training images scored (a stratified sample of at most 512; fewer for large images).</param>
/// <param name="TrainingAccuracy">The last epoch's training accuracy (measured on augmented batches while training), or null when no epoch ended.</param>
/// <param name="EngineAccuracy">Accuracy of the training engine's model in evaluation mode on the sample.</param>
/// <param name="ZipAccuracy">Accuracy of the saved scoring chain on the sample.</param>
/// <param name="Agreement">Share of the sample on which the zip and the engine predict the same class.</param>
/// <param name="Chance">Accuracy of always predicting the sample's most frequent class.</param>
/// <param name="Warning">The collapse warning, or null when evaluation-mode accuracy is in line with training.</param>
public sealed record VisionTransformerSelfCheck(int Images, double? TrainingAccuracy, double EngineAccuracy, double ZipAccuracy, double Agreement,
    double Chance, string? Warning)
{
    /// <summary>The largest share of the sample on which a float32 zip may disagree with the engine (1%).</summary>
    public const double MaxDisagreement = 0.01;

    /// <summary>One line, e.g. "self-check on 512 training images: zip accuracy 0.9863, engine (evaluation mode) 0.9863, agreement 100.0%".</summary>
    public override string ToString() => string.Format(CultureInfo.InvariantCulture,
        "self-check on {0} training images: zip accuracy {1:F4}, engine (evaluation mode) {2:F4}, agreement {3:0.0#}%",
        Images, ZipAccuracy, EngineAccuracy, Agreement * 100);
}
