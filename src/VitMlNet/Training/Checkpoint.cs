using System.Text.Json;
using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>Progress of a run that a checkpoint restores: epochs done, best-epoch tracking and history.</summary>
internal sealed class CheckpointState
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

    /// <summary>The tag of this checkpoint's weight files (null: the unversioned names of earlier versions).</summary>
    public string? Generation { get; set; }

    /// <summary>Summaries of the completed epochs.</summary>
    public List<EpochSummary> History { get; set; } = new();
}

/// <summary>
/// Epoch-boundary checkpoints in a folder: model, optimizer (Adam moments and step counts), EMA and best
/// weights as TorchSharp state files, and <c>state.json</c>. The learning-rate schedule and all randomness derive from
/// the epoch number and seed, so resuming at an epoch boundary reproduces an uninterrupted run exactly.
/// </summary>
/// <remarks>
/// Crash safety: each checkpoint writes its weight files under new names (a generation tag), flushes them to disk,
/// and only then replaces <c>state.json</c> atomically (temporary file + rename) to point at them; the previous
/// generation's files are deleted after that. A kill at any moment therefore leaves the previous complete checkpoint
/// in place, and a resume continues from it.
/// </remarks>
internal static class Checkpoint
{
    private const string StateFile = "state.json";
    private static readonly string[] Parts = ["model", "optimizer", "ema", "best"];

    /// <summary>Test hook: runs after the new generation's weight files are written and before <c>state.json</c> is
    /// replaced (a crash there must leave the previous checkpoint intact).</summary>
    internal static Action? BeforeCommit { get; set; }

    /// <summary>Whether <paramref name="directory"/> holds a complete checkpoint.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, StateFile));

    /// <summary>Reads the state of the checkpoint in <paramref name="directory"/> without loading weights.</summary>
    /// <param name="directory">The checkpoint folder.</param>
    /// <returns>The state, or null when the folder holds no complete checkpoint.</returns>
    /// <exception cref="InvalidDataException">The folder holds a checkpoint that cannot be read: <c>state.json</c> is
    /// not valid, or a weight file it names is missing.</exception>
    public static CheckpointState? ReadState(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string path = Path.Combine(directory, StateFile);
        if (!File.Exists(path)) return null;
        CheckpointState? state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Checkpoint '{directory}': {StateFile} is not valid JSON ({e.Message}); delete the folder to start over.", e);
        }
        if (state is null) throw new InvalidDataException($"Checkpoint '{directory}': {StateFile} is empty; delete the folder to start over.");
        foreach (string part in new[] { "model", "optimizer" }.Concat(state.HasBest ? ["best"] : []))
        {
            string file = PartPath(directory, part, state.Generation);
            if (!File.Exists(file))
                throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}) lacks its file '{Path.GetFileName(file)}'; delete the folder to start over.");
        }
        return state;
    }

    /// <summary>Writes a checkpoint; the previous one stays valid until the new one is complete.</summary>
    public static void Save(string directory, CheckpointState state, VisionTransformer model, optim.Optimizer optimizer,
        VisionTransformer? ema, IReadOnlyDictionary<string, Tensor>? best)
    {
        Directory.CreateDirectory(directory);
        string generation = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"e{state.EpochsDone:D4}-{Guid.NewGuid():N}")[..14];
        var written = new List<string>();
        string Part(string name)
        {
            string path = PartPath(directory, name, generation);
            written.Add(path);
            return path;
        }
        model.save(Part("model"));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(Part("optimizer"));
        ema?.save(Part("ema"));
        state.HasBest = best is not null;
        if (best is not null)
        {
            using var copy = new VisionTransformer(model.Config);
            ViTTrainingEngine.Restore(copy, best);
            copy.save(Part("best"));
        }
        foreach (var file in written) IO.AtomicFile.FlushToDisk(file);
        BeforeCommit?.Invoke();
        string? previous = state.Generation;
        state.Generation = generation;
        try
        {
            IO.AtomicFile.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        }
        catch
        {
            state.Generation = previous;
            throw;
        }
        // The new checkpoint is in place: remove every other generation's files (and the old unversioned names), and
        // temporary files a killed run left.
        foreach (string file in Directory.EnumerateFiles(directory))
        {
            string name = Path.GetFileName(file);
            bool oldPart = name.EndsWith(".bin", StringComparison.Ordinal) && Parts.Any(p => name.StartsWith(p, StringComparison.Ordinal));
            // Left-over files do no harm (state.json names the current ones): their deletion is best effort.
            if ((oldPart || IO.AtomicFile.IsTemporaryName(name)) && !written.Contains(file)) IO.AtomicFile.TryDelete(file);
        }
    }

    /// <summary>Restores model, optimizer and EMA weights in place and returns the run state.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is missing, incomplete, or does not fit the model.</exception>
    public static CheckpointState Load(string directory, VisionTransformer model, optim.Optimizer optimizer, VisionTransformer? ema)
    {
        var state = ReadState(directory) ?? throw new InvalidDataException($"Checkpoint '{directory}' holds no {StateFile}.");
        try
        {
            model.load(PartPath(directory, "model", state.Generation));
            ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(PartPath(directory, "optimizer", state.Generation));
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}) does not fit this model or optimizer: {e.Message}", e);
        }
        if (ema is not null)
        {
            string emaPath = PartPath(directory, "ema", state.Generation);
            if (!File.Exists(emaPath)) throw new InvalidDataException($"Checkpoint '{directory}' has no EMA weights but EmaDecay is set.");
            ema.load(emaPath);
        }
        return state;
    }

    /// <summary>Reads the best weights saved with a checkpoint as detached tensors.</summary>
    public static Dictionary<string, Tensor> LoadBest(string directory, VisionTransformer like)
    {
        var state = ReadState(directory) ?? throw new InvalidDataException($"Checkpoint '{directory}' holds no {StateFile}.");
        using var copy = new VisionTransformer(like.Config);
        copy.load(PartPath(directory, "best", state.Generation));
        return ViTTrainingEngine.Snapshot(copy);
    }

    private static string PartPath(string directory, string part, string? generation) =>
        Path.Combine(directory, generation is null ? part + ".bin" : $"{part}-{generation}.bin");
}
