namespace VitMlNet.Training;

/// <summary>A training progress report: inside an epoch, every <c>ProgressEverySteps</c> steps, or at an epoch's end.</summary>
/// <param name="IsEpochEnd">True for the report at the end of an epoch (with validation figures when validation is on);
/// false for a report inside an epoch.</param>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Planned epochs.</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="Loss">Mean training loss over the epoch so far.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch so far (against the unmixed labels).</param>
/// <param name="ValidationLoss">Validation loss at epoch end; null without validation or mid-epoch.</param>
/// <param name="ValidationAccuracy">Validation accuracy at epoch end; null without validation or mid-epoch.</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="ImagesPerSecond">Training throughput over the epoch so far.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record TrainingProgress(
    bool IsEpochEnd,
    int Epoch,
    int Epochs,
    int Step,
    int StepsPerEpoch,
    double Loss,
    double TrainAccuracy,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double LearningRate,
    double ImagesPerSecond,
    TimeSpan Elapsed)
{
    /// <summary>
    /// Evaluation-mode accuracy at epoch end (no augmentation, no dropout, running statistics): the validation accuracy
    /// when validating, else the accuracy on a fixed stratified sample of up to 512 training images. Null mid-epoch.
    /// </summary>
    public double? EvaluationAccuracy { get; init; }

    /// <summary>
    /// At epoch end, a warning when <see cref="EvaluationAccuracy"/> is near chance while <see cref="TrainAccuracy"/> is
    /// not, or far below it: what the model learned does not show in evaluation mode, so the saved model will not score
    /// as training suggests. Null otherwise.
    /// </summary>
    public string? Warning { get; init; }

    /// <summary>
    /// One line for logs, e.g. "epoch 3/10 loss 0.9012 acc 0.6812 eval_acc 0.7050 lr 3.0e-004 312 img/s 00:01:12"
    /// (with validation, "val_loss 0.8123 val_acc 0.7101" in place of eval_acc, which is then the same figure).
    /// </summary>
    public override string ToString()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string val = ValidationAccuracy is not null ? string.Format(inv, " val_loss {0:F4} val_acc {1:F4}", ValidationLoss, ValidationAccuracy)
            : EvaluationAccuracy is double eval ? string.Format(inv, " eval_acc {0:F4}", eval) : "";
        string where = IsEpochEnd
            ? string.Format(inv, "epoch {0}/{1}", Epoch, Epochs)
            : string.Format(inv, "epoch {0}/{1} step {2}/{3}", Epoch, Epochs, Step, StepsPerEpoch);
        return string.Format(inv, "{0} loss {1:F4} acc {2:F4}{3} lr {4:0.0e+000} {5:F0} img/s {6:hh\\:mm\\:ss}",
            where, Loss, TrainAccuracy, val, LearningRate, ImagesPerSecond, Elapsed);
    }
}

/// <summary>Figures of one finished epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Loss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy.</param>
/// <param name="ValidationLoss">Validation loss, when validating.</param>
/// <param name="ValidationAccuracy">Validation accuracy, when validating.</param>
/// <param name="LearningRate">Learning rate at the epoch's last step.</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch's training steps.</param>
public sealed record EpochSummary(int Epoch, double Loss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate, double ImagesPerSecond, double Seconds)
{
    /// <summary>
    /// Evaluation-mode accuracy at the epoch's end (no augmentation, no dropout, running statistics): the validation
    /// accuracy when validating, else the accuracy on a fixed stratified sample of up to 512 training images.
    /// </summary>
    public double? EvaluationAccuracy { get; init; }
}
