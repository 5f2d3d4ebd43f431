using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet;
using VitMlNet.Bench.SmallData;
using VitMlNet.Data;

// bench/small-data: on small real-photo datasets (DATA_ROOT/NAME/{train,val,test}/CLASS/*.jpg, made by
// make-datasets.sh), fits ML.NET's pretrained-ResNet18 pipeline and VitMlNet's small-data recipes on train/, saves each
// as a zip, and scores every zip on val/ and test/ as a plain consumer does (Model.Load + PredictionEngine, an Image
// column in, PredictedLabel out). The recipe to recommend is chosen on val/ (never on test/).
//   dotnet run -c Release --project bench/small-data/SmallDataBench -- DATA_ROOT [OUT_DIR] [--datasets a,b] [--variants x,y]
if (args.Contains("--protocol") || args.Contains("--summary")) return Protocol.Run(args);
if (args.Contains("--scoring")) return Scoring.Run(args);
var inv = CultureInfo.InvariantCulture;
var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
string? Flag(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
string dataRoot = positional.Count > 0 ? positional[0] : "out/small-data";
string outDir = positional.Count > 1 ? positional[1] : "out/small-data-bench";
var datasets = (Flag("--datasets") ?? "flowers,ants-bees").Split(',');
int views = int.Parse(Flag("--views") ?? "8", inv);
// Variants: Variants.cs (vit-auto is the data-aware default for photos, i.e. `vit train --data photos/`).
var variants = (Flag("--variants") ?? "vit-auto,vit-auto-32").Split(',');
Directory.CreateDirectory(outDir);

var table = new List<string>();
foreach (var name in datasets)
{
    string root = Path.Combine(dataRoot, name);
    var train = Photo.Folder(Path.Combine(root, "train"));
    var val = Photo.Folder(Path.Combine(root, "val"));
    var test = Photo.Folder(Path.Combine(root, "test"));
    // The larger split for choosing a recipe (make-datasets.sh); empty when an older data folder lacks it.
    var selection = Directory.Exists(Path.Combine(root, "selection")) ? Photo.Folder(Path.Combine(root, "selection")) : [];
    var classes = train.Select(p => p.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
    Console.WriteLine($"== {name}: {classes.Length} classes ({string.Join(", ", classes)}); train {train.Count}, val {val.Count}, test {test.Count}");

    var ml = new MLContext(seed: 1);
    var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new LabelRow { Label = c }));
    var originals = train.Select(p => new TrainRow { Image = Views.Load(p.Path), Label = p.Label, Teacher = p.Label }).ToList();
    IDataView Keyed(IEnumerable<TrainRow> rows, bool teacher)
    {
        var view = ml.Data.LoadFromEnumerable(rows);
        IEstimator<ITransformer> map = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData);
        if (teacher) map = map.Append(ml.Transforms.Conversion.MapValueToKey("Teacher", keyData: keyData));
        return map.Fit(view).Transform(view);
    }

    // 1. The peer: ResNet18 features + L-BFGS maximum entropy on the training photos. It is also the teacher.
    var clock = Stopwatch.StartNew();
    var resnet = ResNetPipeline.Estimator(ml).Fit(Keyed(originals, false));
    double resnetFit = clock.Elapsed.TotalSeconds;
    string resnetZip = Path.Combine(outDir, $"{name}-resnet18-lbfgs.zip");
    ml.Model.Save(resnet, null, resnetZip);
    Report("ml.net resnet18 + lbfgs-maxent (224x224)", resnetZip, resnetFit, "");

    // Teacher labels: per photo (its centre crop, what the peer saw) and per augmented view.
    var teacherOnPhotos = ResNetPipeline.Predict(ml, resnet, ml.Data.LoadFromEnumerable(originals));
    Console.WriteLine(string.Format(inv, "   teacher agrees with the true label on {0:P0} of the training photos", Agreement(teacherOnPhotos, originals)));
    List<TrainRow>? viewRows = null;
    double viewSeconds = 0;
    if (variants.Any(v => v.Contains("views", StringComparison.Ordinal)))
    {
        clock.Restart();
        var random = new Random(7);
        viewRows = [];
        foreach (var p in train)
        {
            viewRows.Add(new TrainRow { Image = Views.Load(p.Path), Label = p.Label });
            viewRows.AddRange(Views.Make(p.Path, views - 1, random).Select(img => new TrainRow { Image = img, Label = p.Label }));
        }
        var teacherOnViews = ResNetPipeline.Predict(ml, resnet, ml.Data.LoadFromEnumerable(viewRows));
        for (int i = 0; i < viewRows.Count; i++) viewRows[i].Teacher = teacherOnViews[i];
        viewSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Format(inv, "   {0} views ({1} per photo) made and labelled by the teacher in {2:F1} s; teacher agrees with the true label on {3:P0} of them",
            viewRows.Count, views, viewSeconds, Agreement(teacherOnViews, viewRows)));
    }
    for (int i = 0; i < originals.Count; i++) originals[i].Teacher = teacherOnPhotos[i];

    // 2. VitMlNet recipes.
    foreach (var variant in variants)
    {
        // Knobs for exploring the hybrid (Variants.cs): vit-auto+flip+e30+v16+pad28+mean+depth4+lr1e-3.
        string baseVariant = variant.Split('+')[0];
        bool teacher = baseVariant.EndsWith("teacher", StringComparison.Ordinal);
        var rows = baseVariant.Contains("views", StringComparison.Ordinal) ? viewRows! : originals;
        // The recipe is the one for the photos (auto for train.Count images); with views the epochs shrink so that the
        // steps, and so the compute, stay the same: only what the images are (and their teacher labels) differs.
        var options = Variants.Options(variant, train.Count, classes.Length, out int size);
        bool epochKnob = variant.Split('+').Skip(1).Any(k => k.Length > 1 && k[0] == 'e' && char.IsDigit(k[1]));
        if (rows != originals && !epochKnob) options.Epochs = (int)Math.Ceiling(options.Epochs * (double)train.Count / rows.Count);
        if (teacher)
        {
            options.Architecture = options.ResolveArchitecture() with { DistillationToken = true };
            options.TeacherColumnName = "Teacher";
        }
        var pipeline = VisionTransformerPipeline.Create(ml, channels: 3, height: size, width: size, options);
        var data = Keyed(rows, teacher);
        clock.Restart();
        var model = pipeline.Fit(data);
        double fit = clock.Elapsed.TotalSeconds + (rows == viewRows ? viewSeconds : 0) + (teacher ? resnetFit : 0);
        string zip = Path.Combine(outDir, $"{name}-{variant}.zip");
        ml.Model.Save(model, null, zip);
        Report($"vitmlnet {variant}", zip, fit, Variants.Describe(options, rows.Count, size));
    }

    void Report(string pipelineName, string zip, double fitSeconds, string note)
    {
        double valAcc = Consumer.Accuracy(zip, val), testAcc = Consumer.Accuracy(zip, test);
        string selectionAcc = selection.Count > 0 ? (Consumer.Accuracy(zip, selection) * 100).ToString("F1", inv) : "-";
        string line = string.Format(inv, "| {0} | {1} | {2:F1} | {6} | {3:F1} | {4:F1} | {5} |", name, pipelineName, valAcc * 100, testAcc * 100, fitSeconds, note, selectionAcc);
        Console.WriteLine(line);
        table.Add(line);
    }
}

