using Microsoft.ML;
using VitMlNet.Experiments;
using VitMlNet.Modeling;
using VitMlNet.Training;

namespace VitMlNet.Tests.Experiments;

public class SearchSpaceTests
{
    private static readonly SearchContext Cifar = new(3, 32, 32, 10);

    [Fact]
    public void DefaultSpaceSamplesWithinItsRanges()
    {
        var space = SearchSpace.CreateDefault();
        var random = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            var p = space.Sample(random, Cifar);
            Assert.InRange(p.GetDouble(SearchParameterNames.LearningRate), 1e-4, 3e-3);
            Assert.InRange(p.GetDouble(SearchParameterNames.WeightDecay), 1e-3, 0.1);
            Assert.Contains(p.GetInt32(SearchParameterNames.Depth), new[] { 4, 6, 8 });
            Assert.Contains(p.GetInt32(SearchParameterNames.PatchSize), new[] { 4, 8 });
            Assert.InRange(p.GetDouble(SearchParameterNames.Dropout), 0, 0.2);
            Assert.InRange(p.GetDouble(SearchParameterNames.AugmentationStrength), 0, 1);
        }
    }

    [Fact]
    public void LogUniformSpreadsOverDecades()
    {
        var dim = SearchDimension.LogUniform(1e-5, 1e-1);
        var random = new Random(2);
        var values = Enumerable.Range(0, 2000).Select(_ => (double)dim.Sample(random, Cifar)).ToArray();
        double belowMiddle = values.Count(v => v < 1e-3) / (double)values.Length;
        Assert.InRange(belowMiddle, 0.45, 0.55);
    }

    [Theory]
    [InlineData(32, 32, 2, 16, new[] { 2, 4, 8, 16 })]
    [InlineData(28, 28, 2, 16, new[] { 2, 4, 7, 14 })]
    [InlineData(28, 28, 4, 8, new[] { 4, 7 })]
    [InlineData(16, 24, 2, 16, new[] { 2, 4, 8 })]
    [InlineData(6, 6, 4, 8, new[] { 3 })]
    public void PatchSizesAreDivisorsOfTheImageSize(int height, int width, int min, int max, int[] expected)
    {
        var dim = SearchDimension.DivisorsOfImageSize(min, max);
        var context = new SearchContext(3, height, width, 10);
        var random = new Random(3);
        var seen = Enumerable.Range(0, 300).Select(_ => (int)dim.Sample(random, context)).Distinct().Order().ToArray();
        Assert.Equal(expected, seen);
    }

    [Fact]
    public void ApplySetsOptionsOnACopy()
    {
        var space = SearchSpace.CreateDefault();
        var baseOptions = new VisionTransformerOptions { Preset = "seed" };
        var p = new TrialParameters(new Dictionary<string, object>
        {
            [SearchParameterNames.LearningRate] = 1e-3,
            [SearchParameterNames.WeightDecay] = 0.02,
            [SearchParameterNames.Depth] = 4,
            [SearchParameterNames.Dim] = 64,
            [SearchParameterNames.Heads] = 2,
            [SearchParameterNames.PatchSize] = 8,
            [SearchParameterNames.Dropout] = 0.05,
            [SearchParameterNames.DropPathRate] = 0.1,
            [SearchParameterNames.AugmentationStrength] = 0.5,
            [SearchParameterNames.LabelSmoothing] = 0.1,
        });
        var o = space.Apply(baseOptions, p, Cifar);
        Assert.Equal(1e-3, o.LearningRate);
        Assert.Equal(0.02, o.WeightDecay);
        Assert.Equal(VisionTransformerOptimizer.AdamW, o.Optimizer);
        Assert.Equal((4, 64, 2, 8), (o.Architecture!.Depth, o.Architecture.Dim, o.Architecture.Heads, o.Architecture.PatchSize));
        Assert.Equal((0.05, 0.05, 0.1), (o.Architecture.Dropout, o.Architecture.EmbeddingDropout, o.Architecture.DropPathRate));
        Assert.Equal(ViTConfig.Seed.DimHead, o.Architecture.DimHead);
        Assert.Equal(0.1, o.LabelSmoothing);
        Assert.Equal(new AugmentationOptions { RandomCropPadding = 2, RandomErasingProbability = 0.125, MixupAlpha = 0.4, CutMixAlpha = 0.5 }, o.Augmentation);
        Assert.Null(baseOptions.Architecture);
        Assert.Equal(VisionTransformerOptimizer.Adam, baseOptions.Optimizer);
    }

    [Fact]
    public void AugmentationStrengthZeroTurnsTheRecipeOffAndKeepsFlips()
    {
        var a = SearchSpace.ScaleAugmentation(new AugmentationOptions { HorizontalFlip = true, RandomCropPadding = 4 }, 0, 32);
        Assert.Equal(new AugmentationOptions { HorizontalFlip = true }, a);
        var full = SearchSpace.ScaleAugmentation(new AugmentationOptions(), 1, 32);
        Assert.Equal((4, 0.25, 0.8, 1.0), (full.RandomCropPadding, full.RandomErasingProbability, full.MixupAlpha, full.CutMixAlpha));
    }

    [Fact]
    public void SpacesCanBeNarrowedAndExtended()
    {
        var space = SearchSpace.CreateDefault()
            .Add(SearchParameterNames.Depth, SearchDimension.Choice(2))
            .Remove(SearchParameterNames.WeightDecay)
            .Add("Ema", SearchDimension.Choice(0.0, 0.99), (o, v) => o.EmaDecay = (double)v);
        Assert.DoesNotContain(SearchParameterNames.WeightDecay, space.Names);
        Assert.Equal(SearchParameterNames.Depth, space.Names[2 - 1]); // replaced in place
        var p = space.Sample(new Random(4), Cifar);
        var o = space.Apply(new VisionTransformerOptions(), p, Cifar);
        Assert.Equal(2, o.Architecture!.Depth);
        Assert.Equal(p.GetDouble("Ema"), o.EmaDecay);
        Assert.Equal(VisionTransformerOptimizer.Adam, o.Optimizer);
        var e = Assert.Throws<ArgumentException>(() => space.Add("Ema2", SearchDimension.Uniform(0, 1)));
        Assert.Contains("not a built-in parameter", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadRangesAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SearchDimension.LogUniform(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SearchDimension.Uniform(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SearchDimension.Integer(3, 2));
        Assert.Throws<ArgumentException>(() => SearchDimension.Choice<int>());
        Assert.Throws<ArgumentOutOfRangeException>(() => SearchStrategy.SuccessiveHalving(reductionFactor: 1));
    }

    [Theory]
    [InlineData(9, 1, 3, new[] { 1, 3, 9 })]
    [InlineData(10, 1, 3, new[] { 1, 3, 10 })]
    [InlineData(3, 1, 3, new[] { 1, 3 })]
    [InlineData(1, 1, 3, new[] { 1 })]
    [InlineData(20, 1, 2, new[] { 1, 3, 5, 10, 20 })]
    [InlineData(10, 2, 3, new[] { 3, 10 })]
    public void HalvingRungsDivideTheBudgetByEta(int max, int min, int eta, int[] expected)
    {
        var h = (SuccessiveHalvingStrategy)SearchStrategy.SuccessiveHalving(min, eta);
        Assert.Equal(expected, h.Rungs(max));
    }

    [Fact]
    public void StratifiedFoldsPartitionEveryImageOnce()
    {
        var (pixels, labels) = SyntheticImages.Make(31, 1);
        using var cache = ImageCache.FromBytes(pixels, labels, 3, 16, 16, 3);
        var folds = ExperimentData.StratifiedFolds(cache, 4, 7).ToList();
        Assert.Equal(4, folds.Count);
        Assert.Equal(Enumerable.Range(0, 31).Select(i => (long)i), folds.SelectMany(f => f.Validation).Order());
        Assert.All(folds, f => Assert.Equal(31, f.Train.Length + f.Validation.Length));
        Assert.All(folds, f => Assert.InRange(f.Validation.Length, 7, 8));
        Assert.All(folds, f => Assert.Equal(3, f.Validation.Select(i => labels[i]).Distinct().Count()));
    }

    [Fact]
    public void RunNeedsADatasetAndABudget()
    {
        var ml = new MLContext(1);
        Assert.Throws<InvalidOperationException>(() => new VisionTransformerExperiment(ml).SetMaxTrials(1).Run());
        var data = ExperimentTestData.Rows(ml, 6, 1);
        Assert.Throws<InvalidOperationException>(() => new VisionTransformerExperiment(ml).SetDataset(data).Run());
        var bad = new VisionTransformerOptions { BatchSize = 0, LearningRate = -1 };
        var e = Assert.Throws<ArgumentException>(() => new VisionTransformerExperiment(ml, bad).SetDataset(data).SetMaxTrials(1).Run());
        Assert.Contains("BatchSize", e.Message, StringComparison.Ordinal);
        Assert.Contains("LearningRate", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new VisionTransformerExperiment(ml, new VisionTransformerOptions { Preset = "huge" }).SetDataset(data).SetMaxTrials(1).Run());
        Assert.Contains("Preset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MetricDirectionIsKnown()
    {
        Assert.True(ExperimentMetric.MicroAccuracy.IsHigherBetter());
        Assert.True(ExperimentMetric.MacroAccuracy.IsHigherBetter());
        Assert.False(ExperimentMetric.LogLoss.IsHigherBetter());
        Assert.True(ExperimentMetric.LogLoss.IsBetter(0.1, 0.2));
        Assert.True(ExperimentMetric.MicroAccuracy.IsBetter(0.5, double.NaN));
        Assert.False(ExperimentMetric.MicroAccuracy.IsBetter(double.NaN, 0.5));
    }
}
