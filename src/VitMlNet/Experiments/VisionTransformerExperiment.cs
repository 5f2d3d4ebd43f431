using Microsoft.ML;

namespace VitMlNet.Experiments;

/// <summary>
/// An AutoML-style hyperparameter search for the Vision Transformer trainer: it decodes the images once, then trains
/// trial after trial with options drawn from a <see cref="SearchSpace"/>, ranks them by an ML.NET validation metric and
/// returns a leaderboard and the best model as a saveable <see cref="ITransformer"/>.
/// </summary>
/// <remarks>
/// <para>
/// Configure it fluently, then call <see cref="Run"/>. The training data is either raw (give the preprocessing estimator
/// with <see cref="SetPreprocessing"/>: anything that produces the pixel vector and the key label, e.g.
/// <c>MapValueToKey → LoadImages → ResizeImages → ExtractPixels</c>) or already preprocessed. Validation uses the
/// given validation data, a stratified held-out fraction of the training data, or k stratified folds.
/// </para>
/// <para>
/// Every trial starts from a copy of the base options and applies its sampled values; the base options also give the
/// epoch budget (<see cref="VisionTransformerOptions.Epochs"/>), batch size, optimizer, schedule, seed, device and
/// threads. Their <c>ValidationData</c>, <c>ValidationFraction</c>, <c>TeacherColumnName</c> and checkpoint settings
/// are not used (the experiment owns validation and checkpoints); their <c>Progress</c> receives every trial's epochs
/// and their <c>CancellationToken</c> stops the experiment like the one given to <see cref="Run"/>.
/// A trial whose options cannot fit the data (e.g. a patch size that does not divide the image) fails before
/// training, with the reason recorded, and the experiment goes on.
/// </para>
/// <para>
/// The metric of a trial is ML.NET's <c>MulticlassClassification.Evaluate</c> of its trained transformer on the
/// validation images, so evaluating <see cref="ExperimentResult.Model"/> on the validation data gives the
/// leaderboard's number. With <see cref="SearchStrategy.SuccessiveHalving"/>, promoted trials resume from an
/// epoch-boundary checkpoint (in a temporary folder, deleted at the end); a warmup-cosine schedule then restarts its
/// decay over each rung's longer horizon, as in SGDR.
/// </para>
/// </remarks>
/// <example><code>
/// var ml = new MLContext(seed: 1);
/// var preprocessing = ml.Transforms.Conversion.MapValueToKey("Label")
///     .Append(ml.Transforms.LoadImages("Image", imageFolder, "ImagePath"))
///     .Append(ml.Transforms.ResizeImages("Image", 32, 32))
///     .Append(ml.Transforms.ExtractPixels("Pixels", "Image"));
/// using var result = new VisionTransformerExperiment(ml, new VisionTransformerOptions { Epochs = 9, BatchSize = 64 })
///     .SetPreprocessing(preprocessing)
///     .SetDataset(train, validationFraction: 0.2)
///     .SetMetric(ExperimentMetric.MacroAccuracy)
///     .SetTimeBudget(TimeSpan.FromHours(1))
///     .SetStrategy(SearchStrategy.SuccessiveHalving(minEpochs: 1, reductionFactor: 3))
///     .Run();
/// ml.Model.Save(result.Model, train.Schema, "best.zip");
/// </code></example>
public sealed class VisionTransformerExperiment
{
    private readonly MLContext ml;
    private readonly VisionTransformerOptions baseOptions;
    private IEstimator<ITransformer>? preprocessing;
    private IDataView? train;
    private IDataView? validation;
    private double validationFraction;
    private int folds;
    private ExperimentMetric metric = ExperimentMetric.MicroAccuracy;
    private TimeSpan? timeBudget;
    private int? maxTrials;
    private int seed;
    private SearchSpace searchSpace = SearchSpace.CreateDefault();
    private SearchStrategy strategy = SearchStrategy.Random;
    private IProgress<TrialResult>? progress;

    /// <summary>Creates an experiment over copies of <paramref name="baseOptions"/>.</summary>
    /// <param name="mlContext">The ML.NET context (used for preprocessing and evaluation).</param>
    /// <param name="baseOptions">The options every trial starts from. The default is <c>new VisionTransformerOptions()</c>.</param>
    public VisionTransformerExperiment(MLContext mlContext, VisionTransformerOptions? baseOptions = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ml = mlContext;
        this.baseOptions = (baseOptions ?? new VisionTransformerOptions()).Clone();
        seed = this.baseOptions.Seed;
    }

    /// <summary>Consecutive failed trials after which the experiment gives up (<see cref="ExperimentStopReason.ConsecutiveFailures"/>): 50.</summary>
    public const int MaxConsecutiveFailures = 50;

    /// <summary>A copy of the base options.</summary>
    public VisionTransformerOptions BaseOptions => baseOptions.Clone();

    /// <summary>The search space (the default one until <see cref="SetSearchSpace"/>); it can be edited in place.</summary>
    public SearchSpace SearchSpace => searchSpace;

