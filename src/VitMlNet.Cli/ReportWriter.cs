using VitMlNet.Data;
using VitMlNet.Training;

namespace VitMlNet.Cli;

/// <summary>
/// Everything a report shows: the training curves (<see cref="History"/>), the evaluation with its confusion matrix,
/// and the first <see cref="ReportWriter.SampleCount"/> evaluated images with their predicted and actual labels.
/// </summary>
/// <param name="Command">The verb that wrote the report ("train" or "evaluate").</param>
/// <param name="ModelPath">The model zip.</param>
/// <param name="DataSpec">The evaluation (or training) data spec, as given.</param>
/// <param name="ClassNames">The model's classes in Score order.</param>
/// <param name="History">Per-epoch training figures; null for <c>evaluate</c>.</param>
/// <param name="Evaluation">Metrics on the test data; null when there was none.</param>
/// <param name="SampleImages">The sample images (the first images of the evaluated data, in the model's input size), or null.</param>
/// <param name="Samples">One prediction per image of <paramref name="SampleImages"/>, same order.</param>
internal sealed record ReportData(
    string Command,
    string ModelPath,
    string? DataSpec,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<EpochSummary>? History,
    EvaluationResult? Evaluation,
    ImageDataset? SampleImages,
    IReadOnlyList<ImagePrediction> Samples)
{
    /// <summary>Gathers the report data of an evaluation: the metrics and the first sample images with their predictions.</summary>
    public static ReportData Create(string command, string modelPath, string? dataSpec, IReadOnlyList<string> classNames,
        IReadOnlyList<EpochSummary>? history, EvaluationResult? evaluation, ImageDataset? evaluated)
    {
        ImageDataset? samples = evaluated?.Take(ReportWriter.SampleCount);
        var predictions = evaluation?.Predictions.Take(samples?.Count ?? 0).ToList() ?? [];
        return new ReportData(command, modelPath, dataSpec, classNames, history, evaluation, samples, predictions);
    }
}

/// <summary>
/// Writes the report folder of <c>vit train --report DIR</c> and <c>vit evaluate --report DIR</c>.
/// </summary>
/// <remarks>
/// For now it writes <c>metrics.json</c> only. The charts (training curves, confusion matrix, prediction grid) and
/// <c>index.html</c> come from <c>VitMlNet.Reporting</c>: call it from <see cref="Write"/> with the same
/// <see cref="ReportData"/>, which already holds the history, the confusion matrix and the sample images.
/// </remarks>
internal static class ReportWriter
{
    /// <summary>How many evaluated images a report shows.</summary>
    public const int SampleCount = 32;

    /// <summary>The metrics file name.</summary>
    public const string MetricsFile = "metrics.json";

    /// <summary>Writes the report into <paramref name="directory"/> (created if needed).</summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(string directory, ReportData data)
    {
        Directory.CreateDirectory(directory);
        string metrics = Path.Combine(directory, MetricsFile);
        File.WriteAllText(metrics, CliJson.Serialize(ToJson(data)));
        // TODO(lead): connect VitMlNet.Reporting here (curves.png from data.History, confusion.png from
        // data.Evaluation.ConfusionMatrix, predictions.png from data.SampleImages + data.Samples, index.html).
        return [metrics];
    }

    private static object ToJson(ReportData d) => new
    {
        command = d.Command,
        model = Path.GetFullPath(d.ModelPath),
        data = d.DataSpec,
        classes = d.ClassNames,
        history = d.History?.Select(HistoryJson),
        evaluation = d.Evaluation?.ToJson(),
        samples = d.Samples.Select(s => new { index = s.Index, actual = s.Actual, predicted = s.Predicted, score = CliJson.Number(s.Score) }),
    };

    /// <summary>One epoch of the training history as JSON.</summary>
    public static object HistoryJson(EpochSummary e) => new
    {
        epoch = e.Epoch,
        loss = CliJson.Number(e.Loss),
        trainAccuracy = CliJson.Number(e.TrainAccuracy),
        validationLoss = CliJson.Number(e.ValidationLoss),
        validationAccuracy = CliJson.Number(e.ValidationAccuracy),
        learningRate = CliJson.Number(e.LearningRate, 9),
        imagesPerSecond = CliJson.Number(e.ImagesPerSecond, 1),
        seconds = CliJson.Number(e.Seconds, 3),
    };
}
