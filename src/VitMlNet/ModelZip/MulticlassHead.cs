using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace VitMlNet.ModelZip;

/// <summary>
/// Turns the ONNX graph's logits into ML.NET's standard multiclass outputs: a <c>Score</c> vector with the class
/// names as slot names and a <c>PredictedLabel</c> of the label's key type (key values = class names), so that
/// <c>MapKeyToValue</c>, <c>MulticlassClassification.Evaluate</c> and <c>PredictionEngine</c> work unchanged.
/// </summary>
/// <remarks>
/// ML.NET's OnnxTransformer types every ONNX output as a vector (an [N] arg-max becomes a vector of size 1, not a
/// scalar key), and ML.NET offers no public transform from a vector to a scalar key. Its own multiclass scorer does
/// exactly this, so the head is a <see cref="MulticlassPredictionTransformer{TModel}"/> over
/// <see cref="MaximumEntropyModelParameters"/> with identity weights and zero bias: Score = softmax(I·logits + 0)
/// = softmax(logits). Both constructors are internal to ML.NET, so they are called by reflection here (pinned to
/// Microsoft.ML 6.0.0 and covered by the pipeline tests); the saved zip then holds only ML.NET's own types and
/// loads anywhere with Microsoft.ML alone.
/// </remarks>
internal static class MulticlassHead
{
    public static ITransformer Create(MLContext ml, DataViewSchema inputSchema, string logitsColumn, string labelColumn,
        string scoreColumn, string predictedLabelColumn, IReadOnlyList<string> classNames)
    {
        int k = classNames.Count;
        var weights = new VBuffer<float>[k];
        for (int i = 0; i < k; i++) weights[i] = new VBuffer<float>(k, 1, new[] { 1f }, new[] { i });
        var bias = new float[k];
        IHostEnvironment env = ml;
        var modelCtor = typeof(MaximumEntropyModelParameters).GetConstructor(
            BindingFlags.Instance | BindingFlags.NonPublic,
            new[] { typeof(IHostEnvironment), typeof(VBuffer<float>[]), typeof(float[]), typeof(int), typeof(int), typeof(string[]), typeof(ModelStatisticsBase) })
            ?? throw MissingInternal("MaximumEntropyModelParameters(env, weights, bias, classes, features, labelNames, stats)");
        var model = (MaximumEntropyModelParameters)modelCtor.Invoke(new object?[] { env, weights, bias, k, k, classNames.ToArray(), null });

        var transformerType = typeof(MulticlassPredictionTransformer<MaximumEntropyModelParameters>);
        var transformerCtor = transformerType.GetConstructor(
            BindingFlags.Instance | BindingFlags.NonPublic,
            new[] { typeof(IHostEnvironment), typeof(MaximumEntropyModelParameters), typeof(DataViewSchema), typeof(string), typeof(string), typeof(string), typeof(string) })
            ?? throw MissingInternal("MulticlassPredictionTransformer(env, model, schema, feature, label, score, predictedLabel)");
        return (ITransformer)transformerCtor.Invoke(new object[] { env, model, inputSchema, logitsColumn, labelColumn, scoreColumn, predictedLabelColumn });
    }

    private static Exception MissingInternal(string what) => new NotSupportedException(
        $"This Microsoft.ML version lacks the internal constructor {what} that VitMlNet's multiclass head uses; VitMlNet is built against Microsoft.ML 6.0.0.");
}
