using Microsoft.ML;
using TorchSharp;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Cli.Reporting;
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
    /// <summary>
    /// The first <see cref="ReportWriter.SampleCount"/> images of <paramref name="data"/> as the model sees them: run
    /// through the model's own leading image transforms (the zip's preprocessing); null without data.
    /// </summary>
    public static ImageDataset? FirstImagesAsModelSees(ITransformer model, IImageSource? data, ViTConfig config) =>
        data is null ? null
            : ImagePreprocessing.Apply(model, data.Select(Enumerable.Range(0, Math.Min(ReportWriter.SampleCount, data.Count))),
                config.Channels, config.ImageHeight, config.ImageWidth);

    /// <summary>Gathers the report data of an evaluation: the metrics and the first sample images with their predictions.</summary>
    public static ReportData Create(string command, string modelPath, string? dataSpec, IReadOnlyList<string> classNames,
        IReadOnlyList<EpochSummary>? history, EvaluationResult? evaluation, ImageDataset? evaluated)
    {
        var predictions = evaluation?.Predictions.Take(evaluated?.Count ?? 0).ToList() ?? [];
        return new ReportData(command, modelPath, dataSpec, classNames, history, evaluation, evaluated, predictions);
    }
}

/// <summary>
/// Writes the report folder of <c>vit train --report DIR</c> and <c>vit evaluate --report DIR</c>.
/// </summary>
/// <remarks>
/// Writes <c>metrics.json</c>, the PNG charts of <c>VitMlNet.Reporting</c> that the data allows (training curves,
/// confusion matrix, prediction grid, attention rollout maps of the first images) and an <c>index.html</c> showing them.
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
        VitMlNet.IO.AtomicFile.WriteAllText(metrics, CliJson.Serialize(ToJson(data)));
        var files = new List<string> { metrics };
        var images = new List<string>();
        void Add(string file)
        {
            files.Add(file);
            images.Add(Path.GetFileName(file));
        }

        if (data.History is { Count: > 0 } history)
        {
            string path = Path.Combine(directory, TrainingCurves.DefaultFileName);
            TrainingCurves.Write(path, history.Select(EpochPoint.From).ToList(), "Training curves");
            Add(path);
        }
        if (data.Evaluation is { } evaluation)
        {
            string path = Path.Combine(directory, ConfusionMatrixChart.DefaultFileName);
            ConfusionMatrixChart.Write(path, evaluation.ConfusionMatrix.Select(r => r.Select(v => (long)v).ToArray()).ToArray(), evaluation.ClassNames);
            Add(path);
        }
        if (data.SampleImages is { Count: > 0 } samples && data.Samples.Count > 0)
        {
            string path = Path.Combine(directory, PredictionGrid.DefaultFileName);
            var grid = data.Samples.Select(p => new PredictionSample(samples.GetPixels(p.Index).ToArray(), samples.Width, samples.Height,
                p.Predicted, p.Actual, p.Score)).ToList();
            PredictionGrid.Write(path, grid, title: "First test images: predicted / actual");
            Add(path);
            string attention = Path.Combine(directory, AttentionMapChart.DefaultFileName);
            if (WriteAttention(attention, data.ModelPath, samples, data.Samples)) Add(attention);
        }

        var table = new List<KeyValuePair<string, string>>
        {
            new("model", Path.GetFileName(data.ModelPath)),
            new("data", data.DataSpec ?? ""),
            new("classes", data.ClassNames.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (data.History is { Count: > 0 } h)
        {
            table.Add(new("epochs", h.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            table.Add(new("training time", TimeSpan.FromSeconds(h.Sum(e => e.Seconds)).ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture)));
            table.Add(new("final training loss", h[^1].Loss.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
        }
        IReadOnlyList<Reporting.ClassMetrics>? perClass = null;
        if (data.Evaluation is { } ev)
        {
            table.Add(new("test images", ev.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            table.Add(new("accuracy", ev.Accuracy.ToString("P2", System.Globalization.CultureInfo.InvariantCulture)));
            table.Add(new("macro accuracy", ev.MacroAccuracy.ToString("P2", System.Globalization.CultureInfo.InvariantCulture)));
            table.Add(new("log-loss", ev.LogLoss.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
            perClass = ev.PerClass.Select(c => new Reporting.ClassMetrics(c.Class, c.Precision, c.Recall, c.Count)).ToList();
        }
        files.Add(ReportIndex.Write(directory, table, perClass, images, $"VitMlNet report: {data.Command} {Path.GetFileName(data.ModelPath)}"));
        return files;
    }

    /// <summary>
    /// Attention rollout maps of up to 8 sample images, computed with TorchSharp from the weights embedded in the
    /// zip. Returns false (and writes nothing) when the weights cannot be read back.
    /// </summary>
    private static bool WriteAttention(string path, string modelPath, ImageDataset samples, IReadOnlyList<ImagePrediction> predictions)
    {
        var onnx = ModelZipFile.ReadOnnx(modelPath);
        var config = onnx.Config;
        if (config.Channels != samples.Channels || config.ImageHeight != samples.Height || config.ImageWidth != samples.Width) return false;
        float scale = onnx.ExportOptions?.PixelScale ?? 1f / 255f;
        int count = Math.Min(8, predictions.Count);
        using var scope = torch.NewDisposeScope();
        using var model = onnx.CreateModel();
        var pixels = predictions.Take(count).SelectMany(p => samples.GetPixels(p.Index).ToArray()).ToArray();
        var x = torch.tensor(pixels, new long[] { count, config.Channels, config.ImageHeight, config.ImageWidth }).to(torch.float32).mul(scale);
        var mean = torch.tensor(config.Mean.ToArray()).reshape(1, -1, 1, 1);
        var std = torch.tensor(config.Std.ToArray()).reshape(1, -1, 1, 1);
        var maps = model.AttentionRollout(x.sub(mean).div(std));
        int rows = (int)maps.shape[1], cols = (int)maps.shape[2];
        var list = predictions.Take(count).Select((p, i) => new AttentionSample(samples.GetPixels(p.Index).ToArray(),
            samples.Width, samples.Height, maps[i].flatten().data<float>().ToArray(), rows, cols, $"{p.Predicted} / {p.Actual}"))
            .ToList();
        AttentionMapChart.Write(path, list, title: "Attention rollout (class token → patches)");
        return true;
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
        evaluationAccuracy = CliJson.Number(e.EvaluationAccuracy),
        learningRate = CliJson.Number(e.LearningRate, 9),
        imagesPerSecond = CliJson.Number(e.ImagesPerSecond, 1),
        seconds = CliJson.Number(e.Seconds, 3),
    };
}
