using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
using VitMlNet.Onnx;
using VitMlNet.Training;

namespace VitMlNet;

/// <summary>
/// The trained Vision Transformer as an ML.NET <see cref="ITransformer"/>. It scores through ML.NET's own
/// <see cref="OnnxTransformer"/> over an ONNX graph of the trained weights, followed by ML.NET's multiclass
/// scorer (Score with class-name slots, PredictedLabel of the label's key type); saving delegates to that chain,
/// so <c>mlContext.Model.Save</c> embeds the ONNX bytes and <c>mlContext.Model.Load</c> needs only Microsoft.ML,
/// Microsoft.ML.OnnxTransformer and ONNX Runtime — no TorchSharp and no VitMlNet.
/// </summary>
public sealed class VisionTransformerTransformer : ITransformer, IDisposable
{
    private readonly TransformerChain<ITransformer> chain;
    private readonly float pixelScale;

    private VisionTransformerTransformer(TransformerChain<ITransformer> chain, ViTConfig config, IReadOnlyList<string> classNames,
        IReadOnlyDictionary<string, TensorData> weights, float pixelScale, IReadOnlyList<EpochSummary> history,
        string featureColumnName)
    {
        this.chain = chain;
        Weights = weights;
        this.pixelScale = pixelScale;
        Architecture = config;
        ClassNames = classNames;
        TrainingHistory = history;
        FeatureColumnName = featureColumnName;
    }

    /// <summary>The trained weights by state-dict name (for <see cref="Checkpoints.ViTCheckpoint.SaveTimmSafetensors(Modeling.ViTConfig, IReadOnlyDictionary{string, TensorData}, string, IReadOnlyList{string}?)"/> and tests).</summary>
    internal IReadOnlyDictionary<string, TensorData> Weights { get; }

    /// <summary>The trained architecture (input geometry and class count included).</summary>
    public ViTConfig Architecture { get; }

    /// <summary>Class names in key order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Per-epoch training figures.</summary>
    public IReadOnlyList<EpochSummary> TrainingHistory { get; }

    /// <summary>
    /// The check that ended training: a sample of the training images scored through this transformer saved and loaded
    /// back, and by the training engine in evaluation mode (see <see cref="VisionTransformerSelfCheck"/>). Null for a
    /// transformer not made by <see cref="VisionTransformerTrainer.Fit"/>.
    /// </summary>
    public VisionTransformerSelfCheck? SelfCheck { get; internal set; }

