using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>When evaluation-mode accuracy says that a model collapsed: the one rule of the per-epoch warning and the self-check.</summary>
internal static class SelfCheckRules
{
    /// <summary>What a collapse usually means, for the warning lines.</summary>
    public const string Hint = "the model learned features that only its training augmentation shows (for example the seed preset's " +
        "LayerNorm over raw patch pixels on images whose patches are flat, such as enlarged scans or pixel art); the saved model scores like this. " +
        "Try --preset auto or a PatchConv or Conv stem";

    /// <summary>
    /// Whether <paramref name="evaluation"/> accuracy is near chance (less than a tenth of the way from chance to 1)
    /// while <paramref name="training"/> accuracy is well above it (at least 30% of the way), or, measured on training
    /// images (<paramref name="onTrainingImages"/>; on validation images a gap is over-fitting, not a collapse), more
    /// than 0.25 below it.
    /// </summary>
    public static bool Collapsed(double training, double evaluation, double chance, bool onTrainingImages = true) =>
        (evaluation < chance + 0.1 * (1 - chance) && training >= chance + 0.3 * (1 - chance)) || (onTrainingImages && training - evaluation > 0.25);

    /// <summary>
    /// Images of a stratified sample for evaluation: at most 512, and fewer for images of more than 64×64 pixels (about
    /// as many pixels as 512 such images, at least 64 images), so the check costs little beside training.
    /// </summary>
    public static int SampleSize(int count, int height, int width) =>
        Math.Min(count, Math.Clamp((int)(512L * 64 * 64 / Math.Max(1L, (long)height * width)), 64, 512));

    /// <summary>The share of the most frequent class among <paramref name="labels"/>: the accuracy of always guessing it.</summary>
    public static double Chance(Tensor labels, int classes)
    {
        var counts = new long[classes];
        foreach (long l in labels.data<long>()) counts[l]++;
        return (double)counts.Max() / Math.Max(1, labels.shape[0]);
    }
}