    /// <summary>Sets the preprocessing estimator, fitted once on the training data; the returned model starts with its transformer.</summary>
    /// <param name="estimator">An estimator producing the options' feature (pixel vector) and key label columns.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetPreprocessing(IEstimator<ITransformer> estimator)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        preprocessing = estimator;
        return this;
    }

    /// <summary>Trains on <paramref name="trainData"/> and validates every trial on <paramref name="validationData"/>.</summary>
    /// <param name="trainData">Training data (raw when a preprocessing estimator is set).</param>
    /// <param name="validationData">Validation data with the same schema.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetDataset(IDataView trainData, IDataView validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(validationData);
        (train, validation, validationFraction, folds) = (trainData, validationData, 0, 0);
        return this;
    }

    /// <summary>Holds out a stratified, seeded <paramref name="validationFraction"/> of <paramref name="trainData"/> for validation.</summary>
    /// <param name="trainData">Training data (raw when a preprocessing estimator is set).</param>
    /// <param name="validationFraction">Share held out, strictly between 0 and 1. The default is 0.2.</param>
    /// <returns>This experiment.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not strictly between 0 and 1.</exception>
    public VisionTransformerExperiment SetDataset(IDataView trainData, double validationFraction = 0.2)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be strictly between 0 and 1.");
        (train, validation, this.validationFraction, folds) = (trainData, null, validationFraction, 0);
        return this;
    }

    /// <summary>
    /// k-fold cross-validation: every trial trains <paramref name="folds"/> models on stratified folds and is ranked by the
    /// mean metric; the returned model is the best trial's best fold.
    /// </summary>
    /// <param name="trainData">Training data (raw when a preprocessing estimator is set).</param>
    /// <param name="folds">Number of folds, at least 2. The default is 5.</param>
    /// <returns>This experiment.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="folds"/> is below 2.</exception>
    public VisionTransformerExperiment SetCrossValidation(IDataView trainData, int folds = 5)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), folds, "Cross-validation needs at least 2 folds.");
        (train, validation, validationFraction, this.folds) = (trainData, null, 0, folds);
        return this;
    }

    /// <summary>Sets the metric to optimize. The default is <see cref="ExperimentMetric.MicroAccuracy"/>.</summary>
    /// <param name="value">The metric; its direction is known (<see cref="ExperimentMetricExtensions.IsHigherBetter"/>).</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetMetric(ExperimentMetric value)
    {
        _ = value.IsHigherBetter();
        metric = value;
        return this;
    }

    /// <summary>Sets the wall-clock budget, data loading included; the trial running when it ends is stopped. At least one of this and <see cref="SetMaxTrials"/> is required.</summary>
    /// <param name="budget">A positive duration.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetTimeBudget(TimeSpan budget)
    {
        if (budget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(budget), budget, "The time budget must be positive.");
        timeBudget = budget;
        return this;
    }

    /// <summary>Sets the maximum number of trials (sampled configurations; promotions do not count).</summary>
    /// <param name="count">At least 1.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetMaxTrials(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "The trial count must be at least 1.");
        maxTrials = count;
        return this;
    }

    /// <summary>Sets the seed of sampling, the validation split and the folds. The default is the base options' seed (which also seeds every trial's training).</summary>
    /// <param name="value">The seed.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetSeed(int value)
    {
        seed = value;
        return this;
    }

    /// <summary>Replaces the search space. The default is <see cref="SearchSpace.CreateDefault"/>.</summary>
    /// <param name="space">The space.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetSearchSpace(SearchSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        searchSpace = space;
        return this;
    }

    /// <summary>Sets the strategy. The default is <see cref="SearchStrategy.Random"/>.</summary>
    /// <param name="value">The strategy.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetStrategy(SearchStrategy value)
    {
        ArgumentNullException.ThrowIfNull(value);
        strategy = value;
        return this;
    }

    /// <summary>Receives every trial's result when it starts (<see cref="TrialStatus.Running"/>), fails or finishes a run (each rung, with successive halving).</summary>
    /// <param name="value">The receiver.</param>
    /// <returns>This experiment.</returns>
    public VisionTransformerExperiment SetProgress(IProgress<TrialResult> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        progress = value;
        return this;
    }

    /// <summary>
    /// Runs the experiment until the trial limit, the time budget or cancellation, and returns the leaderboard and best model.
    /// Cancellation does not throw: the trials finished so far are returned (<see cref="ExperimentStopReason.Cancelled"/>).
    /// </summary>
    /// <param name="cancellationToken">Stops the experiment between training steps.</param>
    /// <returns>The result; dispose it to release the model.</returns>
    /// <exception cref="InvalidOperationException">No dataset, or neither a time budget nor a trial limit, was set.</exception>
    /// <exception cref="ArgumentException">The base options are invalid (every problem listed) or the data does not fit them.</exception>
    public ExperimentResult Run(CancellationToken cancellationToken = default)
    {
        if (train is null) throw new InvalidOperationException("Call SetDataset or SetCrossValidation before Run.");
        if (timeBudget is null && maxTrials is null) throw new InvalidOperationException("Set a time budget (SetTimeBudget), a trial limit (SetMaxTrials) or both.");
        CheckBaseOptions();
        var settings = new ExperimentSettings(ml, baseOptions.Clone(), preprocessing, train, validation, validationFraction, folds, metric,
            timeBudget, maxTrials, seed, searchSpace, strategy, progress);
        return new ExperimentRunner(settings).Run(cancellationToken);
    }

    private void CheckBaseOptions()
    {
        // An explicit architecture is checked per trial against the data (its input size comes from the data).
        var check = ExperimentRunner.TrialOptions(baseOptions);
        if (check.Architecture is not null)
        {
            check.Architecture = null;
            check.Preset = Modeling.ViTConfig.PresetNames[0];
        }
        var errors = check.GetErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid base {nameof(VisionTransformerOptions)}: {string.Join("; ", errors)}.");
    }
}

/// <summary>The frozen settings of one <see cref="VisionTransformerExperiment.Run"/>.</summary>
internal sealed record ExperimentSettings(
    MLContext Ml,
    VisionTransformerOptions BaseOptions,
    IEstimator<ITransformer>? Preprocessing,
    IDataView Train,
    IDataView? Validation,
    double ValidationFraction,
    int Folds,
    ExperimentMetric Metric,
    TimeSpan? TimeBudget,
    int? MaxTrials,
    int Seed,
    SearchSpace SearchSpace,
    SearchStrategy Strategy,
    IProgress<TrialResult>? Progress);
