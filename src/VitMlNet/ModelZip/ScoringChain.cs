using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Onnx;

namespace VitMlNet.ModelZip;

/// <summary>
/// The chain of ML.NET's own transformers that a VitMlNet model zip holds: <see cref="ImagePreprocessing"/> → the
/// ONNX graph of the trained weights (<c>OnnxTransformer</c>) → <see cref="MulticlassHead"/> (Score, PredictedLabel)
/// → <c>MapKeyToValue(PredictedLabel)</c>. <c>mlContext.Model.Load</c> needs nothing of VitMlNet to read it.
/// The graph's SHA-256 is recorded in its ONNX metadata and, outside it, in the chain (the name of a column the chain
/// makes and drops), so that VitMlNet's readers refuse a graph altered or replaced in the zip.
/// </summary>
internal static class ScoringChain
{
    /// <summary>
    /// The trained transformer's scoring half: the ONNX graph of <paramref name="weights"/> (written with the options'
    /// columns, precision, test-time views and, for a static int8 ResNet18 stem, its calibrated activation ranges), the multiclass head, and a drop of the graph's logits column.
    /// </summary>
    public static TransformerChain<ITransformer> Build(ViTConfig config, IReadOnlyDictionary<string, TensorData> weights,
        IReadOnlyList<string> classNames, VisionTransformerOptions o, IDataView trainingData, IReadOnlyDictionary<string, float[]>? stemActivationRanges = null)
    {
        var ml = IO.PrivateTemp.Use(new MLContext(o.Seed));
        var schema = trainingData.Schema;
        string logits = Unique(schema, "__vit_logits");
        var export = new ViTOnnxExportOptions
        {
            InputName = o.FeatureColumnName,
            InputLayout = ViTOnnxInputLayout.Flat,
            PixelScale = o.PixelScale,
            LogitsOutputName = logits,
            ProbabilitiesOutputName = null,
            FeaturesOutputName = o.EmbeddingColumnName,
            WeightPrecision = o.ScoringPrecision,
            FlipAverage = o.ScoringFlipAverage,
            ShiftAverage = o.ScoringShiftAverage,
            StemActivationRanges = stemActivationRanges,
        };
        byte[] onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(config, weights, classNames, export));
        var outputs = o.EmbeddingColumnName is null ? new[] { logits } : new[] { logits, o.EmbeddingColumnName };
        var scoring = ml.Transforms.ApplyOnnxModel(outputs, new[] { o.FeatureColumnName }, new MemoryStream(onnx)).Fit(trainingData);
        var afterOnnx = scoring.GetOutputSchema(schema);
        var head = MulticlassHead.Create(ml, afterOnnx, logits, o.LabelColumnName, o.ScoreColumnName, o.PredictedLabelColumnName, classNames);
        // The graph's SHA-256, recorded outside the graph: a column named after it (a lazy copy of the logits, never
        // computed) is made and dropped, so ML.NET stores the name in the chain's own zip entries and VitMlNet's readers
        // refuse a graph replaced in the zip.
        string hashColumn = Scoring.ModelZipLayout.ChainHashPrefix + Scoring.ModelZipLayout.ModelHash(onnx).Actual;
        var scored = head.Transform(scoring.Transform(trainingData));
        var record = ml.Transforms.CopyColumns(hashColumn, logits).Fit(scored);
        var drop = ml.Transforms.DropColumns(logits, hashColumn).Fit(record.Transform(scored));
        return new TransformerChain<ITransformer>(scoring, head, record, drop);
    }

    /// <summary>A fitted chain (preprocessing and the trained transformer) with <c>MapKeyToValue(PredictedLabel)</c> appended, as <see cref="VisionTransformerPipeline.Create"/> ends.</summary>
    public static ITransformer WithLabelNames(MLContext ml, ITransformer model, IDataView keyedTrain) =>
        Append(model, ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(model.Transform(keyedTrain)));

    /// <summary>The transformers of <paramref name="model"/> (a chain's, or itself), then <paramref name="last"/>.</summary>
    internal static TransformerChain<ITransformer> Append(ITransformer? model, ITransformer last)
    {
        var parts = model is IEnumerable<ITransformer> chain ? chain.ToList() : model is null ? [] : [model];
        parts.Add(last);
        return new TransformerChain<ITransformer>(parts.ToArray());
    }

    private static string Unique(DataViewSchema schema, string name)
    {
        string candidate = name;
        for (int i = 1; schema.GetColumnOrNull(candidate) is not null; i++) candidate = name + i;
        return candidate;
    }
}
