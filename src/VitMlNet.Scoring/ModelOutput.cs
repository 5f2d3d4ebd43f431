using Microsoft.ML.Data;

namespace VitMlNet.Scoring;

/// <summary>The output row of a model zip written by <c>vit train</c>: the predicted class and one probability per class.</summary>
/// <remarks>
/// <see cref="Score"/> holds one probability per class; its slot names
/// (<c>engine.OutputSchema["Score"].GetSlotNames</c>) are the class names in order, and
/// <see cref="VisionTransformerModelZip.Inspect(string)"/> reads them from the zip without loading it.
/// </remarks>
public sealed class ModelOutput
{
    /// <summary>The name of the predicted-label output column.</summary>
    public const string PredictedLabelColumnName = "PredictedLabel";

    /// <summary>The name of the probabilities output column.</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>The predicted class name.</summary>
    [ColumnName(PredictedLabelColumnName)]
    public string PredictedLabel { get; set; } = string.Empty;

    /// <summary>One probability per class, in the order of the Score column's slot names.</summary>
    [ColumnName(ScoreColumnName)]
    public float[] Score { get; set; } = [];
}
