using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using VitMlNet.Data;
using VitMlNet.Training;

namespace VitMlNet.Experiments;

/// <summary>One train/validation pair: the image caches the engine trains on and the validation data as an IDataView for ML.NET's evaluator.</summary>
internal sealed class ExperimentFold(ImageCache train, ImageCache validation, IDataView evaluationView, bool ownsCaches) : IDisposable
{
    public ImageCache Train { get; } = train;

    public ImageCache Validation { get; } = validation;

    /// <summary>The validation images as the VisionTransformerTransformer's input (pixel vector + key label), generated from the cache.</summary>
    public IDataView EvaluationView { get; } = evaluationView;

    public void Dispose()
    {
        if (!ownsCaches) return;
        Train.Dispose();
        Validation.Dispose();
    }
}

/// <summary>
/// The experiment's data, decoded once: the fitted preprocessing, the training images (and validation images) in
/// tensor caches, and the folds every trial trains and validates on.
/// </summary>
internal sealed class ExperimentData : IDisposable
{
    private const string KeyValuesKind = "KeyValues";

    private readonly List<IDisposable> owned = new();

    private ExperimentData(ITransformer? preprocessing, IDataView schemaView, string[] classNames, int channels, int height, int width)
    {
        Preprocessing = preprocessing;
        SchemaView = schemaView;
        ClassNames = classNames;
        Channels = channels;
        Height = height;
        Width = width;
    }

    public ITransformer? Preprocessing { get; }

    /// <summary>The preprocessed training data (lazy; only its schema is used, to build the scoring transformer).</summary>
    public IDataView SchemaView { get; }

    public string[] ClassNames { get; }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public List<ExperimentFold> Folds { get; } = new();

    public SearchContext Context => new(Channels, Height, Width, ClassNames.Length);

