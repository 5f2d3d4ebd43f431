using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;

namespace VitMlNet.Cli;

/// <summary>Metrics of one class.</summary>
internal sealed record ClassMetrics(string Class, double Precision, double Recall, int Count);

/// <summary>The prediction for one evaluated image.</summary>
internal sealed record ImagePrediction(int Index, string Actual, string Predicted, float Score);

/// <summary>The result of evaluating a model on labelled images (ML.NET's multiclass metrics plus the predictions).</summary>
internal sealed record EvaluationResult(
    int Count,
    double Accuracy,
    double MacroAccuracy,
    double LogLoss,
    double LogLossReduction,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<ClassMetrics> PerClass,
    int[][] ConfusionMatrix,
    IReadOnlyList<ImagePrediction> Predictions)
{
    /// <summary>The JSON shape shared by <c>vit evaluate --json</c> and the <c>test</c> part of <c>vit train --json</c>.</summary>
    public object ToJson() => new
    {
        count = Count,
        accuracy = CliJson.Number(Accuracy),
        macroAccuracy = CliJson.Number(MacroAccuracy),
        logLoss = CliJson.Number(LogLoss),
        logLossReduction = CliJson.Number(LogLossReduction),
        classes = ClassNames,
        perClass = PerClass.Select(c => new { @class = c.Class, precision = CliJson.Number(c.Precision), recall = CliJson.Number(c.Recall), count = c.Count }),
        confusionMatrix = ConfusionMatrix,
    };

    /// <summary>Prints the metrics, per-class table and confusion matrix as text.</summary>
    public void Print(TextWriter output)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(inv, "images {0}  accuracy {1:F4}  macro accuracy {2:F4}  log-loss {3:F4}", Count, Accuracy, MacroAccuracy, LogLoss));
        int width = Math.Max(5, ClassNames.Max(n => n.Length));
        output.WriteLine($"{"class".PadRight(width)}  precision  recall  count");
        foreach (var c in PerClass)
        {
            output.WriteLine(string.Format(inv, "{0}  {1,9:F4}  {2,6:F4}  {3,5}", c.Class.PadRight(width), c.Precision, c.Recall, c.Count));
        }

        output.WriteLine("confusion matrix (rows: actual, columns: predicted)");
        int cell = Math.Max(5, ConfusionMatrix.SelectMany(r => r).DefaultIfEmpty(0).Max().ToString(inv).Length);
        output.WriteLine(new string(' ', width) + "  " + string.Join(" ", ClassNames.Select((_, j) => j.ToString(inv).PadLeft(cell))));
        for (int i = 0; i < ConfusionMatrix.Length; i++)
        {
            output.WriteLine($"{ClassNames[i].PadRight(width)}  " + string.Join(" ", ConfusionMatrix[i].Select(v => v.ToString(inv).PadLeft(cell))) + $"  ({i})");
        }
    }
}

/// <summary>Evaluates a model zip's scoring chain on an <see cref="ImageDataset"/> with ML.NET's multiclass evaluator.</summary>
internal static class ModelEvaluator
{
    private sealed class ClassRow
    {
        public string Label { get; set; } = string.Empty;
    }

    /// <summary>
    /// Scores <paramref name="data"/> with <paramref name="model"/> and evaluates it. The dataset's string labels are
    /// mapped to the model's key with <c>MapValueToKey</c> over the model's class names, so the key order matches the
    /// Score slots whatever order the evaluation data lists its classes in.
    /// </summary>
    /// <exception cref="UsageException">The data holds a class the model does not know.</exception>
    public static EvaluationResult Evaluate(MLContext ml, ITransformer model, ImageDataset data, IReadOnlyList<string> modelClasses)
    {
        var known = new HashSet<string>(modelClasses, StringComparer.Ordinal);
        var present = data.CountPerClass();
        var unknown = data.ClassNames.Where((name, k) => present[k] > 0 && !known.Contains(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException(
                $"the data has classes the model does not know: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", ..." : "")} " +
                $"(model classes: {string.Join(", ", modelClasses.Take(20))}{(modelClasses.Count > 20 ? ", ..." : "")}).");
        }

        if (data.Count == 0)
        {
            throw new UsageException("the evaluation data holds no images.");
        }

        var view = data.ToDataView(ml);
        var keyData = ml.Data.LoadFromEnumerable(modelClasses.Select(c => new ClassRow { Label = c }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(view).Transform(view);
        var scored = model.Transform(keyed);
        var selected = ml.Transforms.SelectColumns("Label", "Score", "PredictedLabel").Fit(scored).Transform(scored);
        var cached = ml.Data.Cache(selected);

        var predictions = new List<ImagePrediction>(data.Count);
        using (var cursor = cached.GetRowCursor(cached.Schema))
        {
            var predicted = cursor.GetGetter<ReadOnlyMemory<char>>(cached.Schema["PredictedLabel"]);
            var score = cursor.GetGetter<VBuffer<float>>(cached.Schema["Score"]);
            ReadOnlyMemory<char> p = default;
            VBuffer<float> s = default;
            int i = 0;
            while (cursor.MoveNext())
            {
                predicted(ref p);
                score(ref s);
                var values = s.DenseValues().ToArray();
                predictions.Add(new ImagePrediction(i, data.ClassNames[data.Labels[i]], p.ToString(), values.Length == 0 ? 0 : values.Max()));
                i++;
            }
        }

        var metrics = ml.MulticlassClassification.Evaluate(cached, "Label", "Score", "PredictedLabel");
        var cm = metrics.ConfusionMatrix;
        int k = modelClasses.Count;
        var matrix = new int[k][];
        for (int i = 0; i < k; i++)
        {
            matrix[i] = new int[k];
            for (int j = 0; j < k; j++)
            {
                matrix[i][j] = i < cm.Counts.Count && j < cm.Counts[i].Count ? (int)Math.Round(cm.Counts[i][j]) : 0;
            }
        }

        var perClass = modelClasses.Select((name, i) => new ClassMetrics(
            name,
            i < cm.PerClassPrecision.Count ? cm.PerClassPrecision[i] : double.NaN,
            i < cm.PerClassRecall.Count ? cm.PerClassRecall[i] : double.NaN,
            matrix[i].Sum())).ToList();
        return new EvaluationResult(data.Count, metrics.MicroAccuracy, metrics.MacroAccuracy, metrics.LogLoss, metrics.LogLossReduction,
            modelClasses.ToArray(), perClass, matrix, predictions);
    }
}
