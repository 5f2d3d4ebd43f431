using static VitMlNet.Onnx.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// The graph's outputs, each under its <see cref="ViTOnnxExportOptions"/> name when that name is set: logits, softmax
/// probabilities, pooled features, the arg-max class index (int64 or uint32) and the predicted class name.
/// </summary>
internal static class OutputsEmitter
{
    /// <summary>Declares the outputs that the options name.</summary>
    public static void Emit(OnnxEmitContext e, string logits, string features, IReadOnlyList<string> classNames)
    {
        var (g, c, o) = (e.G, e.Config, e.Options);
        if (o.LogitsOutputName is { } logitsName)
        {
            g.Node("Identity", [logits], logitsName);
            g.Graph.Output.Add(Value(logitsName, DataType.Float, c.NumClasses));
        }
        if (o.ProbabilitiesOutputName is { } probabilitiesName)
        {
            g.Node("Softmax", [logits], probabilitiesName, Int("axis", -1));
            g.Graph.Output.Add(Value(probabilitiesName, DataType.Float, c.NumClasses));
        }
        if (o.FeaturesOutputName is { } featuresName)
        {
            g.Node("Identity", [features], featuresName);
            g.Graph.Output.Add(Value(featuresName, DataType.Float, c.Dim));
        }
        if (o.PredictedIndexOutputName is null && o.PredictedLabelOutputName is null) return;
        var argMax = g.Node("ArgMax", [logits], "predicted_index_int64", Int("axis", 1), Int("keepdims", 0));
        if (o.PredictedIndexOutputName is { } indexName)
        {
            bool uint32 = o.PredictedIndexType == ViTOnnxIndexType.UInt32;
            if (uint32) g.Node("Cast", [argMax], indexName, Int("to", (long)DataType.Uint32));
            else g.Node("Identity", [argMax], indexName);
            g.Graph.Output.Add(Value(indexName, uint32 ? DataType.Uint32 : DataType.Int64));
        }
        if (o.PredictedLabelOutputName is { } labelName)
        {
            g.Node("Gather", [g.Strings("const.class_names", classNames), argMax], labelName, Int("axis", 0));
            g.Graph.Output.Add(Value(labelName, DataType.String));
        }
    }
}
