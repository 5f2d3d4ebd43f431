// QuickStart: the reference PyTorch workflow (load Fashion-MNIST, train a Vision Transformer, report per-epoch
// progress, evaluate on the test set, save, reload, predict) written as an ML.NET pipeline.
//
//   dotnet run --project samples/QuickStart -c Release                 # the fmnist-fast recipe (8 epochs, minutes)
//   dotnet run --project samples/QuickStart -c Release -- --quick      # 1 epoch on 2,000 images (smoke test, seconds)
//   dotnet run --project samples/QuickStart -c Release -- --epochs 3   # any epoch count
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using VitMlNet;
using VitMlNet.Data;
using VitMlNet.Training;

var inv = CultureInfo.InvariantCulture;
if (!QuickStartArgs.TryParse(args, out var settings, out string? argError))
{
    Console.Error.WriteLine($"QuickStart: {argError}");
    Console.Error.WriteLine(QuickStartArgs.Usage);
    return 2;
}

if (settings.Help)
{
    Console.WriteLine(QuickStartArgs.Usage);
    return 0;
}

// 1. Data: Fashion-MNIST from the Debian package dataset-fashion-mnist (IDX files).
if (!DatasetReaders.IsFashionMnistAvailable(settings.DataFolder))
{
    Console.Error.WriteLine($"QuickStart: Fashion-MNIST was not found in {settings.DataFolder ?? DatasetReaders.FashionMnistFolder}.");
    Console.Error.WriteLine("Install it with:  sudo apt-get install dataset-fashion-mnist");
    Console.Error.WriteLine("(or pass --data FOLDER, a folder holding the four Fashion-MNIST IDX files).");
    return 1;
}

ImageDataset train = DatasetReaders.ReadFashionMnist(settings.DataFolder);
ImageDataset test = DatasetReaders.ReadFashionMnist(settings.DataFolder, train: false);
if (settings.Quick)
{
    train = train.Take(2_000);
    test = test.Take(500);
}

Console.WriteLine($"train: {train.Count} images of {train.Channels}x{train.Height}x{train.Width}, test: {test.Count} images, {train.ClassNames.Length} classes");

var ml = new MLContext(seed: 42);
IDataView trainView = train.ToDataView(ml);   // columns: Image (MLImage), Label (string)
IDataView testView = test.ToDataView(ml);

// 2. Labels → keys. Fitted on the class names (so key k is DatasetReaders.FashionMnistClassNames[k]) and applied to the data, but
//    kept out of the saved model: a model that contains MapValueToKey needs a Label column at prediction time too.
//    (This is what `vit train` does; its zips and this one have the same contract, see samples/BusinessApp.)
ITransformer labelToKey = VisionTransformerPipeline.FitLabels(ml, trainView, DatasetReaders.FashionMnistClassNames);

// 3. Trainer options: the fmnist-fast recipe (architecture, AdamW, warmup + cosine schedule, label smoothing) resolved
//    for this data (its architecture fitted to the images and classes), plus our own progress callback, cancellation
//    and epoch count.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;   // a second Ctrl+C ends the process
    e.Cancel = true;
    cancel.Cancel();
    Console.WriteLine("Ctrl+C: stopping after the current step (the model so far is kept).");
};

VisionTransformerOptions options = VisionTransformerRecipes.Resolve("fmnist-fast", train.Count, train.ClassNames.Length, train.Channels, train.Height, train.Width,
    new VisionTransformerOptions
    {
        Progress = new ConsoleProgress(),
        ProgressEverySteps = 100,
        CancellationToken = cancel.Token,
        Threads = settings.Threads,
    });
options.Epochs = settings.Epochs ?? (settings.Quick ? 1 : options.Epochs);
if (options.WarmupEpochs >= options.Epochs)
{
    options.WarmupEpochs = options.Epochs / 4.0;   // a 1-epoch run would otherwise spend all of it warming up
}

// 4. The pipeline: image → 28×28 gray pixels (ImagePreprocessing, the one chain training and the saved zip share;
//    it accepts images of any size) → Vision Transformer → class name.
var input = options.Architecture!;   // 1×28×28: the input size the recipe was resolved for
var pipeline = VisionTransformerPipeline.Create(ml, input.Channels, input.ImageHeight, input.ImageWidth, options);

Console.WriteLine($"training: recipe fmnist-fast, {options.Epochs} epoch(s), batch {options.BatchSize}, lr {options.LearningRate.ToString("0.0##e+00", inv)}, {options.Optimizer}, {options.Schedule}");
var clock = Stopwatch.StartNew();
var model = pipeline.Fit(labelToKey.Transform(trainView));
Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds.ToString("F1", inv)} s");

