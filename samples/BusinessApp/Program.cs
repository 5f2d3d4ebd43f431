// BusinessApp: classifies every image in a folder with a VitMlNet model zip. It references ML.NET, ImageAnalytics,
// OnnxTransformer and ONNX Runtime only: the zip's Vision Transformer is an ONNX graph that ML.NET's OnnxTransformer
// runs, so neither TorchSharp nor VitMlNet is needed to score.
//
//   dotnet run --project samples/BusinessApp -- model.zip FOLDER
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

var inv = CultureInfo.InvariantCulture;
if (args.Length != 2 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: BusinessApp model.zip FOLDER   (predicts every file in FOLDER and its subfolders)");
    return 2;
}

string modelPath = args[0];
string folder = args[1];
if (!File.Exists(modelPath))
{
    Console.Error.WriteLine($"BusinessApp: model file '{modelPath}' not found.");
    return 2;
}

if (!Directory.Exists(folder))
{
    Console.Error.WriteLine($"BusinessApp: folder '{folder}' not found.");
    return 2;
}

// Load the zip and create one prediction engine (not thread-safe: one per thread, or a pool, in a server).
var ml = new MLContext();
ITransformer model;
PredictionEngine<ModelInput, ModelOutput> engine;
try
{
    model = ml.Model.Load(modelPath, out _);
    engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
}
catch (Exception e) when (e is InvalidOperationException or InvalidDataException or FormatException or ArgumentException or IOException)
{
    Console.Error.WriteLine($"BusinessApp: '{modelPath}' is not a model zip with an Image input and PredictedLabel/Score outputs: {e.Message}");
    return 2;
}

// The Score column's slot names are the class names, in Score order.
string[] classes = ClassNames(engine.OutputSchema["Score"]);
Console.WriteLine($"model: {Path.GetFileName(modelPath)}, {classes.Length} classes: {string.Join(", ", classes)}");

var rows = new List<Row>();
foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
{
    string name = Path.GetRelativePath(folder, file);
    MLImage image;
    try
    {
        image = MLImage.CreateFromFile(file);
    }
    catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
    {
        // MLImage.CreateFromFile reports a file it cannot decode as ArgumentException ("Invalid path").
        rows.Add(Row.Failed(name, e is ArgumentException ? "not a readable image" : e.Message));
        continue;
    }

    // ML.NET's image transforms dispose the input image after use: a fresh MLImage per prediction, never reused.
    using (image)
    {
        ModelOutput output;
        try
        {
            output = engine.Predict(new ModelInput { Image = image });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            rows.Add(Row.Failed(name, e.Message));
            continue;
        }

        var ranked = output.Score
            .Select((p, k) => (Label: k < classes.Length ? classes[k] : k.ToString(inv), Probability: p))
            .OrderByDescending(x => x.Probability)
            .ToArray();
        var best = ranked[0];
        var second = ranked.Length > 1 ? ranked[1] : (Label: "", Probability: 0f);
        rows.Add(new Row(name, output.PredictedLabel, best.Probability, second.Label, second.Probability, null));
    }
}

// The table.
int fileWidth = Math.Max(4, rows.Select(r => r.File.Length).DefaultIfEmpty(0).Max());
int labelWidth = Math.Max(5, classes.Select(c => c.Length).DefaultIfEmpty(0).Max());
Console.WriteLine($"{"file".PadRight(fileWidth)}  {"label".PadRight(labelWidth)}  probability  runner-up");
foreach (var r in rows)
{
    Console.WriteLine(r.Error is not null
        ? $"{r.File.PadRight(fileWidth)}  {"ERROR".PadRight(labelWidth)}  {"",11}  {r.Error}"
        : string.Format(inv, "{0}  {1}  {2,11:F3}  {3} ({4:F3})", r.File.PadRight(fileWidth), r.Label.PadRight(labelWidth), r.Probability, r.RunnerUp, r.RunnerUpProbability));
}

int errors = rows.Count(r => r.Error is not null);
Console.WriteLine($"{rows.Count - errors} image(s) predicted, {errors} error(s).");
engine.Dispose();
(model as IDisposable)?.Dispose();
return errors == 0 ? 0 : 1;

static string[] ClassNames(DataViewSchema.Column score)
{
    if (!score.HasSlotNames()) return Enumerable.Range(0, (score.Type as VectorDataViewType)?.Size ?? 0).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
    VBuffer<ReadOnlyMemory<char>> names = default;
    score.GetSlotNames(ref names);
    return names.DenseValues().Select(n => n.ToString()).ToArray();
}

/// <summary>
/// The model's input row: one image of any size and format that <see cref="MLImage.CreateFromFile(string)"/> reads.
/// ML.NET needs a column-type attribute on an <see cref="MLImage"/> member; <c>[ImageType(1, 1)]</c> only declares the
/// type (nothing checks the size), and the zip's first transform resizes whatever image arrives.
/// </summary>
internal sealed class ModelInput
{
    [ImageType(1, 1)]
    public MLImage Image { get; set; } = null!;
}

/// <summary>The model's output row: the predicted class name and one probability per class.</summary>
internal sealed class ModelOutput
{
    public string PredictedLabel { get; set; } = string.Empty;

    public float[] Score { get; set; } = [];
}

/// <summary>One line of the result table.</summary>
internal sealed record Row(string File, string Label, float Probability, string RunnerUp, float RunnerUpProbability, string? Error)
{
    public static Row Failed(string file, string error) => new(file, "", 0, "", 0, error);
}
