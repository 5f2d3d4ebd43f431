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

/// <summary>
/// Evaluates a model zip on labelled images the way an app scores them: each image loaded as an app loads it
/// (<see cref="IImageSource.LoadImage"/>: the file through <c>MLImage.CreateFromFile</c>), then the zip's whole chain,
/// preprocessing included, then ML.NET's multiclass evaluator.
/// </summary>
internal static class ModelEvaluator
{
    /// <summary>One scored image for ML.NET's evaluator. <c>LoadFromEnumerable</c> reads a key column's value as the
    /// zero-based class index (the key's raw value is that plus one).</summary>
    private sealed class EvaluationRow
    {
        public uint Label { get; set; }

        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }

    /// <summary>
    /// The zip's outputs for every image, in order: a <see cref="PredictionEnginePool{TInput, TOutput}"/> with one
    /// ONNX Runtime thread per engine, predicting from one worker per core (the same scores as <c>Transform</c>, tested).
    /// </summary>
    internal static ModelOutput[] ScoreInParallel(MLContext ml, ITransformer model, IImageSource data)
    {
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, data.Count));
        using var pool = new PredictionEnginePool<ModelInput, ModelOutput>(ml, model, null, maxIdle: workers, threadsPerEngine: 1);
        var outputs = new ModelOutput[data.Count];
        Parallel.For(0, data.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
        {
            // ML.NET's image transforms dispose the MLImage they consume.
            outputs[i] = pool.Predict(new ModelInput { Image = data.LoadImage(i) });
        });
        return outputs;
    }

    /// <summary>
    /// Scores <paramref name="data"/> with <paramref name="model"/> (<see cref="ScoreInParallel"/>) and evaluates it with
    /// ML.NET's multiclass evaluator. The dataset's string labels are mapped to the model's class order (the Score slots),
    /// whatever order the evaluation data lists its classes in.
    /// </summary>
    /// <exception cref="UsageException">The data holds a class the model does not know.</exception>
    public static EvaluationResult Evaluate(MLContext ml, ITransformer model, IImageSource data, IReadOnlyList<string> modelClasses)
    {
        var index = modelClasses.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        var present = data.CountPerClass();
        var unknown = data.ClassNames.Where((name, k) => present[k] > 0 && !index.ContainsKey(name)).ToList();
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

        // Score on every core: one PredictionEngine per worker, each with a one-thread ONNX Runtime session, rather than one
        // Transform cursor whose session spreads each small image over every core (docs/benchmarks.md has the comparison).
        int k = modelClasses.Count;
        var outputs = ScoreInParallel(ml, model, data);
        var rows = new EvaluationRow[data.Count];
        var predictions = new List<ImagePrediction>(data.Count);
        for (int i = 0; i < data.Count; i++)
        {
            var o = outputs[i];
            if (o.Score.Length != k || !index.TryGetValue(o.PredictedLabel, out int predicted))
            {
                throw new UsageException($"the model's output does not match its {k} classes (Score has {o.Score.Length} values, PredictedLabel '{o.PredictedLabel}').");
            }

            rows[i] = new EvaluationRow { Label = (uint)index[data.ClassNames[data.Labels[i]]], Score = o.Score, PredictedLabel = (uint)predicted };
            predictions.Add(new ImagePrediction(i, data.ClassNames[data.Labels[i]], o.PredictedLabel, o.Score.Length == 0 ? 0 : o.Score.Max()));
        }

        var schema = SchemaDefinition.Create(typeof(EvaluationRow));
        schema[nameof(EvaluationRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), k);
        schema[nameof(EvaluationRow.PredictedLabel)].ColumnType = new KeyDataViewType(typeof(uint), k);
        schema[nameof(EvaluationRow.Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, k);
        var cached = ml.Data.LoadFromEnumerable(rows, schema);

        var metrics = ml.MulticlassClassification.Evaluate(cached, "Label", "Score", "PredictedLabel");
        var cm = metrics.ConfusionMatrix;
        var matrix = Enumerable.Range(0, k).Select(i => Enumerable.Range(0, k)
            .Select(j => i < cm.Counts.Count && j < cm.Counts[i].Count ? (int)Math.Round(cm.Counts[i][j]) : 0).ToArray())
            .ToArray();

        var perClass = modelClasses.Select((name, i) => new ClassMetrics(
            name,
            i < cm.PerClassPrecision.Count ? cm.PerClassPrecision[i] : double.NaN,
            i < cm.PerClassRecall.Count ? cm.PerClassRecall[i] : double.NaN,
            matrix[i].Sum())).ToList();
        return new EvaluationResult(data.Count, metrics.MicroAccuracy, metrics.MacroAccuracy, metrics.LogLoss, metrics.LogLossReduction,
            modelClasses.ToArray(), perClass, matrix, predictions);
    }
}