    /// <summary>
    /// Fits the preprocessing on the training data, decodes the training (and validation) images once, and builds the
    /// folds: the given validation data, a stratified held-out fraction, or k stratified folds.
    /// </summary>
    public static ExperimentData Prepare(MLContext ml, IEstimator<ITransformer>? preprocessing, IDataView train, IDataView? validation,
        double validationFraction, int folds, int seed, VisionTransformerOptions o, CancellationToken cancellation)
    {
        ITransformer? fitted = preprocessing?.Fit(train);
        var trainView = fitted?.Transform(train) ?? train;
        var loaded = DataViewImageLoader.Load(trainView, o.FeatureColumnName, o.LabelColumnName, null, o.Channels, o.ImageHeight, o.ImageWidth,
            cancellation: cancellation);
        var images = loaded.Cache;
        var data = new ExperimentData(fitted, trainView, loaded.ClassNames, images.Channels, images.Height, images.Width);
        data.owned.Add(loaded);
        try
        {
            var schema = trainView.Schema;
            if (validation is not null)
            {
                var validView = fitted?.Transform(validation) ?? validation;
                var valid = DataViewImageLoader.Load(validView, o.FeatureColumnName, o.LabelColumnName, null, images.Channels, images.Height, images.Width,
                    expectedClasses: loaded.ClassNames.Length, cancellation: cancellation);
                data.owned.Add(valid);
                data.Folds.Add(new ExperimentFold(loaded.Cache, valid.Cache, EvaluationView(ml, valid.Cache, schema, o), ownsCaches: false));
            }
            else if (folds >= 2)
            {
                foreach (var (trainIdx, validIdx) in StratifiedFolds(loaded.Cache, folds, seed))
                {
                    var t = loaded.Cache.Subset(trainIdx);
                    var v = loaded.Cache.Subset(validIdx);
                    data.Folds.Add(new ExperimentFold(t, v, EvaluationView(ml, v, schema, o), ownsCaches: true));
                }
            }
            else
            {
                var (t, v) = loaded.Cache.Split(validationFraction, seed);
                if (v.Count == 0)
                {
                    t.Dispose();
                    v.Dispose();
                    throw new ArgumentException($"A validation fraction of {validationFraction} of {loaded.Cache.Count} images holds out no image; use a larger fraction or validation data.");
                }
                data.Folds.Add(new ExperimentFold(t, v, EvaluationView(ml, v, schema, o), ownsCaches: true));
            }
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>k stratified folds: each class's images, shuffled with <paramref name="seed"/>, are dealt round-robin to the folds.</summary>
    internal static IEnumerable<(long[] Train, long[] Validation)> StratifiedFolds(ImageCache cache, int k, int seed)
    {
        var labels = cache.Labels.data<long>().ToArray();
        if (labels.Length < k) throw new ArgumentException($"{k}-fold cross-validation needs at least {k} images (actual {labels.Length}).");
        var fold = new int[labels.Length];
        var rng = new Random(seed);
        int next = 0;
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            rng.Shuffle(members);
            // Continue the deal where the previous class stopped, so small classes do not all land in fold 0.
            foreach (int i in members) fold[i] = next++ % k;
        }
        for (int f = 0; f < k; f++)
        {
            var train = Enumerable.Range(0, labels.Length).Where(i => fold[i] != f).Select(i => (long)i).ToArray();
            var valid = Enumerable.Range(0, labels.Length).Where(i => fold[i] == f).Select(i => (long)i).ToArray();
            yield return (train, valid);
        }
    }

    /// <summary>
    /// The cache's images as an IDataView with the training data's pixel and label column types (label key values included),
    /// so ML.NET's evaluator sees exactly the pixels the preprocessing produced, without decoding the images again.
    /// </summary>
    internal static IDataView EvaluationView(MLContext ml, ImageCache cache, DataViewSchema schema, VisionTransformerOptions o)
    {
        int per = cache.Channels * cache.Height * cache.Width;
        float[] pixels = cache.Images.dtype == torch.ScalarType.Byte
            ? Array.ConvertAll(cache.Images.data<byte>().ToArray(), b => (float)b)
            : cache.Images.data<float>().ToArray();
        var labels = cache.Labels.data<long>().ToArray();

        var definition = SchemaDefinition.Create(typeof(EvaluationRow));
        var feature = definition[nameof(EvaluationRow.Pixels)];
        feature.ColumnName = o.FeatureColumnName;
        feature.ColumnType = schema[o.FeatureColumnName].Type;
        var label = definition[nameof(EvaluationRow.Label)];
        label.ColumnName = o.LabelColumnName;
        var sourceLabel = schema[o.LabelColumnName];
        label.ColumnType = sourceLabel.Type is KeyDataViewType { RawType: var raw } key && raw == typeof(uint)
            ? key
            : new KeyDataViewType(typeof(uint), cache.NumClasses);
        CopyKeyValues(sourceLabel, label);

        IEnumerable<EvaluationRow> Rows()
        {
            for (int i = 0; i < labels.Length; i++)
                yield return new EvaluationRow { Pixels = pixels.AsSpan(i * per, per).ToArray(), Label = (uint)labels[i] };
        }
        return ml.Data.LoadFromEnumerable(Rows(), definition);
    }

    private static void CopyKeyValues(DataViewSchema.Column source, SchemaDefinition.Column target)
    {
        var keyValues = source.Annotations.Schema.GetColumnOrNull(KeyValuesKind);
        if (keyValues is null) return;
        var copy = typeof(ExperimentData).GetMethod(nameof(CopyAnnotation), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(keyValues.Value.Type.RawType);
        copy.Invoke(null, new object[] { source, target, keyValues.Value.Type });
    }

    private static void CopyAnnotation<T>(DataViewSchema.Column source, SchemaDefinition.Column target, DataViewType type)
    {
        T value = default!;
        source.Annotations.GetValue(KeyValuesKind, ref value);
        target.AddAnnotation(KeyValuesKind, value, type);
    }

    public void Dispose()
    {
        foreach (var f in Folds) f.Dispose();
        Folds.Clear();
        foreach (var d in owned) d.Dispose();
        owned.Clear();
    }

    private sealed class EvaluationRow
    {
        public float[] Pixels { get; set; } = Array.Empty<float>();

        /// <summary>The class index, 0-based: ML.NET maps a row object's key-typed member value v to the key v + 1 (0 is missing).</summary>
        public uint Label { get; set; }
    }
}
