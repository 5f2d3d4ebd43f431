using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;
using VitMlNet.Modeling;

namespace VitMlNet.Tests.Cli;

/// <summary>The user's files and the user's small dataset: truncated images, stratified trial runs, the data-aware default.</summary>
public class FieldTests
{
    private static string Work()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vit-field-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void ATruncatedImageIsAnErrorOnEveryPath()
    {
        using var train = new OddImageFolder(6, 11);
        string work = Work();
        try
        {
            string zip = Path.Combine(work, "model.zip");
            Assert.Equal(0, Vit.Run("train", "--data", train.Root, "--preset", "tiny", "--epochs", "1", "--out", zip).Code);

            // A PNG cut in half: SkiaSharp still hands MLImage.CreateFromFile a partial picture.
            string good = train.Files.First(f => f.Path.EndsWith(".png", StringComparison.Ordinal)).Path;
            byte[] bytes = File.ReadAllBytes(good);
            string cut = Path.Combine(train.Root, "top", "cut.png");
            File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);

            var predict = Vit.Run("predict", zip, good, cut);
            Assert.Equal(1, predict.Code);
            Assert.Contains(good, predict.Out);
            Assert.DoesNotContain(cut, predict.Out);
            Assert.Contains($"{cut}: cannot read the image", predict.Err);
            Assert.Contains("truncated", predict.Err);

            var evaluate = Vit.Run("evaluate", zip, "--data", train.Root);
            Assert.NotEqual(0, evaluate.Code);
            Assert.Contains("cut.png", evaluate.Err);
            var skipped = Vit.Run("evaluate", zip, "--data", train.Root, "--skip-bad-images", "--json");
            Assert.Equal(0, skipped.Code);
            Assert.Equal(train.Files.Count, skipped.Json().GetProperty("count").GetInt32());
            Assert.Contains("cut.png", skipped.Err);

            var retrain = Vit.Run("train", "--data", train.Root, "--preset", "tiny", "--epochs", "1", "--out", Path.Combine(work, "again.zip"));
            Assert.NotEqual(0, retrain.Code);
            Assert.Contains("cut.png", retrain.Err);
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    [Fact]
    public void LimitIsASeededStratifiedSample()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => i / 100).ToArray(); // 10 classes in class order
        var sample = ImageSources.SampleIndices(labels, 10, 30, seed: 4);
        Assert.Equal(30, sample.Length);
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(3, sample.Count(i => labels[i] == k)));
        Assert.Equal(sample, ImageSources.SampleIndices(labels, 10, 30, seed: 4));
        Assert.NotEqual(sample, ImageSources.SampleIndices(labels, 10, 30, seed: 5));
        Assert.Equal(sample.Order(), sample);

        // Fewer than the classes: as many classes as images, no class twice.
        var few = ImageSources.SampleIndices(labels, 10, 4, seed: 1);
        Assert.Equal(4, few.Select(i => labels[i]).Distinct().Count());

        using var folder = new OddImageFolder(10, 3);
        var r = Vit.Run("train", "--data", folder.Root, "--preset", "tiny", "--epochs", "1", "--limit", "6", "--out", Path.Combine(folder.Root, "..", Path.GetFileName(folder.Root) + ".zip"), "--json");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal(6, r.Json().GetProperty("trainImages").GetInt32());
        File.Delete(Path.Combine(folder.Root, "..", Path.GetFileName(folder.Root) + ".zip"));
    }

    [Fact]
    public void TestFractionThatHoldsOutNothingIsRefusedBeforeTraining()
    {
        using var folder = new OddImageFolder(3, 9);
        string zip = Path.Combine(Work(), "m.zip");
        var r = Vit.Run("train", "--data", folder.Root, "--preset", "tiny", "--test-fraction", "0.01", "--out", zip);
        Assert.Equal(2, r.Code);
        Assert.Contains("--test-fraction 0.01 holds out no image", r.Err);
        Assert.DoesNotContain("epoch", r.Out);
        Assert.False(File.Exists(zip));
    }

    [Fact]
    public void TheDataAwareRecipeScalesWithTheData()
    {
        var large = VisionTransformerRecipes.ForData(60_000, 10, 1, 28, 28);
        var fast = VisionTransformerRecipes.Apply("fmnist-fast");
        Assert.Equal(fast.Epochs, large.Epochs);
        Assert.Equal(fast.BatchSize, large.BatchSize);
        Assert.Equal(fast.LearningRate, large.LearningRate);
        Assert.Equal(fast.Augmentation, large.Augmentation);
        Assert.Equal(fast.ResolveArchitecture().PatchSize, large.ResolveArchitecture().PatchSize);

        var digits = VisionTransformerRecipes.ForData(1_437, 10, 1, 32, 32);
        Assert.Equal(35, digits.Epochs);
        Assert.Equal(4, digits.ResolveArchitecture().PatchSize);
        Assert.True(digits.Augmentation.RandomCropPadding > 0);
        Assert.False(digits.Augmentation.HorizontalFlip); // gray data: often digits or text

        // A small set of colour photos: the hybrid ViT on ML.NET's pretrained ResNet18, frozen, 4 cached views.
        var flowers = VisionTransformerRecipes.ForData(150, 5, 3, 224, 224);
        var hybrid = flowers.ResolveArchitecture();
        Assert.Equal(ViTStem.ResNet18, hybrid.Stem);
        Assert.Equal(32, hybrid.PatchSize); // 7x7 tokens
        Assert.Equal(5, hybrid.NumClasses);
        Assert.True(flowers.FreezeStem);
        Assert.Equal(4, flowers.StemFeatureViews);
        Assert.Equal(12, flowers.Epochs); // about 7,500 samples seen
        Assert.True(flowers.Augmentation.HorizontalFlip);
        Assert.Equal(0.35, flowers.Augmentation.RandomResizedCropScale);
        flowers.Validate();
        Assert.Contains("pretrained ResNet18 (frozen, features of 4 views per image computed once)", VisionTransformerRecipes.DescribeChoice(flowers, 150));
        // More photos: fewer views, as many as the feature cache's memory holds (a 288x288 view: 9x9x512 floats), then
        // none (the frozen ResNet runs every step); the pretrained hybrid however many photos there are.
        Assert.Equal(2, VisionTransformerRecipes.ForData(1_000, 5, 3, 224, 224).StemFeatureViews);
        Assert.Equal(512 * 9 * 9 * 4, VisionTransformerRecipes.StemFeatureBytes(VisionTransformerRecipes.ForData(1_000, 5, 3, 288, 288).ResolveArchitecture()));
        Assert.Equal(2, VisionTransformerRecipes.ForData(6_000, 5, 3, 288, 288).StemFeatureViews);
        var many = VisionTransformerRecipes.ForData(10_000, 5, 3, 288, 288);
        Assert.Equal(ViTStem.ResNet18, many.ResolveArchitecture().Stem);
        Assert.Equal(1, many.StemFeatureViews);
        Assert.Equal(5, many.Epochs);
        Assert.Contains("features of 1 view per image computed once", VisionTransformerRecipes.DescribeChoice(many, 10_000));
        var huge = VisionTransformerRecipes.ForData(20_000, 5, 3, 288, 288);
        Assert.Equal(ViTStem.ResNet18, huge.ResolveArchitecture().Stem);
        Assert.True(huge.FreezeStem);
        Assert.Equal(0, huge.StemFeatureViews);
        Assert.Equal(5, huge.Epochs);
        huge.Validate();
        Assert.Contains("(frozen, features computed every step: too many images to cache them)", VisionTransformerRecipes.DescribeChoice(huge, 20_000));
        Assert.True(20_000L * VisionTransformerRecipes.StemFeatureBytes(huge.ResolveArchitecture()) > VisionTransformerRecipes.StemFeatureCacheBytes);
        Assert.Equal(ViTStem.ResNet18, VisionTransformerRecipes.ForData(1_000_000, 5, 3, 224, 224).ResolveArchitecture().Stem);
        // Gray, or a side that is no multiple of 32: a ViT from scratch.
        Assert.Equal(ViTStem.PatchConv, VisionTransformerRecipes.ForData(150, 5, 1, 224, 224).ResolveArchitecture().Stem);
        Assert.Equal(ViTStem.PatchConv, VisionTransformerRecipes.ForData(150, 5, 3, 100, 100).ResolveArchitecture().Stem);
        Assert.Equal(ViTStem.PatchConv, VisionTransformerRecipes.ForData(150, 5, 3, 32, 32).ResolveArchitecture().Stem);
        Assert.Contains("recipe auto for 150 images of 3x224x224", VisionTransformerRecipes.DescribeChoice(flowers, 150));
    }

    [Fact]
    public void TheDefaultLearnsASmallFolderOfColourPhotosWithThePretrainedHybridWhereTheSeedRecipeDoesNot()
    {
        using var train = new OddImageFolder(30, 21);
        using var test = new OddImageFolder(10, 22);
        string work = Work();
        try
        {
            var auto = Vit.Run("train", "--data", train.Root, "--test", test.Root, "--out", Path.Combine(work, "auto.zip"), "--json");
            Assert.True(auto.Code == 0, auto.ToString());
            // Colour photos of any size: 288x288 for the hybrid ViT on ML.NET's pretrained ResNet18 (found in the NuGet cache: no download).
            Assert.Contains("recipe auto for 90 images of 3x288x288: hybrid ViT on ML.NET's pretrained ResNet18", auto.Err);
            Assert.DoesNotContain("Downloading", auto.Err);
            double autoAccuracy = auto.Json().GetProperty("test").GetProperty("accuracy").GetDouble();

            var seed = Vit.Run("train", "--data", train.Root, "--test", test.Root, "--preset", "seed", "--epochs", "3", "--out", Path.Combine(work, "seed.zip"), "--json");
            Assert.True(seed.Code == 0, seed.ToString());
            double seedAccuracy = seed.Json().GetProperty("test").GetProperty("accuracy").GetDouble();

            Assert.True(autoAccuracy >= 0.9, $"auto: {autoAccuracy:F3}");
            Assert.True(autoAccuracy > seedAccuracy, $"auto {autoAccuracy:F3} vs seed {seedAccuracy:F3}");
            // The seed recipe stays near the uniform guess on 90 images: the user is told.
            Assert.Contains("no lower than a uniform guess over 3 classes", seed.Err);
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }
}
