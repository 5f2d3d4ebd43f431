using TorchSharp;
using VitMlNet.Cli;
using VitMlNet.Modeling;
using VitMlNet.ModelZip;
using VitMlNet.Onnx;
using VitMlNet.Tests.Cli;
using VitMlNet.Training;

namespace VitMlNet.Tests.Robustness;

/// <summary>A diverged training stops with an error and saves nothing; a model with non-finite
/// weights is refused when loaded.</summary>
[Collection("Robustness")]
public sealed class DivergenceTests
{
    private readonly CliFixture f;

    public DivergenceTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void AHugeLearningRateStopsWithAnErrorInsteadOfSavingNaNs()
    {
        string dir = Robust.TempFolder("nan");
        try
        {
            string path = Path.Combine(dir, "model.zip");
            var r = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "3", "--batch", "16", "--lr", "1e6", "--seed", "7",
                "--out", path, "--checkpoint", Path.Combine(dir, "ckpt"));
            Assert.True(r.Code == 1, r.ToString());
            Robust.AssertOneErrorLine(r, "train");
            Assert.Contains("Training diverged:", r.Err);
            Assert.Contains("Lower the learning rate", r.Err);
            Assert.False(File.Exists(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AModelWithNaNWeightsIsRefusedWhenLoaded()
    {
        var stored = ModelZipFile.ReadFromZip(f.Model);
        var weights = stored.Weights.ToDictionary(w => w.Key, w => new TensorData(w.Value.Data.ToArray(), w.Value.Shape));
        string name = weights.Keys.Order(StringComparer.Ordinal).First();
        weights[name].Data[0] = float.NaN;
        var proto = ViTOnnxWriter.Build(stored.Config, weights.ToDictionary(w => w.Key, w => w.Value), stored.ClassNames, stored.ExportOptions);
        var e = Assert.Throws<InvalidDataException>(() => ViTOnnxReader.Read(proto));
        Assert.Contains($"Weight '{name}' holds a non-finite value (NaN", e.Message);

        // InitialModel (continued training) reads through the same reader.
        string onnx = f.NewPath("nan.onnx");
        ViTOnnxWriter.Write(proto, onnx);
        var initial = Assert.Throws<InvalidDataException>(() => InitialWeights.Load(onnx, stored.Config, 1));
        Assert.Contains("non-finite", initial.Message);
    }

    [Fact]
    public void NonFiniteWeightsAtAnEpochsEndStopTraining()
    {
        using var model = new VisionTransformer(ViTConfig.Tiny with { NumClasses = 3 });
        ViTTrainingEngine.CheckFinite(model, 1, 1e-3);
        using (torch.no_grad()) model.parameters().First().view(-1)[0] = float.PositiveInfinity;
        var e = Assert.Throws<TrainingDivergedException>(() => ViTTrainingEngine.CheckFinite(model, 4, 1e-3));
        Assert.Equal(4, e.Epoch);
        Assert.Contains("holds NaN or infinite values at epoch 4", e.Message);
    }

    [Fact]
    public void ADivergedRunSaysWhichEpochItsCheckpointKeeps()
    {
        string dir = Robust.TempFolder("kept");
        try
        {
            using var model = new VisionTransformer(ViTConfig.Tiny with { NumClasses = 3 });
            using var optimizer = torch.optim.Adam(model.parameters(), 1e-3);
            Checkpoint.Save(dir, new CheckpointState { EpochsDone = 2 }, model, optimizer, null, null);
            var e = Assert.Throws<InvalidOperationException>(() => TrainChecks.Fit<int>(() => throw new TrainingDivergedException(3, 5, "the loss is NaN", 1e6), dir));
            Assert.StartsWith("Training diverged: the loss is NaN at epoch 3, step 5", e.Message);
            Assert.EndsWith($"The checkpoint in '{dir}' keeps the last finite weights (after epoch 2).", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
