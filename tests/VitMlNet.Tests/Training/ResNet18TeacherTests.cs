using TorchSharp;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Training;
using Xunit;
using static TorchSharp.torch;

namespace VitMlNet.Tests.Training;

/// <summary>
/// The built-in DeiT teacher (<see cref="VisionTransformerTeacher.ResNet18"/>): ML.NET's pretrained ResNet18 plus a
/// linear head fitted on the training images, labelling the views the student trains on.
/// </summary>
public class ResNet18TeacherTests
{
    private static string ResNet18() => ResNet18Weights.Locate(null, m => Assert.Fail($"the test project restores the ResNet18 package; no download expected: {m}"));

    private static Tensor Normalized(byte[] pixels, int count, int channels, int side, ViTConfig config) =>
        torch.tensor(pixels, [count, channels, side, side]).to(ScalarType.Float32).div(255)
            .sub(torch.tensor(config.Mean.ToArray()).reshape(1, -1, 1, 1)).div(torch.tensor(config.Std.ToArray()).reshape(1, -1, 1, 1));

    [Fact]
    public void HeadFitsSeparableFeaturesAndPredictsTheirClasses()
    {
        using var scope = torch.NewDisposeScope();
        using var teacher = ResNet18Teacher.SharingStem();
        var generator = new torch.Generator(3);
        var labels = torch.arange(60, dtype: ScalarType.Int64).remainder(3);
        // Class c: feature c is 6 above the others, plus noise: linearly separable.
        Tensor Features(Tensor y) => torch.randn(y.shape[0], 512, generator: generator).add(torch.nn.functional.one_hot(y, 512).to(ScalarType.Float32).mul(6)).relu();
        var features = Features(labels);
        double accuracy = teacher.Fit(features, labels, 3);
        Assert.Equal(1.0, accuracy, 6);
        double fresh = teacher.Logits(Features(labels)).argmax(1).eq(labels).to(ScalarType.Float32).mean().item<float>();
        Assert.True(fresh >= 0.9, $"accuracy on new features {fresh}");
        Assert.Throws<InvalidOperationException>(() => teacher.Features(torch.zeros(1, 3, 32, 32)));
    }

    /// <summary>
    /// Its own network sees a student's images as ML.NET's ResNet18 expects them: a grey 32×32 student normalized with its
    /// own mean and std gives the pooled features of the RGB image enlarged to 224×224 and normalized for the network.
    /// </summary>
    [Fact]
    public void OwnNetworkRenormalizesEnlargesAndRepeatsGreyImages()
    {
        using var scope = torch.NewDisposeScope();
        var student = (ViTConfig.Tiny with { Mean = [0.3f], Std = [0.2f] }).WithInput(1, 32, 32, 3);
        var (pixels, _) = SyntheticImages.Make(3, 7, 1, 32, 32);
        using var teacher = ResNet18Teacher.WithOwnNetwork(student, ResNet18(), torch.CPU);
        var ours = teacher.Features(Normalized(pixels, 3, 1, 32, student));

        var reference = ViTConfig.HybridResNet18.WithInput(3, 224, 224, 3);
        using var network = new VisionTransformer(reference);
        ResNet18Weights.LoadInto(network, ResNet18());
        network.eval();
        using var noGrad = torch.no_grad();
        var rgb = torch.tensor(pixels, [3, 1, 32, 32]).to(ScalarType.Float32).div(255).expand(-1, 3, -1, -1);
        var enlarged = torch.nn.functional.interpolate(rgb, [224, 224], mode: InterpolationMode.Bilinear, align_corners: false)
            .sub(torch.tensor(reference.Mean.ToArray()).reshape(1, 3, 1, 1)).div(torch.tensor(reference.Std.ToArray()).reshape(1, 3, 1, 1));
        var expected = ResNet18Teacher.Pool(network.StemFeatures(enlarged));

        Assert.Equal(new long[] { 3, 512 }, ours.shape);
        float scale = expected.abs().max().item<float>();
        float diff = ours.sub(expected).abs().max().item<float>();
        Assert.True(scale > 0.1f && diff <= 1e-4f * scale, $"max difference {diff} at scale {scale}");
    }

    /// <summary>Images of 224 or more a side reach the teacher's network at their own size, smaller ones enlarged, aspect kept.</summary>
    [Fact]
    public void OwnNetworkTakesEachStudentsSize()
    {
        Assert.Equal((224, 224), ResNet18Teacher.InputSize(32, 32));
        Assert.Equal((224, 336), ResNet18Teacher.InputSize(32, 48));
        Assert.Equal((288, 320), ResNet18Teacher.InputSize(288, 320));

        using var scope = torch.NewDisposeScope();
        var student = ViTConfig.Tiny.WithInput(3, 224, 256, 3);
        using var teacher = ResNet18Teacher.WithOwnNetwork(student, ResNet18(), torch.CPU);
        var features = teacher.Features(torch.randn(2, 3, 224, 256, generator: new torch.Generator(5)));
        Assert.Equal(new long[] { 2, 512 }, features.shape);
    }