// 5. Evaluate on the test set.
var scored = model.Transform(labelToKey.Transform(testView));
var metrics = ml.MulticlassClassification.Evaluate(scored, labelColumnName: "Label", scoreColumnName: "Score", predictedLabelColumnName: "PredictedLabel");
Console.WriteLine();
Console.WriteLine(string.Format(inv, "test accuracy  {0:F4}   macro accuracy {1:F4}   log-loss {2:F4}", metrics.MicroAccuracy, metrics.MacroAccuracy, metrics.LogLoss));
Console.WriteLine("classes: " + string.Join(", ", DatasetReaders.FashionMnistClassNames.Select((name, k) => $"{k} {name}")));
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

// 6. Save. The zip holds ML.NET's image transforms and an OnnxTransformer with the ViT graph embedded; no input
//    schema is stored (ML.NET's binary saver cannot store an image column).
string zip = Path.GetFullPath(settings.Out);
ml.Model.Save(model, null, zip);
Console.WriteLine($"saved {zip} ({new FileInfo(zip).Length / 1024.0:F0} KiB)");
(model as IDisposable)?.Dispose();

// 7. Reload in a fresh MLContext (as a separate app would) and predict the first five test images one at a time.
var scoringContext = new MLContext();
ITransformer loaded = scoringContext.Model.Load(zip, out _);
using (var engine = scoringContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(loaded))
{
    Console.WriteLine();
    Console.WriteLine("first 5 test images (predicted / actual):");
    for (int i = 0; i < Math.Min(5, test.Count); i++)
    {
        // ML.NET's image transforms dispose the input image after use: make a fresh MLImage for every prediction.
        using var image = test.GetImage(i);
        var prediction = engine.Predict(new ModelInput { Image = image });
        string actual = test.ClassNames[test.Labels[i]];
        string mark = prediction.PredictedLabel == actual ? "ok" : "--";
        Console.WriteLine(string.Format(inv, "  #{0}  {1,-12} / {2,-12} p={3:F3}  {4}", i, prediction.PredictedLabel, actual, prediction.Score.Max(), mark));
    }
}

(loaded as IDisposable)?.Dispose();
return cancel.IsCancellationRequested ? 1 : 0;

/// <summary>The saved model's input row: one image of any size (<c>[ImageType(1, 1)]</c> declares the type only).</summary>
internal sealed class ModelInput
{
    [ImageType(1, 1)]
    public MLImage Image { get; set; } = null!;
}

/// <summary>The saved model's output row.</summary>
internal sealed class ModelOutput
{
    public string PredictedLabel { get; set; } = string.Empty;

    public float[] Score { get; set; } = [];
}

/// <summary>Prints the trainer's progress reports: one line per epoch, indented lines within an epoch.</summary>
internal sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) =>
        Console.WriteLine(value.IsEpochEnd ? value.ToString() : "  " + value);
}

/// <summary>Command-line settings.</summary>
internal sealed record QuickStartArgs(bool Quick, int? Epochs, int? Threads, string Out, string? DataFolder, bool Help)
{
    public const string Usage =
        "usage: QuickStart [--quick] [--epochs N] [--threads N] [--out model.zip] [--data FOLDER]\n" +
        "  --quick       1 epoch on the first 2,000 training and 500 test images (a smoke test)\n" +
        "  --epochs N    training epochs (default: the fmnist-fast recipe's 8; 1 with --quick)\n" +
        "  --threads N   libtorch threads (default: one per core)\n" +
        "  --out FILE    model zip to write (default: fashion-mnist-vit.zip)\n" +
        "  --data DIR    folder with the Fashion-MNIST IDX files (default: " + DatasetReaders.FashionMnistFolder + ")";

    public static bool TryParse(string[] args, out QuickStartArgs settings, out string? error)
    {
        settings = new QuickStartArgs(false, null, null, "fashion-mnist-vit.zip", null, false);
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (arg)
            {
                case "--quick":
                    settings = settings with { Quick = true };
                    break;
                case "--epochs" or "--threads":
                    string? text = Value();
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n <= 0)
                    {
                        error = $"{arg} needs a positive whole number (got '{text}').";
                        return false;
                    }
                    settings = arg == "--epochs" ? settings with { Epochs = n } : settings with { Threads = n };
                    break;
                case "--out" or "--data":
                    string? path = Value();
                    if (string.IsNullOrWhiteSpace(path))
                    {
                        error = $"{arg} needs a path.";
                        return false;
                    }
                    settings = arg == "--out" ? settings with { Out = path } : settings with { DataFolder = path };
                    break;
                case "-h" or "--help":
                    settings = settings with { Help = true };
                    break;
                default:
                    error = $"unknown argument '{arg}'.";
                    return false;
            }
        }
        return true;
    }
}
