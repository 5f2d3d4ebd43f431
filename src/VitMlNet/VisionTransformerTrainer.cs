using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Training;

namespace VitMlNet;

/// <summary>
/// The <see cref="IEstimator{TTransformer}"/> that trains a Vision Transformer (Dosovitskiy et al.,
/// arXiv 2010.11929; optional DeiT distillation token, Touvron et al., arXiv 2012.12877) with TorchSharp and
/// returns a <see cref="VisionTransformerTransformer"/> that scores through ONNX Runtime.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Input and output columns
/// | Column | Type | Description |
/// | --- | --- | --- |
/// | `Label` | key type (from `MapValueToKey`) | the class; its key values name the classes |
/// | `Pixels` | known-size vector of `Single` | planar C×H×W pixels from `ExtractPixels` (0–255 by default) |
/// | `Score` (output) | vector of `Single` | class probabilities, in key order |
/// | `PredictedLabel` (output) | the label's key type | the most probable class |
/// | `EmbeddingColumnName` (optional output) | vector of `Single` | the pooled ViT embedding |
///
/// ### Trainer characteristics
/// | | |
/// | --- | --- |
/// | Machine learning task | Multiclass classification (images) |
/// | Is normalization required? | No (scaling and mean/std are part of the model) |
/// | Is caching required? | No (pixels are read once into a uint8 tensor cache) |
/// | Required NuGet in addition to Microsoft.ML | VitMlNet, TorchSharp-cpu (or -cuda-linux) for training; scoring needs only Microsoft.ML.OnnxTransformer and ONNX Runtime |
/// | Exportable to ONNX | Yes: the scoring model *is* an ONNX graph |
/// ]]></format>
/// </remarks>
public sealed class VisionTransformerTrainer : IEstimator<VisionTransformerTransformer>
{
    private readonly VisionTransformerOptions options;
    private readonly RecipeOverrides autoOverrides;

    internal VisionTransformerTrainer(VisionTransformerOptions options, RecipeOverrides autoOverrides = default)
    {
        options.Validate();
        this.options = options.Clone();
        this.autoOverrides = autoOverrides;
    }

    /// <summary>A copy of the options this trainer was created with.</summary>
    public VisionTransformerOptions Options => options.Clone();

    /// <summary>The options this trainer trains with on data of this shape (the recipe resolved: <see cref="VisionTransformerRecipes.ForTrainer"/>).</summary>
    internal VisionTransformerOptions OptionsFor(int count, int classes, int channels, int height, int width) =>
        VisionTransformerRecipes.ForTrainer(options, autoOverrides, count, classes, channels, height, width);

    /// <summary>Checks the input columns and describes the output columns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type; the message names it, the expected and the actual type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.CheckFeature(inputSchema, options.FeatureColumnName);
        SchemaChecks.CheckKey(inputSchema, "label", options.LabelColumnName);
        if (options.TeacherColumnName is not null) SchemaChecks.CheckKey(inputSchema, "teacher", options.TeacherColumnName);
        var label = SchemaChecks.Find(inputSchema, options.LabelColumnName)!.Value;
        var columns = inputSchema.Where(c => c.Name != options.ScoreColumnName && c.Name != options.PredictedLabelColumnName
            && c.Name != options.EmbeddingColumnName).ToList();
        columns.Add(SchemaChecks.MakeColumn(options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false,
            new SchemaShape(new[] { SchemaChecks.MakeColumn("SlotNames", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) })));
        columns.Add(SchemaChecks.MakeColumn(options.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, label.ItemType, true,
            new SchemaShape(new[] { SchemaChecks.MakeColumn("KeyValues", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) })));
        if (options.EmbeddingColumnName is not null)
            columns.Add(SchemaChecks.MakeColumn(options.EmbeddingColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false));
        return new SchemaShape(columns);
    }

    /// <summary>
    /// Reads the training data once, trains, and returns the ONNX-backed scoring transformer, after a self-check
    /// (<see cref="VisionTransformerTransformer.SelfCheck"/>): a stratified sample of up to 512 training images scored
    /// through the transformer saved and loaded back, and by the training engine in evaluation mode.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Schema mismatch (see <see cref="GetOutputSchema"/>).</exception>
    /// <exception cref="InvalidOperationException">Empty data or a single class; or the self-check failed: the saved scoring
    /// chain and the engine disagree on more than 1% of the sample (an export bug).</exception>
    public VisionTransformerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = options;
        using var loaded = DataViewImageLoader.Load(input, o.FeatureColumnName, o.LabelColumnName, o.TeacherColumnName,
            o.Channels, o.ImageHeight, o.ImageWidth, cancellation: o.CancellationToken);
        var (train, classNames) = loaded;
        int classes = classNames.Length;
        o = OptionsFor(train.Count, classes, train.Channels, train.Height, train.Width);

        using var validation = o.ValidationData is null ? null
            : DataViewImageLoader.Load(o.ValidationData, o.FeatureColumnName, o.LabelColumnName, null,
                train.Channels, train.Height, train.Width, expectedClasses: classes, cancellation: o.CancellationToken);

        ImageCache trainCache = train;
        ImageCache? validCache = validation?.Cache;
        ImageCache? splitTrain = null, splitValid = null;
        if (validation is null && o.ValidationFraction > 0)
        {
            (splitTrain, splitValid) = train.Split(o.ValidationFraction, o.Seed);
            trainCache = splitTrain;
            validCache = splitValid;
        }
        try
        {
            var config = o.ResolveArchitecture().WithInput(train.Channels, train.Height, train.Width, classes);
            using var result = ViTTrainingEngine.Run(o, config, trainCache, validCache).Result;
            var transformer = VisionTransformerTransformer.Create(result.Model, classNames, o, result.History, input, trainCache);
            try
            {
                transformer.SelfCheck = SelfCheck.Run(transformer, result.Model, trainCache, o, result.History);
                return transformer;
            }
            catch
            {
                transformer.Dispose();
                throw;
            }
        }
        finally
        {
            splitTrain?.Dispose();
            splitValid?.Dispose();
        }
    }
}
