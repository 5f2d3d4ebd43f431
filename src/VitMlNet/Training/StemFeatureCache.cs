using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// The frozen ResNet's feature maps of <see cref="VisionTransformerOptions.StemFeatureViews"/> views of every training
/// image (view 0 the image itself, the others drawn by the batch augmentation with their mixed targets), computed once,
/// so that each epoch trains the rest of a hybrid model on all of them (<see cref="VisionTransformerOptions.FreezeStem"/>).
/// </summary>
internal sealed class StemFeatureCache : IDisposable
{
    private StemFeatureCache(Tensor maps, Tensor labels, Tensor targets, Tensor? teacherTargets)
    {
        Maps = maps;
        Labels = labels;
        Targets = targets;
        TeacherTargets = teacherTargets;
    }

    /// <summary>Feature maps [views·N, C, h, w], view-major.</summary>
    public Tensor Maps { get; }

    /// <summary>The true class of each sample [views·N].</summary>
    public Tensor Labels { get; }

    /// <summary>The training target of each sample [views·N, K] (smoothed, and mixed when the augmentation mixes).</summary>
    public Tensor Targets { get; }

    /// <summary>The teacher's targets, mixed like <see cref="Targets"/>, or null without a teacher.</summary>
    public Tensor? TeacherTargets { get; private set; }

    /// <summary>
    /// Sets <see cref="TeacherTargets"/> from the cached maps (a teacher that reads the same feature maps): computed 256
    /// samples at a time, without gradients.
    /// </summary>
    public void SetTeacherTargets(Func<Tensor, Tensor> targetsOfMaps)
    {
        using var noGrad = torch.no_grad();
        var parts = new List<Tensor>();
        foreach (var maps in Maps.split(256))
        {
            using var scope = torch.NewDisposeScope();
            parts.Add(targetsOfMaps(maps).MoveToOuterDisposeScope());
            maps.Dispose();
        }
        TeacherTargets?.Dispose();
        TeacherTargets = Cat(parts);
    }

    /// <summary>Number of samples: views × images.</summary>
    public int Count => (int)Maps.shape[0];

    /// <summary>
    /// Computes the cache for <paramref name="model"/>'s stem (its map before the <paramref name="trainedLastBlocks"/> last
    /// blocks, which train: <see cref="VisionTransformerOptions.StemTrainLastBlocks"/>) on the <paramref name="count"/> training images (eval
    /// semantics, no gradients, batches of 32 run through the stem 8 at a time): <paramref name="batch"/> gives the
    /// normalized pixels, labels and targets of the rows it is asked for, augmented when asked (views after the first)
    /// with the generator and random source given: the training step's own batch preparation.
    /// </summary>
    public static StemFeatureCache Build(VisionTransformer model, int trainedLastBlocks, int count, int views, int seed, bool hasTeacher,
        Func<Tensor, bool, Generator, Random, (Tensor X, Tensor Y, Tensor Targets, Tensor? TeacherTargets)> batch)
    {
        var maps = new List<Tensor>();
        var labels = new List<Tensor>();
        var targets = new List<Tensor>();
        var teacher = hasTeacher ? new List<Tensor>() : null;
        bool wasTraining = model.training;
        model.eval();
        long viewSeed = ViTTrainingEngine.EpochSeed(seed, 0);
        using var generator = new Generator((ulong)viewSeed);
        var random = new Random((int)(viewSeed & 0x7fffffff));
        try
        {
            using var noGrad = torch.no_grad();
            for (int v = 0; v < views; v++)
            {
                for (long start = 0; start < count; start += 32)
                {
                    using var scope = torch.NewDisposeScope();
                    var (x, y, t, tt) = batch(torch.arange(start, Math.Min(start + 32, count), dtype: ScalarType.Int64), v > 0, generator, random);
                    // 8 at a time: a ResNet pass over 8 images costs a quarter of one over 32 per image on 2 cores
                    // (docs/benchmarks.md); the batch of 32 keeps the augmentation draws as they were.
                    maps.Add(torch.cat(x.split(8).Select(part => model.StemFeatures(part, trainedLastBlocks)).ToList(), 0).MoveToOuterDisposeScope());
                    labels.Add(y.MoveToOuterDisposeScope());
                    targets.Add(t.MoveToOuterDisposeScope());
                    teacher?.Add(tt!.MoveToOuterDisposeScope());
                }
            }
            return new StemFeatureCache(Cat(maps), Cat(labels), Cat(targets), teacher is null ? null : Cat(teacher));
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static Tensor Cat(List<Tensor> parts)
    {
        var all = torch.cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Maps.Dispose();
        Labels.Dispose();
        Targets.Dispose();
        TeacherTargets?.Dispose();
    }
}