    /// <summary>A hybrid whose frozen stem is the whole ResNet18 on the network's own normalization shares its maps; others do not.</summary>
    [Fact]
    public void OnlyTheWholeFrozenResNetStemIsTheTeacher()
    {
        var whole = ViTConfig.HybridResNet18.WithInput(3, 288, 288, 5);
        Assert.True(ResNet18Teacher.StemIsTeacher(whole, frozen: true));
        Assert.False(ResNet18Teacher.StemIsTeacher(whole, frozen: false));
        Assert.False(ResNet18Teacher.StemIsTeacher(whole with { StemSkipLastBlocks = 1 }, frozen: true));
        Assert.False(ResNet18Teacher.StemIsTeacher(whole with { PatchSize = 16 }, frozen: true));
        Assert.False(ResNet18Teacher.StemIsTeacher(whole with { Mean = [0.5f, 0.5f, 0.5f] }, frozen: true));
        Assert.False(ResNet18Teacher.StemIsTeacher(ViTConfig.HybridResNet18.WithInput(3, 64, 64, 5), frozen: true));
    }

    private static VisionTransformerOptions Options(ViTConfig config) => new()
    {
        Architecture = config, Epochs = 4, BatchSize = 16, LearningRate = 1e-3, Optimizer = VisionTransformerOptimizer.AdamW, Seed = 5, ProgressEverySteps = 0,
        FreezeStem = true, StemFeatureViews = 2, Augmentation = new AugmentationOptions { RandomCropPadding = 2, HorizontalFlip = true },
        Teacher = VisionTransformerTeacher.ResNet18,
        Log = m => Assert.Fail($"the test project restores the ResNet18 package; no download expected: {m}"),
    };

    /// <summary>
    /// A hybrid student (stride-8 stem on 32×32 images, so the teacher runs its own network on them enlarged) learns with
    /// hard and with soft distillation, and the teacher's probabilities change what it learns (its labels here are the
    /// true ones: it is right on every view of these images).
    /// </summary>
    [Fact]
    public void HybridStudentLearnsFromTheTeacherHardAndSoft()
    {
        var config = (ViTConfig.HybridResNet18 with { PatchSize = 8, Dim = 32, Heads = 2, DimHead = 16, Depth = 1, DistillationToken = true }).WithInput(3, 32, 32, 3);
        var (pixels, labels) = SyntheticImages.Make(24, 1, 3, 32, 32);
        using var train = ImageCache.FromBytes(pixels, labels, 3, 32, 32, 3);
        var (vp, vl) = SyntheticImages.Make(18, 2, 3, 32, 32);
        using var valid = ImageCache.FromBytes(vp, vl, 3, 32, 32, 3);

        using var hard = new ViTTrainingEngine(Options(config), config).Train(train, valid);
        var softOptions = Options(config);
        softOptions.Distillation = VisionTransformerDistillation.Soft;
        using var soft = new ViTTrainingEngine(softOptions, config).Train(train, valid);

        foreach (var r in new[] { hard, soft })
        {
            Assert.True(r.History[^1].Loss < r.History[0].Loss, $"loss did not fall: {r.History[0].Loss} -> {r.History[^1].Loss}");
            Assert.True(r.History[^1].ValidationAccuracy >= 0.8, $"validation accuracy {r.History[^1].ValidationAccuracy}");
        }
        float[] Head(TrainingResult r) => r.Model.named_parameters().Single(p => p.name == "head_dist.weight").parameter.detach().flatten().data<float>().ToArray();
        Assert.NotEqual(Head(hard), Head(soft));
    }

    [Fact]
    public void OptionsNameEveryProblemOfATeacher()
    {
        var options = new VisionTransformerOptions
        {
            Architecture = ViTConfig.Tiny, Teacher = VisionTransformerTeacher.ResNet18, TeacherColumnName = "Teacher",
            DistillationTemperature = 0,
        };
        var errors = options.GetErrors();
        Assert.Contains("Teacher ResNet18 needs an architecture with DistillationToken = true", errors);
        Assert.Contains("Teacher ResNet18 and TeacherColumnName 'Teacher' are two teachers; set one", errors);
        Assert.Contains("DistillationTemperature must be positive (actual 0)", errors);
        Assert.Contains("Distillation Soft needs a Teacher (a TeacherColumnName gives hard labels only)",
            new VisionTransformerOptions { Distillation = VisionTransformerDistillation.Soft }.GetErrors());
        Assert.Contains("Teacher is not a known teacher (actual 7)", new VisionTransformerOptions { Teacher = (VisionTransformerTeacher)7 }.GetErrors());

        // The data-aware recipe gives its architecture the token a teacher needs.
        var auto = VisionTransformerRecipes.ForData(150, 5, 3, 288, 288, new VisionTransformerOptions { Teacher = VisionTransformerTeacher.ResNet18 });
        Assert.True(auto.Architecture!.DistillationToken);
        Assert.Empty(auto.GetErrors());
        Assert.False(VisionTransformerRecipes.ForData(150, 5, 3, 288, 288).Architecture!.DistillationToken);
    }
}
