using TorchSharp;
using VitMlNet.Training;
using static TorchSharp.torch;

namespace VitMlNet.Tests.Training;

public class BatchAugmenterTests
{
    [Fact]
    public void FlipMirrorsSomeImagesAndKeepsOthers()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(4 * 1 * 2 * 3, dtype: ScalarType.Float32).reshape(4, 1, 2, 3);
        var targets = torch.eye(4);
        using var g = new Generator(1);
        var (y, t) = new BatchAugmenter(new AugmentationOptions { HorizontalFlip = true }).Apply(x, targets, g, new Random(1));
        int flipped = 0;
        for (int i = 0; i < 4; i++)
        {
            bool same = y[i].equal(x[i]).all().item<bool>();
            bool mirrored = y[i].equal(x[i].flip(2)).all().item<bool>();
            Assert.True(same || mirrored);
            if (mirrored) flipped++;
        }
        Assert.InRange(flipped, 1, 3);
        Assert.True(t.equal(targets).all().item<bool>());
    }

    [Fact]
    public void RandomResizedCropZoomsIntoPartsOfEachImageAndIsSeeded()
    {
        using var scope = torch.NewDisposeScope();
        // A horizontal ramp 0..1: any crop keeps it increasing left to right, inside [0, 1]; a zoom narrows its range.
        var ramp = torch.linspace(0, 1, 32).reshape(1, 1, 1, 32).expand(6, 3, 32, 32).contiguous();
        var a = BatchAugmenter.RandomResizedCrop(ramp, 0.35, new Random(4));
        var b = BatchAugmenter.RandomResizedCrop(ramp, 0.35, new Random(4));
        Assert.Equal(ramp.shape, a.shape);
        Assert.True(a.equal(b).all().item<bool>());
        Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() <= 1);
        Assert.True(a[.., .., .., 1..].sub(a[.., .., .., ..^1]).min().item<float>() >= -1e-6f);
        var range = a[.., 0, 0, ^1].sub(a[.., 0, 0, 0]);
        Assert.True(range.min().item<float>() < 0.99f, "no image was zoomed");
        Assert.True(range.min().item<float>() >= (float)Math.Sqrt(0.35 * 0.75) - 0.05f, $"a crop is narrower than the smallest allowed: {range.min().item<float>()}");
        Assert.Contains("RandomResizedCropScale must be in [0, 1) (actual 1)", new AugmentationOptions { RandomResizedCropScale = 1 }.GetErrors());
    }

    [Fact]
    public void CropKeepsShapeAndShiftsContent()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.rand(8, 3, 8, 8);
        using var g = new Generator(2);
        var (y, _) = new BatchAugmenter(new AugmentationOptions { RandomCropPadding = 2 }).Apply(x, torch.eye(8), g, new Random(2));
        Assert.Equal(x.shape, y.shape);
        Assert.False(y.equal(x).all().item<bool>());
    }

    [Fact]
    public void MixupAndCutMixKeepTargetsNormalized()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.rand(8, 3, 8, 8);
        var targets = torch.nn.functional.one_hot(torch.arange(8).remainder(3), 3).to(ScalarType.Float32);
        foreach (var options in new[] { new AugmentationOptions { MixupAlpha = 0.4 }, new AugmentationOptions { CutMixAlpha = 1.0 } })
        {
            using var g = new Generator(3);
            var (y, t) = new BatchAugmenter(options).Apply(x, targets, g, new Random(3));
            Assert.True(t.sum(1).allclose(torch.ones(8)));
            Assert.False(t.equal(targets).all().item<bool>());
            Assert.Equal(x.shape, y.shape);
        }
    }

    [Fact]
    public void RandomErasingChangesOnlyARectangle()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros(16, 1, 10, 10);
        using var g = new Generator(4);
        var (y, _) = new BatchAugmenter(new AugmentationOptions { RandomErasingProbability = 1.0 }).Apply(x, torch.eye(16), g, new Random(4));
        var changed = y.ne(0).sum(new long[] { 1, 2, 3 });
        Assert.True(changed.gt(0).all().item<bool>());
        Assert.True(changed.le(34).all().item<bool>());
    }

    [Fact]
    public void TrivialAugmentKeepsShapeAndRangeChangesImagesAndIsSeeded()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(6);
        var x = torch.rand(64, 3, 16, 16);
        var augmenter = new BatchAugmenter(new AugmentationOptions { TrivialAugment = true });
        using var g = new Generator(6);
        var (a, _) = augmenter.Apply(x, torch.eye(64), g, new Random(6));
        var (b, _) = augmenter.Apply(x, torch.eye(64), g, new Random(6));
        Assert.Equal(x.shape, a.shape);
        Assert.True(a.ge(0).all().item<bool>() && a.le(1).all().item<bool>());
        Assert.True(a.equal(b).all().item<bool>());
        var changed = a.sub(x).abs().amax(new long[] { 1, 2, 3 }).gt(1e-6).sum().item<long>();
        Assert.InRange(changed, 40, 63);   // about 1 in 11 images draws the identity
    }

    [Fact]
    public void BetaSamplesStayInTheUnitIntervalWithMeanOneHalf()
    {
        var rng = new Random(5);
        var samples = Enumerable.Range(0, 4000).Select(_ => BatchAugmenter.SampleBeta(0.4, rng)).ToArray();
        Assert.All(samples, s => Assert.InRange(s, 0, 1));
        Assert.InRange(samples.Average(), 0.47, 0.53);
    }

    [Fact]
    public void ScheduleWarmsUpThenDecaysToTheMinimum()
    {
        var s = new LearningRateSchedule(VisionTransformerLearningRateSchedule.WarmupCosine, 1e-3, 1e-5, 10, 110);
        Assert.Equal(1e-4, s.At(0), 12);
        Assert.Equal(1e-3, s.At(9), 12);
        Assert.Equal(1e-3, s.At(10), 12);
        Assert.Equal((1e-3 + 1e-5) / 2, s.At(60), 9);
        Assert.Equal(1e-5, s.At(110), 12);
        var constant = new LearningRateSchedule(VisionTransformerLearningRateSchedule.Constant, 3e-4, 0, 0, 100);
        Assert.Equal(3e-4, constant.At(57));
    }

    [Fact]
    public void ScheduleUnderATimeBudgetFollowsWhicheverRunsOutFirst()
    {
        var s = new LearningRateSchedule(VisionTransformerLearningRateSchedule.WarmupCosine, 1e-3, 1e-5, 10, 110);
        Assert.Equal(1e-4, s.At(0, 0.9), 12);                  // warmup ignores the clock
        Assert.Equal(s.At(60), s.At(60, 0.2), 12);             // steps ahead of the clock
        Assert.Equal((1e-3 + 1e-5) / 2, s.At(20, 0.5), 9);     // clock ahead of the steps: half the budget is half the cosine
        Assert.Equal(1e-5, s.At(30, 1.0), 12);                 // budget spent: the minimum
        Assert.Equal(1e-5, s.At(30, 7.0), 12);                 // clamped
        Assert.Equal(3e-4, new LearningRateSchedule(VisionTransformerLearningRateSchedule.Constant, 3e-4, 0, 0, 100).At(57, 0.9));
    }
}
