using System.Globalization;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Training;

namespace VitMlNet.Cli;

/// <summary>
/// The checks <c>vit train</c> makes before it reads any data (outputs writable and distinct from the inputs, the
/// checkpoint to resume, the memory an <c>--image-size</c> implies) and around training (one class only, divergence).
/// </summary>
internal static class TrainChecks
{
    /// <summary>The longest time budget accepted: a year (TimeSpan overflows near 29,000 years; nothing trains that long).</summary>
    public const double MaxBudgetSeconds = 365.0 * 24 * 3600;

    /// <summary>Everything that can be refused before data is read. Prints what <c>--resume</c> will do.</summary>
    public static void BeforeData(TrainSettings s, ViTConfig config, int batch, TextWriter log, TextWriter stderr)
    {
        OutputChecks.CheckFile(s.Out, s.OutOption);
        OutputChecks.CheckNotInput(s.Out, s.OutOption, (s.Data, "--data"), (s.Test, "--test"));
        OutputChecks.CheckOutsideInputs(s.Out, s.OutOption, (s.Data, "--data"), (s.Test, "--test"));
        if (s.Report is not null)
        {
            OutputChecks.CheckFolder(s.Report, "--report");
            OutputChecks.CheckNotInput(s.Report, "--report", (s.Data, "--data"), (s.Test, "--test"), (s.Out, s.OutOption));
            OutputChecks.CheckOutsideInputs(s.Report, "--report", (s.Data, "--data"), (s.Test, "--test"));
        }
        if (s.Resume && s.Checkpoint is null) throw new UsageException("--resume needs --checkpoint DIR (the folder of the run to continue).");
        if (s.Checkpoint is not null)
        {
            OutputChecks.CheckFolder(s.Checkpoint, "--checkpoint");
            OutputChecks.CheckNotInput(s.Checkpoint, "--checkpoint", (s.Data, "--data"), (s.Test, "--test"), (s.Out, s.OutOption));
            OutputChecks.CheckOutsideInputs(s.Checkpoint, "--checkpoint", (s.Data, "--data"), (s.Test, "--test"));
            DescribeCheckpoint(s, log, stderr);
        }
        CheckImageSize(s.ImageSize, config, batch, s.Channels);
    }

    private static void DescribeCheckpoint(TrainSettings s, TextWriter log, TextWriter stderr)
    {
        var state = ReadState(s.Checkpoint!, s.Resume);
        if (!s.Resume)
        {
            if (state is not null)
                stderr.WriteLine($"vit train: warning: --checkpoint '{s.Checkpoint}' holds a checkpoint after epoch {state.EpochsDone}; this run starts over and replaces it after its first epoch (add --resume to continue it).");
            return;
        }
        if (state is null)
            log.WriteLine($"resume: no checkpoint in '{s.Checkpoint}' yet; starting at epoch 1");
        else if (s.Epochs is int epochs && state.EpochsDone >= epochs)
            log.WriteLine($"resume: the checkpoint in '{s.Checkpoint}' already has {state.EpochsDone} epochs (--epochs {epochs}); nothing left to train, saving its weights");
        else
            log.WriteLine($"resume: continuing from the checkpoint in '{s.Checkpoint}' at epoch {state.EpochsDone + 1} ({state.EpochsDone} epochs done)");
        if (state is not null)
        {
            // A corrupt weight file (one flipped bit) is refused before the data is read; the options and the data are
            // compared with the checkpoint's record once the data is read.
            try
            {
                Checkpoint.Verify(s.Checkpoint!, state);
            }
            catch (InvalidDataException e)
            {
                throw new UsageException($"--resume: cannot resume: {e.Message}", e);
            }
        }
    }

    /// <summary>The command-line flags of the option names a checkpoint records, for messages.</summary>
    private static readonly (string Name, string Flag)[] Flags =
    [
        ("LearningRate", "--lr"), ("BatchSize", "--batch"), ("Seed", "--seed"), ("Data", "--data"), ("ValidationData", "--validation-fraction"),
        ("ValidationFraction", "--validation-fraction"), ("LayerDecay", "--layer-decay"), ("FreezeBackbone", "--freeze-backbone"),
        ("Teacher", "--teacher"), ("Distillation", "--distillation"),
    ];