/// <summary>
/// Computes <see cref="VisionTransformerSelfCheck"/>: a stratified sample of the training images scored by the engine in
/// evaluation mode (with the scoring graph's flip and shift averaging) and by the scoring chain saved with ML.NET and
/// loaded back.
/// </summary>
internal static class SelfCheck
{
    /// <summary>Runs the check. Throws <see cref="SelfCheckFailedException"/> when a float32 zip disagrees with the engine.</summary>
    public static VisionTransformerSelfCheck Run(ITransformer scoring, VisionTransformer model, ImageCache train, VisionTransformerOptions o,
        IReadOnlyList<EpochSummary> history)
    {
        var indices = Data.ImageSources.SampleIndices(train.Labels.data<long>().Select(l => (int)l).ToArray(), train.NumClasses,
            SelfCheckRules.SampleSize(train.Count, train.Height, train.Width), o.Seed);
        using var sample = train.Subset(indices.Select(i => (long)i).ToArray());
        var labels = sample.Labels.data<long>().ToArray();
        var engine = EnginePredictions(model, sample, o);
        var zip = ZipPredictions(scoring, sample, o);
        int n = labels.Length;
        double engineAccuracy = (double)Enumerable.Range(0, n).Count(i => engine[i] == labels[i]) / n;
        double zipAccuracy = (double)Enumerable.Range(0, n).Count(i => zip[i] == labels[i]) / n;
        double agreement = (double)Enumerable.Range(0, n).Count(i => zip[i] == engine[i]) / n;
        double chance = SelfCheckRules.Chance(sample.Labels, train.NumClasses);
        double? trainingAccuracy = history.Count > 0 ? history[^1].TrainAccuracy : null;
        string? warning = trainingAccuracy is double t && SelfCheckRules.Collapsed(t, zipAccuracy, chance)
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture,
                "evaluation-mode accuracy on {0} training images is {1:F4} (zip) / {2:F4} (engine) while the training accuracy was {3:F4} (chance {4:F2}): {5}",
                n, zipAccuracy, engineAccuracy, t, chance, SelfCheckRules.Hint)
            : null;
        if (o.ScoringPrecision == ViTOnnxWeightPrecision.DynamicInt8 && 1 - agreement > 0.05)
        {
            warning = (warning is null ? "" : warning + "; ") + string.Format(System.Globalization.CultureInfo.InvariantCulture,
                "the int8 scoring graph changes {0:0.#}% of the predictions of the float model (zip accuracy {1:F4}, engine {2:F4})",
                (1 - agreement) * 100, zipAccuracy, engineAccuracy);
        }
        var check = new VisionTransformerSelfCheck(n, trainingAccuracy, engineAccuracy, zipAccuracy, agreement, chance, warning);
        // A quantized graph may flip near-ties; only a float32 graph must agree with the engine.
        if (o.ScoringPrecision == ViTOnnxWeightPrecision.Float32 && 1 - agreement > VisionTransformerSelfCheck.MaxDisagreement + 1e-12)
            throw new SelfCheckFailedException(check);
        return check;
    }

    /// <summary>
    /// The engine's classes in evaluation mode: the mean logits over the views the scoring graph averages (the image,
    /// its one-pixel shifts with zero padding, their mirrors), batches of 64.
    /// </summary>
    internal static long[] EnginePredictions(VisionTransformer model, ImageCache sample, VisionTransformerOptions o)
    {
        var c = model.Config;
        bool wasTraining = model.training;
        model.eval();
        var device = model.parameters().First().device;
        var result = new List<long>();
        try
        {
            using var noGrad = torch.no_grad();
            using var mean = torch.tensor(c.Mean.ToArray(), device: device).reshape(1, -1, 1, 1);
            using var std = torch.tensor(c.Std.ToArray(), device: device).reshape(1, -1, 1, 1);
            for (long start = 0; start < sample.Count; start += 64)
            {
                using var scope = torch.NewDisposeScope();
                var raw = sample.Images.narrow(0, start, Math.Min(64, sample.Count - start)).to(device).to(ScalarType.Float32);
                var views = new List<Tensor> { raw };
                if (o.ScoringShiftAverage)
                {
                    var padded = torch.nn.functional.pad(raw, [1, 1, 1, 1]);
                    foreach (var (dy, dx) in new[] { (-1, 0), (1, 0), (0, -1), (0, 1) })
                        views.Add(padded.narrow(2, 1 + dy, c.ImageHeight).narrow(3, 1 + dx, c.ImageWidth));
                }
                if (o.ScoringFlipAverage) views.AddRange(views.ToArray().Select(v => v.flip(3)));
                Tensor? sum = null;
                foreach (var v in views)
                {
                    var logits = model.forward(v.mul(o.PixelScale).sub(mean).div(std));
                    sum = sum is null ? logits : sum.add(logits);
                }
                result.AddRange(sum!.argmax(1).cpu().data<long>().ToArray());
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return result.ToArray();
    }

    /// <summary>The classes the scoring chain predicts after a round trip through <c>mlContext.Model.Save</c> and <c>Load</c>.</summary>
    internal static long[] ZipPredictions(ITransformer scoring, ImageCache sample, VisionTransformerOptions o)
    {
        var ml = new MLContext(o.Seed);
        int per = sample.Channels * sample.Height * sample.Width;
        var pixels = sample.Images.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var rows = Enumerable.Range(0, sample.Count).Select(i => new PixelRow { Pixels = pixels.AsSpan(i * per, per).ToArray() }).ToList();
        var definition = SchemaDefinition.Create(typeof(PixelRow));
        definition[nameof(PixelRow.Pixels)].ColumnName = o.FeatureColumnName;
        definition[nameof(PixelRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, sample.Channels, sample.Height, sample.Width);
        var view = ml.Data.LoadFromEnumerable(rows, definition);
        using var stream = new MemoryStream();
        ml.Model.Save(scoring, view.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _);
        try
        {
            return loaded.Transform(view).GetColumn<uint>(o.PredictedLabelColumnName).Select(k => (long)k - 1).ToArray();
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    private sealed class PixelRow
    {
        public float[] Pixels { get; set; } = [];
    }
}

/// <summary>
/// The saved scoring chain and the training engine disagree on more than <see cref="VisionTransformerSelfCheck.MaxDisagreement"/>
/// of the self-check's images: the zip would not score what was trained (an export bug), so no model is returned. Users see
/// an <see cref="InvalidOperationException"/>; the CLI exits 1.
/// </summary>
internal sealed class SelfCheckFailedException : InvalidOperationException
{
    /// <summary>Creates the exception for a failed check.</summary>
    /// <param name="check">The check's figures.</param>
    public SelfCheckFailedException(VisionTransformerSelfCheck check)
        : base(string.Format(CultureInfo.InvariantCulture,
            "Self-check failed: the saved scoring chain and the training engine predict different classes for {0} of {1} training images " +
            "(expected at most {2:0.#}%, actual {3:0.0#}%; zip accuracy {4:F4}, engine accuracy {5:F4}): the ONNX graph does not compute what was trained, so no model was returned.",
            (int)Math.Round((1 - check.Agreement) * check.Images), check.Images, VisionTransformerSelfCheck.MaxDisagreement * 100,
            (1 - check.Agreement) * 100, check.ZipAccuracy, check.EngineAccuracy))
    {
        Check = check;
    }

    /// <summary>The check's figures.</summary>
    public VisionTransformerSelfCheck Check { get; }
}
