// The stranger's scoring app (build/stranger-test.sh copies it into a fresh `dotnet new console` project that
// references the VitMlNet.Scoring package only): loads the zip the training app saved and predicts from threads.
using Microsoft.ML.Data;
using VitMlNet;
using VitMlNet.Scoring;

string folder = args[0];
string zip = args[1];

var info = VisionTransformerModelZip.Inspect(zip);
using var pool = new PredictionEnginePool<ModelInput, ModelOutput>(zip, threadsPerEngine: 1);
var files = Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
int correct = 0;
Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, file =>
{
    using var image = MLImage.CreateFromFile(file);
    var prediction = pool.Predict(new ModelInput { Image = image });
    if (prediction.Score.Length != info.ClassNames.Count || Math.Abs(prediction.Score.Sum() - 1) > 1e-3)
        throw new InvalidOperationException($"bad scores for {file}: [{string.Join(", ", prediction.Score)}]");
    if (!info.ClassNames.Contains(prediction.PredictedLabel))
        throw new InvalidOperationException($"unknown label '{prediction.PredictedLabel}' for {file}");
    if (prediction.PredictedLabel == Path.GetFileName(Path.GetDirectoryName(file))) Interlocked.Increment(ref correct);
});
Console.WriteLine($"scored {files.Length} images through PredictionEnginePool: {correct} correct");

// A scoring app carries no TorchSharp: nothing of it may be in the output folder.
var torch = Directory.GetFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories)
    .Where(f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase)).ToArray();
if (torch.Length > 0) throw new InvalidOperationException("TorchSharp files in a scoring app: " + string.Join(", ", torch));
if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name!.StartsWith("TorchSharp", StringComparison.Ordinal)))
    throw new InvalidOperationException("TorchSharp was loaded by a scoring app");
if (correct < files.Length * 3 / 4) throw new InvalidOperationException($"only {correct} of {files.Length} correct");
Console.WriteLine("SCORE OK");