    /// <summary>A checkpoint message with the flag after each option name that has one (<c>LearningRate (--lr)</c>).</summary>
    private static string WithFlags(string message)
    {
        foreach (var (name, flag) in Flags)
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"(?<=[:;] ){name}(?= )", $"{name} ({flag})");
        return message;
    }

    /// <summary>
    /// Refuses an <c>--image-size</c> whose one training step cannot fit in this machine's memory (a conservative
    /// estimate: pixels, one layer's attention matrices and the activations), with the numbers in one line.
    /// </summary>
    public static void CheckImageSize(int? imageSize, ViTConfig config, int batch, int? channels)
    {
        if (imageSize is not int n || n <= 0) return;
        int c = channels ?? config.Channels;
        long values = (long)c * n * n;
        if (values > int.MaxValue / 4)
            throw new UsageException($"--image-size {n} gives {values:N0} values per image; expected at most {int.MaxValue / 4:N0} (an --image-size up to {(int)Math.Sqrt(int.MaxValue / 4.0 / c)}).");
        double side = (double)n / Math.Max(1, config.PatchSize);
        double tokens = side * side + 1;
        double pixels = (double)batch * values * 4 * 3 + (double)n * n * 4;
        double attention = (double)batch * config.Heads * tokens * tokens * 4 * 2;
        double activations = (double)batch * tokens * config.Dim * 4 * Math.Max(1, config.Depth) * 8;
        double need = pixels + attention + activations;
        long have = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (have > 0 && need > have)
        {
            throw new UsageException(string.Format(CultureInfo.InvariantCulture,
                "--image-size {0} needs about {1} of memory for one training step (batch {2}, {3:N0} tokens of preset '{4}'), but this machine has {5}; choose a smaller --image-size or --batch.",
                n, Size(need), batch, tokens, config.Name, Size(have)));
        }
    }

    /// <summary>
    /// The classes that hold images in <paramref name="data"/> (named in messages as <paramref name="name"/>): training
    /// data (<paramref name="trainClasses"/> null) needs two, since a classifier needs them; test or validation data may
    /// hold only classes of the training data. Either is bad input (exit 2), not a training failure.
    /// </summary>
    public static void CheckClasses(IImageSource data, string name, string[]? trainClasses = null)
    {
        int[] counts = data.CountPerClass();
        var present = data.ClassNames.Where((_, k) => counts[k] > 0).ToList();
        if (trainClasses is null && present.Count < 2)
        {
            throw new UsageException(present.Count == 0
                ? $"{name} holds no images; expected images of at least 2 classes."
                : $"{name} holds one class ('{present[0]}', {data.Count} images); expected at least 2 classes to train a classifier.");
        }
        var unknown = trainClasses is null ? [] : present.Where(c => !trainClasses.Contains(c, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"{name} has classes the training data lacks: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", ..." : "")}.");
    }

    /// <summary>Runs the fit; a diverged training becomes one error line that says what the checkpoint keeps.</summary>
    public static T Fit<T>(Func<T> fit, string? checkpoint)
    {
        try
        {
            return fit();
        }
        catch (InvalidDataException e) when (checkpoint is not null && e.Message.StartsWith("Checkpoint '", StringComparison.Ordinal))
        {
            // A checkpoint of another architecture or run: bad input, and never a silent restart at epoch 1.
            throw new UsageException($"--resume: cannot resume: {WithFlags(e.Message)}", e);
        }
        catch (TrainingDivergedException e)
        {
            string kept = checkpoint is not null && ReadState(checkpoint, resume: false) is { } state
                ? $" The checkpoint in '{checkpoint}' keeps the last finite weights (after epoch {state.EpochsDone})." : "";
            throw new InvalidOperationException(e.Message + kept, e);
        }
    }

    /// <summary>
    /// The state of the checkpoint in <paramref name="folder"/>, or null when there is none; one that cannot be read is
    /// a usage error when <paramref name="resume"/> asks to continue it, else null (nothing is said about it).
    /// </summary>
    private static CheckpointState? ReadState(string folder, bool resume)
    {
        try
        {
            return Checkpoint.ReadState(folder);
        }
        catch (InvalidDataException e)
        {
            if (resume) throw new UsageException($"--resume: cannot resume: {e.Message}", e);
            return null;
        }
    }

    private static string Size(double bytes) =>
        bytes >= 1L << 40 ? string.Format(CultureInfo.InvariantCulture, "{0:0.#} TiB", bytes / (1L << 40))
        : string.Format(CultureInfo.InvariantCulture, "{0:0.#} GiB", bytes / (1L << 30));
}
