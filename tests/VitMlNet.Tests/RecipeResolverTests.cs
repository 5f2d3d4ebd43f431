using System.Reflection;
using Microsoft.ML;
using VitMlNet.Cli;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests;

/// <summary>
/// The one recipe resolver (<see cref="VisionTransformerRecipes.Resolve(RecipeRequest)"/>): a recipe name gives the same
/// options through the catalog's short overload, the options helper and <c>vit train</c>, and the input size follows
/// one rule.
/// </summary>
public class RecipeResolverTests
{
    /// <summary>Every recipe name on two data shapes: 200 colour images of 64×64 (auto: the pretrained hybrid) and 300 gray ones of 32×32.</summary>
    public static TheoryData<string, int, int, int, int> NamesAndShapes()
    {
        var data = new TheoryData<string, int, int, int, int>();
        foreach (var name in VisionTransformerRecipes.Names)
        {
            data.Add(name, 200, 3, 64, 64);
            data.Add(name, 300, 1, 32, 32);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NamesAndShapes))]
    public void ARecipeNameGivesEqualOptionsInTheCatalogTheOptionsHelperAndTheCli(string name, int count, int channels, int height, int width)
    {
        const int classes = 4;
        var helper = VisionTransformerRecipes.Resolve(name, count, classes, channels, height, width);
        var catalog = new MLContext(1).MulticlassClassification.Trainers.VisionTransformer(recipe: name).OptionsFor(count, classes, channels, height, width);
        var cli = CliResolution(new TrainSettings { Data = "data", Out = "model.zip", Recipe = name.ToUpperInvariant() }, count, classes, channels, height, width);

        AssertSameOptions(helper, catalog, "catalog");
        AssertSameOptions(helper, cli, "vit train");
        var config = helper.ResolveArchitecture();
        Assert.Equal((channels, height, width, classes), (config.Channels, config.ImageHeight, config.ImageWidth, config.NumClasses));
    }

    [Theory]
    [MemberData(nameof(NamesAndShapes))]
    public void ARecipeResolvesToItsNamedOptionsWithTheArchitectureFittedToTheInput(string name, int count, int channels, int height, int width)
    {
        var resolved = VisionTransformerRecipes.Resolve(name, count, 4, channels, height, width);
        var named = name == VisionTransformerRecipes.Auto
            ? VisionTransformerRecipes.ForData(count, 4, channels, height, width)
            : VisionTransformerRecipes.Apply(name);
        named.Architecture = named.ResolveArchitecture().WithInput(channels, height, width, 4);
        AssertSameOptions(named, resolved, "Resolve");
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("fmnist-fast")]
    [InlineData("tiny")]
    public void EpochsBatchAndLearningRateGivenBesideARecipeWinEverywhere(string name)
    {
        var helper = VisionTransformerRecipes.Resolve(new RecipeRequest(name, 300, 4, 1, 32, 32) { Epochs = 3, BatchSize = 16, LearningRate = 1e-3 }).Options;
        var catalog = new MLContext(1).MulticlassClassification.Trainers.VisionTransformer(recipe: name, epochs: 3, batchSize: 16, learningRate: 1e-3)
            .OptionsFor(300, 4, 1, 32, 32);
        var cli = CliResolution(new TrainSettings { Data = "data", Out = "model.zip", Recipe = name, Epochs = 3, Batch = 16, LearningRate = 1e-3 }, 300, 4, 1, 32, 32);

        Assert.Equal((3, 16, 1e-3), (helper.Epochs, helper.BatchSize, helper.LearningRate));
        AssertSameOptions(helper, catalog, "catalog");
        AssertSameOptions(helper, cli, "vit train");
    }

    [Fact]
    public void TheCatalogGivesATunedRecipeWholeAndAcceptsEveryRecipeName()
    {
        var fast = new MLContext(1).MulticlassClassification.Trainers.VisionTransformer(recipe: "fmnist-fast").Options;
        Assert.Equal((VisionTransformerOptimizer.AdamW, 2e-3, 8, 128), (fast.Optimizer, fast.LearningRate, fast.Epochs, fast.BatchSize));

        var hybrid = new MLContext(1).MulticlassClassification.Trainers.VisionTransformer(recipe: "hybrid-resnet18").Options;
        Assert.Equal(ViTStem.ResNet18, hybrid.ResolveArchitecture().Stem);
        Assert.True(hybrid.FreezeStem);

        var e = Assert.Throws<ArgumentException>(() => new MLContext(1).MulticlassClassification.Trainers.VisionTransformer(recipe: "huge"));
        Assert.Contains("Unknown recipe 'huge'", e.Message, StringComparison.Ordinal);
        Assert.Contains("hybrid-resnet18", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheInputSizeIsTheRequestedSideThenTheDataThenTheCheckpointThenTheRecipe()
    {
        var photos = new RecipeRequest("auto", 150, 5, 3, null, null);
        Assert.Equal((3, VisionTransformerRecipes.PhotoInputSize, VisionTransformerRecipes.PhotoInputSize), VisionTransformerRecipes.InputSize("auto", photos));
        Assert.Equal((1, 32, 32), VisionTransformerRecipes.InputSize("auto", photos with { Channels = 1 }));
        Assert.Equal((3, VisionTransformerRecipes.PhotoInputSize, VisionTransformerRecipes.PhotoInputSize), VisionTransformerRecipes.InputSize("auto", photos with { Count = 100_000 }));
        Assert.Equal((3, 16, 16), VisionTransformerRecipes.InputSize("tiny", photos with { Recipe = "tiny" }));
        var checkpoint = new RecipeCheckpoint("vit.safetensors", ViTConfig.FromPreset("vit-tiny-patch16-224"));
        Assert.Equal((3, 224, 224), VisionTransformerRecipes.InputSize("tiny", photos with { Checkpoint = checkpoint }));
        Assert.Equal((3, 28, 20), VisionTransformerRecipes.InputSize("tiny", photos with { Checkpoint = checkpoint, Height = 28, Width = 20 }));
        Assert.Equal((3, 48, 48), VisionTransformerRecipes.InputSize("tiny", photos with { Checkpoint = checkpoint, Height = 28, Width = 20, ImageSize = 48 }));
    }

    [Fact]
    public void ACheckpointGivesTheFineTuningRecipe()
    {
        var config = ViTConfig.FromPreset("vit-tiny-patch16-224");
        var r = VisionTransformerRecipes.Resolve(new RecipeRequest("auto", 150, 5, 3, 224, 224) { Checkpoint = new RecipeCheckpoint("vit.safetensors", config) });
        Assert.Equal("vit.safetensors", r.Options.InitialModel);
        Assert.Equal((VisionTransformerOptimizer.AdamW, VisionTransformerRecipes.FineTuneLearningRate), (r.Options.Optimizer, r.Options.LearningRate));
        Assert.Equal(config.WithInput(3, 224, 224, 5), r.Options.Architecture);
        Assert.Equal(2e-4, VisionTransformerRecipes.Resolve(new RecipeRequest("auto", 150, 5, 3, 224, 224)
        {
            Checkpoint = new RecipeCheckpoint("vit.safetensors", config), LearningRate = 2e-4,
        }).Options.LearningRate);
    }

    [Fact]
    public void PresetIsAnAliasOfRecipeOnTheCommandLine()
    {
        var recipe = Vit.Run("train", "--data", "/no/such/folder", "--recipe", "huge", "--out", "never.zip");
        var preset = Vit.Run("train", "--data", "/no/such/folder", "--preset", "huge", "--out", "never.zip");
        Assert.Equal(2, recipe.Code);
        Assert.Contains("unknown recipe 'huge'; known recipes: auto,", recipe.Err, StringComparison.Ordinal);
        Assert.Equal((recipe.Code, recipe.Out, recipe.Err), (preset.Code, preset.Out, preset.Err));
    }

    /// <summary>What <c>vit train</c> resolves for data of this shape (pixels with a size, as IDX and CIFAR-10 have).</summary>
    private static VisionTransformerOptions CliResolution(TrainSettings s, int count, int classes, int channels, int height, int width)
    {
        var labels = Enumerable.Range(0, count).Select(i => i % classes).ToArray();
        var names = Enumerable.Range(0, classes).Select(k => "c" + k).ToArray();
        var data = new ImageDataset(new byte[count * channels * height * width], labels, names, channels, height, width);
        string recipe = TrainCommand.CheckRecipe(s.Recipe);
        var (c, h, w) = TrainCommand.InputGeometry(data, recipe, s.ImageSize, s.Channels, checkpoint: null);
        return TrainCommand.ResolveRecipe(s, recipe, data, null, c, h, w).Options;
    }

    /// <summary>Compares every public property, naming the first that differs.</summary>
    private static void AssertSameOptions(VisionTransformerOptions expected, VisionTransformerOptions actual, string by)
    {
        foreach (var p in typeof(VisionTransformerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            object? e = p.GetValue(expected), a = p.GetValue(actual);
            Assert.True(Equals(e, a), $"{by}: {p.Name} is {a}, expected {e}");
        }
    }
}
