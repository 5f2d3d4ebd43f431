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

    /// <summary>
    /// What the run trains with (<see cref="Checkpoint.DescribeRun"/>): every option that changes the weights, the
    /// architecture, and a fingerprint of the training and validation images; a resume with any difference is refused.
    /// </summary>
    public SortedDictionary<string, string>? Run { get; set; }

    /// <summary>SHA-256 (hex) of each weight file of this checkpoint, by file name; checked before the files are loaded.</summary>
    public SortedDictionary<string, string>? Checksums { get; set; }

    /// <summary>Set when a checkpoint could not be written: checkpointing has stopped for this run.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool WritesFailed { get; set; }
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
    internal static Action? BeforeCommit
    {
        get => beforeCommit.Value;
        set => beforeCommit.Value = value;
    }

    private static readonly AsyncLocal<Action?> beforeCommit = new();

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

    /// <summary>Writes a checkpoint; the previous one stays valid until the new one is complete. A failed write deletes
    /// the new files it made and leaves <paramref name="state"/> as it was.</summary>
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
        string? previous = state.Generation;
        var previousChecksums = state.Checksums;
        bool previousHasBest = state.HasBest;
        try
        {
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
            var checksums = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var file in written)
            {
                IO.AtomicFile.FlushToDisk(file);
                checksums[Path.GetFileName(file)] = Sha256(file);
            }
            BeforeCommit?.Invoke();
            state.Generation = generation;
            state.Checksums = checksums;
            IO.AtomicFile.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        }
        catch
        {
            state.Generation = previous;
            state.Checksums = previousChecksums;
            state.HasBest = previousHasBest;
            foreach (var file in written) IO.AtomicFile.TryDelete(file);
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

    /// <summary>
    /// Writes a checkpoint unless an earlier write of this run failed; a write that fails (a full disk, a folder made
    /// read-only) is a warning through <paramref name="log"/>, after which checkpointing stops and training goes on:
    /// the run's model matters more than its checkpoints, and the last complete checkpoint stays as it was.
    /// </summary>
    /// <returns>Whether the checkpoint was written.</returns>
    public static bool TrySave(string directory, CheckpointState state, VisionTransformer model, optim.Optimizer optimizer,
        VisionTransformer? ema, IReadOnlyDictionary<string, Tensor>? best, Action<string>? log)
    {
        if (state.WritesFailed) return false;
        try
        {
            Save(directory, state, model, optimizer, ema, best);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            state.WritesFailed = true;
            string kept = state.Generation is null ? "" : $"; the checkpoint of epoch {ReadEpochs(directory)} stays";
            log?.Invoke($"warning: cannot write the checkpoint in '{directory}' after epoch {state.EpochsDone} ({OneLine(e.Message)}); " +
                $"checkpointing stops for this run and training goes on{kept}.");
            return false;
        }
    }

    /// <summary>The epochs of the checkpoint on disk, for messages ("?" when it cannot be read).</summary>
    private static string ReadEpochs(string directory)
    {
        try
        {
            return ReadState(directory)?.EpochsDone.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
        }
        catch (InvalidDataException)
        {
            return "?";
        }
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>
    /// Restores model, optimizer and EMA weights in place and returns the run state. With <paramref name="expected"/>
    /// (a new state from <see cref="NewState"/>), a checkpoint of another run (other options or data) is refused; the
    /// weight files are checked against their recorded SHA-256 before they are loaded.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint is missing, incomplete, corrupt, of another run, or does
    /// not fit the model.</exception>
    public static CheckpointState Load(string directory, VisionTransformer model, optim.Optimizer optimizer, VisionTransformer? ema,
        CheckpointState? expected = null)
    {
        var state = ReadState(directory) ?? throw new InvalidDataException($"Checkpoint '{directory}' holds no {StateFile}.");
        if (expected?.Run is not null) CheckSameRun(directory, state, expected.Run);
        Verify(directory, state, ema is null ? ["model", "optimizer"] : ["model", "optimizer", "ema"]);
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

    /// <summary>Reads the best weights saved with a checkpoint as detached tensors (checked against their SHA-256).</summary>
    public static Dictionary<string, Tensor> LoadBest(string directory, VisionTransformer like)
    {
        var state = ReadState(directory) ?? throw new InvalidDataException($"Checkpoint '{directory}' holds no {StateFile}.");
        Verify(directory, state, ["best"]);
        using var copy = new VisionTransformer(like.Config);
        copy.load(PartPath(directory, "best", state.Generation));
        return ViTTrainingEngine.Snapshot(copy);
    }

    /// <summary>
    /// Checks the weight files of the checkpoint in <paramref name="directory"/> against the SHA-256 that
    /// <c>state.json</c> records for them (all of them, or the named <paramref name="parts"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">A file differs from its checksum (one flipped bit is enough), or the
    /// checkpoint records no checksums.</exception>
    public static void Verify(string directory, CheckpointState state, IReadOnlyList<string>? parts = null)
    {
        if (state.Checksums is null)
        {
            throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}) records no checksums of its weights (an older format); " +
                "it cannot be checked, so it is not resumed: delete the folder to start over.");
        }
        foreach (string part in parts ?? Parts)
        {
            string file = PartPath(directory, part, state.Generation);
            if (!File.Exists(file)) continue; // an absent optional part (ema, best) is reported where it is needed
            string name = Path.GetFileName(file);
            if (!state.Checksums.TryGetValue(name, out string? recorded))
                throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}): {StateFile} records no checksum for '{name}'; delete the folder to start over.");
            string actual = Sha256(file);
            if (!string.Equals(actual, recorded, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}) is corrupt: '{name}' has SHA-256 {actual[..16]}..., " +
                    $"but {StateFile} records {recorded[..Math.Min(16, recorded.Length)]}...; delete the folder to start over.");
            }
        }
    }

    /// <summary>
    /// A new run's state, recording what it trains with (<see cref="DescribeRun"/>) when it writes checkpoints.
    /// </summary>
    public static CheckpointState NewState(VisionTransformerOptions options, ViTConfig config, ImageCache train, ImageCache? validation) =>
        new() { Run = options.CheckpointDirectory is null ? null : DescribeRun(options, config, train, validation) };

    /// <summary>Options that do not change the weights a run ends with (where things are written, how progress is
    /// shown, the device and threads), columns (the data's fingerprint covers what they hold), scoring options
    /// (applied to the saved zip only), the initial model (a resumed run takes its weights from the checkpoint), and
    /// the run's length (<c>Epochs</c>, <c>TimeBudget</c>: a run may be continued for longer, as the sweep's successive
    /// halving promotes a trial).</summary>
    private static readonly HashSet<string> NotRecorded = new(StringComparer.Ordinal)
    {
        nameof(VisionTransformerOptions.LabelColumnName), nameof(VisionTransformerOptions.FeatureColumnName),
        nameof(VisionTransformerOptions.ScoreColumnName), nameof(VisionTransformerOptions.PredictedLabelColumnName),
        nameof(VisionTransformerOptions.EmbeddingColumnName), nameof(VisionTransformerOptions.TeacherColumnName),
        nameof(VisionTransformerOptions.Architecture), nameof(VisionTransformerOptions.Preset), nameof(VisionTransformerOptions.ImageHeight),
        nameof(VisionTransformerOptions.ImageWidth), nameof(VisionTransformerOptions.Channels),
        nameof(VisionTransformerOptions.Epochs), nameof(VisionTransformerOptions.TimeBudget),
        nameof(VisionTransformerOptions.Device), nameof(VisionTransformerOptions.Threads), nameof(VisionTransformerOptions.ProgressEverySteps),
        nameof(VisionTransformerOptions.CheckpointDirectory), nameof(VisionTransformerOptions.ResumeFromCheckpoint),
        nameof(VisionTransformerOptions.InitialModel), nameof(VisionTransformerOptions.ResNet18Path),
        nameof(VisionTransformerOptions.ScoringPrecision), nameof(VisionTransformerOptions.ScoringFlipAverage),
        nameof(VisionTransformerOptions.ScoringShiftAverage),
    };

    /// <summary>
    /// What a run trains with, as text by name: every option that changes the weights (learning rate, batch, seed,
    /// schedule, augmentation, ...; see <see cref="NotRecorded"/> for those left out), every field of the architecture,
    /// and the training and validation images: count, shape and SHA-256 of the cached pixels and labels. The cache
    /// holds exactly what training reads (after decoding, resizing, <c>--limit</c> and the validation split), so other
    /// files, another size or a changed image all differ, while the same images moved to another folder do not.
    /// Hashing costs one pass over the cache, and only a run that checkpoints pays it.
    /// </summary>
    internal static SortedDictionary<string, string> DescribeRun(VisionTransformerOptions options, ViTConfig config, ImageCache train, ImageCache? validation)
    {
        var run = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in typeof(VisionTransformerOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (NotRecorded.Contains(p.Name) || !p.CanRead || p.GetIndexParameters().Length > 0) continue;
            Add(run, p.Name, p.PropertyType, p.GetValue(options));
        }
        foreach (var p in typeof(ViTConfig).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (p.CanRead && p.GetIndexParameters().Length == 0) Add(run, "Architecture." + p.Name, p.PropertyType, p.GetValue(config));
        }
        run["Data"] = Fingerprint(train);
        run["ValidationData"] = validation is null ? "none" : Fingerprint(validation);
        return run;
    }

    private static void Add(SortedDictionary<string, string> run, string name, Type type, object? value)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        Type t = Nullable.GetUnderlyingType(type) ?? type;
        if (value is null)
        {
            if (t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan)) run[name] = "none";
        }
        else if (value is double d) run[name] = d.ToString("R", inv);
        else if (value is float f) run[name] = f.ToString("R", inv);
        else if (value is string or bool || t.IsPrimitive || t.IsEnum || value is TimeSpan) run[name] = Convert.ToString(value, inv)!;
        else if (value is IEnumerable<float> floats) run[name] = string.Join(" ", floats.Select(x => x.ToString("R", inv)));
        else if (value is AugmentationOptions augmentation)
        {
            foreach (var p in typeof(AugmentationOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
                Add(run, name + "." + p.Name, p.PropertyType, p.GetValue(augmentation));
        }
        // Other types (data views, callbacks, tokens) are not options of the weights.
    }

    /// <summary>Count, shape, element type and SHA-256 of a cache's images and labels (and teacher labels).</summary>
    private static string Fingerprint(ImageCache cache)
    {
        using var scope = torch.NewDisposeScope();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var t in new[] { cache.Images, cache.Labels, cache.TeacherLabels })
        {
            if (t is null || t.shape[0] == 0) continue;
            // In slices of at most 256 MiB: a span over a tensor's bytes is limited to 2 GiB.
            long perRow = Math.Max(1, t.numel() / t.shape[0] * t.element_size());
            long rows = Math.Max(1, (256L << 20) / perRow);
            for (long start = 0; start < t.shape[0]; start += rows)
            {
                using var slice = t.narrow(0, start, Math.Min(rows, t.shape[0] - start)).cpu().contiguous();
                hash.AppendData(slice.bytes);
            }
        }
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{cache.Count} images {cache.Channels}x{cache.Height}x{cache.Width} {cache.Images.dtype}, SHA-256 {Convert.ToHexString(hash.GetHashAndReset())}");
    }

    /// <summary>Refuses a checkpoint written by another run, listing every difference in one line.</summary>
    private static void CheckSameRun(string directory, CheckpointState state, SortedDictionary<string, string> now)
    {
        if (state.Run is null)
        {
            throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}) records neither its options nor its data (an older format), " +
                "so resuming it may not continue the same run: delete the folder to start over.");
        }
        var differences = now.Keys.Union(state.Run.Keys).Order(StringComparer.Ordinal)
            .Select(k => (Key: k, Then: state.Run.GetValueOrDefault(k, "absent"), Now: now.GetValueOrDefault(k, "absent")))
            .Where(d => !string.Equals(d.Then, d.Now, StringComparison.Ordinal))
            .Select(d => $"{d.Key} {Short(d.Then)} (this run: {Short(d.Now)})")
            .ToList();
        if (differences.Count > 0)
        {
            throw new InvalidDataException($"Checkpoint '{directory}' (epoch {state.EpochsDone}) was written by another run: {string.Join("; ", differences)}. " +
                "Resume with the same options and data, or start over without resuming (or with another checkpoint folder).");
        }
    }

    /// <summary>A recorded value for a message: a data fingerprint's hash cut to 12 hex digits.</summary>
    private static string Short(string value)
    {
        int at = value.IndexOf("SHA-256 ", StringComparison.Ordinal);
        return at >= 0 && value.Length > at + 8 + 12 ? value[..(at + 8 + 12)] + "..." : value;
    }

    private static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }

    private static string PartPath(string directory, string part, string? generation) =>
        Path.Combine(directory, generation is null ? part + ".bin" : $"{part}-{generation}.bin");
}
