using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Training;
using Xunit;

namespace VitMlNet.Tests.Training;

/// <summary>The self-check that ends every Fit: the saved chain against the engine, and the collapse rule.</summary>
public class SelfCheckTests
{
    private sealed class PixelRow
    {
        [KeyType(3)]
        public uint Label { get; set; }

        [VectorType(3 * 16 * 16)]
        public float[] Pixels { get; set; } = [];
    }

    private static VisionTransformerTransformer Zip(VisionTransformer model, ImageCache cache, VisionTransformerOptions o)
    {
        var ml = new MLContext(1);
        var pixels = cache.Images.to(torch.ScalarType.Float32).data<float>().ToArray();
        var data = ml.Data.LoadFromEnumerable(new[] { new PixelRow { Label = 1, Pixels = pixels[..(3 * 16 * 16)] } });
        return VisionTransformerTransformer.Create(model, SyntheticImages.ClassNames, o, [], data);
    }

    [Fact]
    public void AZipThatScoresOtherWeightsThanTheEngineIsAnErrorOfOneLineAndItsOwnZipAgrees()
    {
        var (pixels, labels) = SyntheticImages.Make(30, 1);
        using var cache = ImageCache.FromBytes(pixels, labels, 3, 16, 16, 3);
        var config = ViTConfig.Tiny.WithInput(3, 16, 16, 3);
        var o = new VisionTransformerOptions { Architecture = config };
        torch.manual_seed(1);
        using var engine = new VisionTransformer(config);
        engine.eval();

        using var own = Zip(engine, cache, o);
        var check = SelfCheck.Run(own, engine, cache, o, []);
        Assert.Equal(30, check.Images);
        Assert.Equal(1.0, check.Agreement);
        Assert.Equal(check.EngineAccuracy, check.ZipAccuracy);
        Assert.Null(check.TrainingAccuracy);
        Assert.Null(check.Warning);

        // The same weights with the head negated: the zip predicts each image's least likely class.
        torch.manual_seed(1);
        using var other = new VisionTransformer(config);
        using (torch.no_grad())
        {
            foreach (var (name, p) in other.named_parameters())
                if (name.StartsWith("head", StringComparison.Ordinal)) p.neg_();
        }
        using var wrong = Zip(other, cache, o);
        var e = Assert.Throws<SelfCheckFailedException>(() => SelfCheck.Run(wrong, engine, cache, o, []));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("Self-check failed: the saved scoring chain and the training engine predict different classes for ", e.Message);
        Assert.True(e.Check.Agreement < 0.5, $"agreement {e.Check.Agreement}");
    }

    [Theory]
    [InlineData(0.90, 0.10, 0.10, true, true)]    // near chance while training was not
    [InlineData(0.90, 0.60, 0.10, true, true)]    // far below training, on training images
    [InlineData(0.90, 0.60, 0.10, false, false)]  // the same gap on validation images is over-fitting
    [InlineData(0.90, 0.10, 0.10, false, true)]   // near chance on validation images still warns
    [InlineData(0.25, 0.12, 0.10, true, false)]   // training near chance too: not learning, no collapse
    [InlineData(0.70, 0.85, 0.10, true, false)]   // evaluation above augmented training
    public void ACollapseIsNearChanceOrFarBelowTraining(double training, double evaluation, double chance, bool onTrainingImages, bool collapsed) =>
        Assert.Equal(collapsed, SelfCheckRules.Collapsed(training, evaluation, chance, onTrainingImages));

    [Fact]
    public void SamplesAreAtMost512AndSmallerForLargeImages()
    {
        Assert.Equal(300, SelfCheckRules.SampleSize(300, 32, 32));
        Assert.Equal(512, SelfCheckRules.SampleSize(60_000, 28, 28));
        Assert.Equal(64, SelfCheckRules.SampleSize(5_000, 288, 288));
        Assert.Equal(128, SelfCheckRules.SampleSize(5_000, 128, 128));
    }
}
