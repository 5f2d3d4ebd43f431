using System.Globalization;
using Spectre.Console;
using VitMlNet.Training;

namespace VitMlNet.Cli;

/// <summary>Shows training progress while <see cref="Run{T}"/> trains.</summary>
internal abstract class TrainingDisplay : IProgress<TrainingProgress>
{
    /// <summary>Steps between intra-epoch reports the trainer should send (0: epoch ends only).</summary>
    public abstract int ProgressEverySteps { get; }

    /// <summary>The live display for a terminal, else one plain line per epoch on <paramref name="log"/>, which
    /// <paramref name="detailed"/> (<c>-v detailed</c>) ends with the epoch's seconds and the time left.</summary>
    public static TrainingDisplay Create(bool interactive, bool validation, TextWriter log, bool detailed = false) =>
        interactive ? new LiveTrainingDisplay(validation) : new PlainTrainingDisplay(log, detailed);

    /// <summary>Runs <paramref name="train"/> with the display shown.</summary>
    public abstract T Run<T>(Func<T> train);

    /// <inheritdoc />
    public abstract void Report(TrainingProgress value);

    /// <summary>Estimated time left, from the share of steps done so far.</summary>
    protected static TimeSpan? Eta(TrainingProgress p)
    {
        double total = (double)p.Epochs * p.StepsPerEpoch;
        double done = (double)(p.Epoch - 1) * p.StepsPerEpoch + p.Step;
        return done <= 0 || total <= 0 ? null : TimeSpan.FromSeconds(p.Elapsed.TotalSeconds * (total - done) / done);
    }
}

/// <summary>One <see cref="TrainingProgress.ToString"/> line per epoch, for logs and redirected output.</summary>
internal sealed class PlainTrainingDisplay : TrainingDisplay
{
    private readonly TextWriter log;
    private readonly bool detailed;
    private TimeSpan lastEpochEnd;

    public PlainTrainingDisplay(TextWriter log, bool detailed = false) => (this.log, this.detailed) = (log, detailed);

    public override int ProgressEverySteps => 0;

    public override T Run<T>(Func<T> train) => train();

    public override void Report(TrainingProgress value)
    {
        if (value.IsEpochEnd)
        {
            string timing = "";
            if (detailed)
            {
                var epochTime = value.Elapsed - lastEpochEnd;
                lastEpochEnd = value.Elapsed;
                timing = string.Format(CultureInfo.InvariantCulture, " (epoch {0:F1} s, {1:F0} steps, ETA {2})", epochTime.TotalSeconds, value.StepsPerEpoch,
                    value.Epoch == value.Epochs ? "done" : Eta(value) is TimeSpan eta ? eta.ToString("hh\\:mm\\:ss", CultureInfo.InvariantCulture) : "?");
            }

            log.WriteLine(value + timing);
            log.Flush();
        }
    }
}

/// <summary>
/// A Spectre.Console live table: one row per epoch, the current one updated during the epoch, with an ETA, and at the
/// epoch's end its evaluation-mode accuracy (val_acc with validation data, else eval_acc on a sample of training images).
/// Borderless and tightly padded so that it fits an 80-column terminal even with the validation columns.
/// </summary>
internal sealed class LiveTrainingDisplay : TrainingDisplay
{
    private readonly Table table = new Table().NoBorder();
    private readonly bool validation;
    private LiveDisplayContext? context;
    private int currentEpoch;

    public LiveTrainingDisplay(bool validation)
    {
        this.validation = validation;
        string[] headers = validation
            ? ["epoch", "step", "loss", "acc", "val_loss", "val_acc", "lr", "img/s", "elapsed", "ETA"]
            : ["epoch", "step", "loss", "acc", "eval_acc", "lr", "img/s", "elapsed", "ETA"];
        foreach (var h in headers)
        {
            table.AddColumn(new TableColumn($"[bold]{h}[/]").RightAligned().Padding(0, 0, 1, 0));
        }
    }

    public override int ProgressEverySteps => 10;

    public override T Run<T>(Func<T> train) =>
        AnsiConsole.Live(table).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).Cropping(VerticalOverflowCropping.Top)
            .Start(ctx =>
            {
                context = ctx;
                return train();
            });

    public override void Report(TrainingProgress p)
    {
        var inv = CultureInfo.InvariantCulture;
        var cells = new List<string>
        {
            string.Format(inv, "{0}/{1}", p.Epoch, p.Epochs),
            string.Format(inv, "{0}/{1}", p.Step, p.StepsPerEpoch),
            p.Loss.ToString("F4", inv),
            p.TrainAccuracy.ToString("F4", inv),
        };
        if (validation)
        {
            cells.Add(p.ValidationLoss?.ToString("F4", inv) ?? "");
            cells.Add(p.ValidationAccuracy?.ToString("F4", inv) ?? "");
        }
        else
        {
            cells.Add(p.EvaluationAccuracy?.ToString("F4", inv) ?? "");
        }

        cells.AddRange(
        [
            p.LearningRate.ToString("0.0e0", inv),
            p.ImagesPerSecond.ToString("F0", inv),
            Clock(p.Elapsed),
            p.IsEpochEnd && p.Epoch == p.Epochs ? "done" : Eta(p) is TimeSpan eta ? Clock(eta) : "",
        ]);
        if (p.Epoch != currentEpoch || table.Rows.Count == 0)
        {
            table.AddRow(cells.Select(Markup.Escape).ToArray());
            currentEpoch = p.Epoch;
        }
        else
        {
            for (int c = 0; c < cells.Count; c++)
            {
                table.UpdateCell(table.Rows.Count - 1, c, Markup.Escape(cells[c]));
            }
        }

        context?.Refresh();
    }

    private static string Clock(TimeSpan t) => string.Format(CultureInfo.InvariantCulture, "{0}:{1:mm\\:ss}", (int)t.TotalHours, t);
}