    /// <summary>The pixel column the model reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Always true: scoring is row by row, so <c>PredictionEngine</c> works.</summary>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return chain.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return ((ITransformer)chain).GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return chain.Transform(input);
    }

    /// <summary>Saves the ONNX-backed scoring chain (called by <c>mlContext.Model.Save</c>).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)chain).Save(ctx);

    /// <summary>Precision of the scoring graph (<see cref="VisionTransformerOptions.ScoringPrecision"/>); <see cref="ExportOnnx(Stream)"/> writes the same.</summary>
    public ViTOnnxWeightPrecision ScoringPrecision { get; private init; }

    /// <summary>Whether the scoring graph averages each image with its mirror (<see cref="VisionTransformerOptions.ScoringFlipAverage"/>); <see cref="ExportOnnx(Stream)"/> writes the same.</summary>
    public bool ScoringFlipAverage { get; private init; }

    /// <summary>Whether the scoring graph averages each image with its one-pixel shifts (<see cref="VisionTransformerOptions.ScoringShiftAverage"/>); <see cref="ExportOnnx(Stream)"/> writes the same.</summary>
    public bool ScoringShiftAverage { get; private init; }

    /// <summary>
    /// The calibrated activation ranges of a ResNet18 stem's static int8 convolutions (with <see cref="ViTOnnxWeightPrecision.DynamicInt8"/>
    /// scoring), or null when the stem scores in float.
    /// </summary>
    internal IReadOnlyDictionary<string, float[]>? StemActivationRanges { get; private init; }

    /// <summary>
    /// Writes a standalone ONNX model for any ONNX runtime: input <c>pixels</c> float [N, C, H, W] with raw values
    /// (multiplied by the trained pixel scale inside the graph), outputs <c>logits</c> and <c>probabilities</c> [N, classes].
    /// Class names and the architecture are stored in the model's metadata; the precision is <see cref="ScoringPrecision"/>,
    /// flip averaging <see cref="ScoringFlipAverage"/>, shift averaging <see cref="ScoringShiftAverage"/>.
    /// </summary>
    public void ExportOnnx(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var options = new ViTOnnxExportOptions
        {
            PixelScale = pixelScale, WeightPrecision = ScoringPrecision, FlipAverage = ScoringFlipAverage, ShiftAverage = ScoringShiftAverage,
            StemActivationRanges = StemActivationRanges,
        };
        ViTOnnxWriter.Write(ViTOnnxWriter.Build(Architecture, Weights, ClassNames, options), stream);
    }

    /// <summary>Writes the standalone ONNX model to a file (see <see cref="ExportOnnx(Stream)"/>).</summary>
    public void ExportOnnx(string path) => IO.AtomicFile.Write(path, ExportOnnx);

    /// <inheritdoc />
    public void Dispose() => chain.Dispose();

    /// <summary>The trained transformer: the model's weights behind the zip's <see cref="ScoringChain"/>.</summary>
    /// <remarks>With dynamic int8 scoring and a ResNet18 stem, the stem's activation ranges are calibrated on a sample of <paramref name="trainImages"/> (<see cref="StemCalibration"/>).</remarks>
    internal static VisionTransformerTransformer Create(VisionTransformer model, IReadOnlyList<string> classNames, VisionTransformerOptions o,
        IReadOnlyList<EpochSummary> history, IDataView trainingData, ImageCache? trainImages = null)
    {
        var weights = VisionTransformerWeights.Extract(model);
        var ranges = trainImages is null ? null : StemCalibration.Run(model.Config, weights, trainImages, o);
        var chain = ScoringChain.Build(model.Config, weights, classNames, o, trainingData, ranges);
        return new VisionTransformerTransformer(chain, model.Config, classNames, weights, o.PixelScale, history, o.FeatureColumnName)
        {
            ScoringPrecision = o.ScoringPrecision,
            ScoringFlipAverage = o.ScoringFlipAverage,
            ScoringShiftAverage = o.ScoringShiftAverage,
            StemActivationRanges = ranges,
            FittedOptions = o,
        };
    }

    /// <summary>
    /// The same trained weights behind a scoring chain of another precision (the activation ranges calibrated in the
    /// fit kept), for benchmarks that compare precisions on one fit. <paramref name="trainingData"/> is data at its input.
    /// </summary>
    internal VisionTransformerTransformer WithScoringPrecision(ViTOnnxWeightPrecision precision, IDataView trainingData)
    {
        var options = (FittedOptions ?? throw new InvalidOperationException("the transformer keeps no options of its fit")).Clone();
        options.ScoringPrecision = precision;
        var chain = ScoringChain.Build(Architecture, Weights, ClassNames, options, trainingData, StemActivationRanges);
        return new VisionTransformerTransformer(chain, Architecture, ClassNames, Weights, pixelScale, TrainingHistory, FeatureColumnName)
        {
            ScoringPrecision = precision,
            ScoringFlipAverage = ScoringFlipAverage,
            ScoringShiftAverage = ScoringShiftAverage,
            StemActivationRanges = StemActivationRanges,
            SelfCheck = SelfCheck,
            FittedOptions = options,
        };
    }

    /// <summary>The options the transformer was fitted with (recipe resolved), or null.</summary>
    internal VisionTransformerOptions? FittedOptions { get; private init; }

    private void CheckInput(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        SchemaChecks.CheckFeature(schema, FeatureColumnName, Architecture.Channels * Architecture.ImageHeight * Architecture.ImageWidth);
    }
}