Console.WriteLine();
Console.WriteLine("| dataset | pipeline | val accuracy % | selection accuracy % | test accuracy % | fit s | notes |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
foreach (var line in table) Console.WriteLine(line);
return 0;

static double Agreement(string[] predicted, List<TrainRow> rows) => predicted.Zip(rows).Count(p => p.First == p.Second.Label) / (double)rows.Count;

/// <summary>A plain consumer of a saved zip: ML.NET only (Model.Load, PredictionEngine), one image at a time.</summary>
internal static class Consumer
{
    public static double Accuracy(string zip, List<Photo> photos) => Accuracies(zip, photos)[0];

    /// <summary>The accuracy on each photo set, through one loaded model.</summary>
    public static double[] Accuracies(string zip, params List<Photo>[] sets)
    {
        var ml = new MLContext();
        var model = ml.Model.Load(zip, out _);
        using var engine = ml.Model.CreatePredictionEngine<ConsumerInput, ConsumerOutput>(model);
        var accuracies = new double[sets.Length];
        for (int s = 0; s < sets.Length; s++)
        {
            if (sets[s].Count == 0) { accuracies[s] = double.NaN; continue; }
            int correct = 0;
            foreach (var p in sets[s])
            {
                using var image = MLImage.CreateFromFile(p.Path);
                if (engine.Predict(new ConsumerInput { Image = image }).PredictedLabel == p.Label) correct++;
            }
            accuracies[s] = correct / (double)sets[s].Count;
        }
        return accuracies;
    }
}
