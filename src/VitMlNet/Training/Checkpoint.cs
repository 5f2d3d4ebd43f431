using System.Text.Json;
using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>Progress of a run that a checkpoint restores: epochs done, best-epoch tracking and history.</summary>
public sealed class CheckpointState
{
    /// <summary>Completed epochs.</summary>
    public int EpochsDone { get; set; }

    /// <summary>Best validation epoch so far (1-based; 0 when none).</summary>
    public int BestEpoch { get; set; }

    /// <summary>Best validation accuracy so far.</summary>
    public double BestAccuracy { get; set; }

    /// <summary>Validation loss of the best epoch.</summary>
    public double BestLoss { get; set; } = double.MaxValue;

    /// <summary>Epochs since the best one.</summary>
    public int EpochsWithoutImprovement { get; set; }

    /// <summary>Whether best weights were saved with the checkpoint.</summary>
    public bool HasBest { get; set; }

    /// <summary>Training seconds (wall clock) spent so far; a resumed run's time budget counts them.</summary>
    public double Seconds { get; set; }

    /// <summary>Training second at which warmup ended (the start of a time budget's cosine), once it has.</summary>
    public double? WarmupEndSeconds { get; set; }

    /// <summary>Updates folded into the weight average (<see cref="ModelEma.Updates"/>).</summary>
    public long EmaUpdates { get; set; }

    /// <summary>Summaries of the completed epochs.</summary>
    public List<EpochSummary> History { get; set; } = new();
}

/// <summary>
/// Epoch-boundary checkpoints in a folder: model, optimizer (Adam moments and step counts), EMA and best
/// weights as TorchSharp state files, and <c>state.json</c> (written last, so a half-written checkpoint is
/// never taken). The learning-rate schedule and all randomness derive from the epoch number and seed, so
/// resuming at an epoch boundary reproduces an uninterrupted run exactly.
/// </summary>
public static class Checkpoint
{
    private const string StateFile = "state.json";

    /// <summary>Whether <paramref name="directory"/> holds a complete checkpoint.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, StateFile));

    /// <summary>Writes a checkpoint.</summary>
    public static void Save(string directory, CheckpointState state, VisionTransformer model, optim.Optimizer optimizer,
        VisionTransformer? ema, IReadOnlyDictionary<string, Tensor>? best)
    {
        Directory.CreateDirectory(directory);
        File.Delete(Path.Combine(directory, StateFile));
        model.save(Path.Combine(directory, "model.bin"));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(Path.Combine(directory, "optimizer.bin"));
        ema?.save(Path.Combine(directory, "ema.bin"));
        state.HasBest = best is not null;
        if (best is not null)
        {
            using var copy = new VisionTransformer(model.Config);
            using (torch.no_grad())
            {
                foreach (var (name, p) in copy.NamedState()) p.copy_(best[name]);
            }
            copy.save(Path.Combine(directory, "best.bin"));
        }
        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Restores model, optimizer and EMA weights in place and returns the run state.</summary>
    public static CheckpointState Load(string directory, VisionTransformer model, optim.Optimizer optimizer, VisionTransformer? ema)
    {
        var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(Path.Combine(directory, StateFile)))
            ?? throw new InvalidDataException($"Checkpoint '{directory}': {StateFile} is empty.");
        model.load(Path.Combine(directory, "model.bin"));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(Path.Combine(directory, "optimizer.bin"));
        if (ema is not null)
        {
            string emaPath = Path.Combine(directory, "ema.bin");
            if (!File.Exists(emaPath)) throw new InvalidDataException($"Checkpoint '{directory}' has no EMA weights but EmaDecay is set.");
            ema.load(emaPath);
        }
        return state;
    }

    /// <summary>Reads the best weights saved with a checkpoint as detached tensors.</summary>
    public static Dictionary<string, Tensor> LoadBest(string directory, VisionTransformer like)
    {
        using var copy = new VisionTransformer(like.Config);
        copy.load(Path.Combine(directory, "best.bin"));
        return VitTrainingEngine.Snapshot(copy);
    }
}
