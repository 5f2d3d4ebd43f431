using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet;
using VitMlNet.Bench.SmallData;
using VitMlNet.Data;
using VitMlNet.Modeling;

// bench/small-data: on small real-photo datasets (DATA_ROOT/NAME/{train,val,test}/CLASS/*.jpg, made by
// make-datasets.sh), fits ML.NET's pretrained-ResNet18 pipeline and VitMlNet's small-data recipes on train/, saves each
// as a zip, and scores every zip on val/ and test/ as a plain consumer does (Model.Load + PredictionEngine, an Image
// column in, PredictedLabel out). The recipe to recommend is chosen on val/ (never on test/).
//   dotnet run -c Release --project bench/small-data/SmallDataBench -- DATA_ROOT [OUT_DIR] [--datasets a,b] [--variants x,y]
var inv = CultureInfo.InvariantCulture;
var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
string? Flag(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
string dataRoot = positional.Count > 0 ? positional[0] : "out/small-data";
string outDir = positional.Count > 1 ? positional[1] : "out/small-data-bench";
var datasets = (Flag("--datasets") ?? "flowers,ants-bees").Split(',');
int views = int.Parse(Flag("--views") ?? "8", inv);
// vit-auto: what the data-aware default picks for these photos at 224x224 (the hybrid ViT on ML.NET's pretrained
// ResNet18). The 32x32 variants are the from-scratch recipes measured before it (docs/benchmarks.md).
var allVariants = new[] { "vit-auto", "vit-auto-32", "vit-32-strong", "vit-32-views", "vit-32-views-teacher" };
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
        // Knobs for exploring the hybrid on val/ (never on test/): vit-auto+flip+e30+v16+pad28+mean+depth4+lr1e-3.
        var knobs = variant.Split('+').Skip(1).ToArray();
        string baseVariant = variant.Split('+')[0];
        if (!allVariants.Contains(baseVariant)) throw new ArgumentException($"unknown variant '{variant}' (known: {string.Join(", ", allVariants)})");
        int size = baseVariant.Contains("32", StringComparison.Ordinal) ? 32 : VisionTransformerRecipes.PhotoInputSize;
        // sizeN: the input side (a multiple of 32 for the hybrid), before the recipe is chosen for it.
        foreach (var knob in knobs.Where(k => k.StartsWith("size", StringComparison.Ordinal))) size = int.Parse(knob[4..], inv);
        bool teacher = baseVariant.EndsWith("teacher", StringComparison.Ordinal);
        var rows = baseVariant.Contains("views", StringComparison.Ordinal) ? viewRows! : originals;
        // The recipe is the one for the photos (auto for train.Count images); with views the epochs shrink so that the
        // steps, and so the compute, stay the same: only what the images are (and their teacher labels) differs.
        var options = VisionTransformerRecipes.Resolve(VisionTransformerRecipes.Auto, train.Count, classes.Length, 3, size, size);
        if (rows != originals) options.Epochs = (int)Math.Ceiling(options.Epochs * (double)train.Count / rows.Count);
        options.Seed = 1;
        foreach (var knob in knobs)
        {
            if (knob.StartsWith("size", StringComparison.Ordinal)) continue;
            else if (knob == "flip") options.ScoringFlipAverage = true;
            else if (knob.StartsWith("skip", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { StemSkipLastBlocks = int.Parse(knob[4..], inv) };
            else if (knob == "mean") options.Architecture = options.ResolveArchitecture() with { Pooling = ViTPooling.Mean };
            else if (knob.StartsWith("seed", StringComparison.Ordinal)) options.Seed = int.Parse(knob[4..], inv); // a second draw of the same recipe
            else if (knob == "teacher" || knob.StartsWith("soft", StringComparison.Ordinal))
            {
                // DeiT distillation from ML.NET's ResNet18 + a linear head fitted in the trainer: hard, or soft at τ (soft3).
                options.Architecture = options.ResolveArchitecture() with { DistillationToken = true };
                options.Teacher = VisionTransformerTeacher.ResNet18;
                if (knob != "teacher") { options.Distillation = VisionTransformerDistillation.Soft; options.DistillationTemperature = double.Parse(knob[4..], inv); }
            }
            else if (knob == "unfrozen") { options.FreezeStem = false; options.StemFeatureViews = 0; }
            else if (knob.StartsWith("depth", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { Depth = int.Parse(knob[5..], inv) };
            else if (knob.StartsWith("dim", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { Dim = int.Parse(knob[3..], inv) };
            else if (knob.StartsWith("drop", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { Dropout = double.Parse(knob[4..], inv) };
            else if (knob.StartsWith("dpr", StringComparison.Ordinal)) options.Architecture = options.ResolveArchitecture() with { DropPathRate = double.Parse(knob[3..], inv) };
            else if (knob.StartsWith("mix", StringComparison.Ordinal)) options.Augmentation = options.Augmentation with { MixupAlpha = double.Parse(knob[3..], inv), MixProbability = 1 };
            else if (knob.StartsWith("ema", StringComparison.Ordinal)) options.EmaDecay = double.Parse(knob[3..], inv);
            else if (knob.StartsWith("ls", StringComparison.Ordinal)) options.LabelSmoothing = double.Parse(knob[2..], inv);
            else if (knob.StartsWith("wd", StringComparison.Ordinal)) options.WeightDecay = double.Parse(knob[2..], inv);
            else if (knob.StartsWith("e", StringComparison.Ordinal)) options.Epochs = int.Parse(knob[1..], inv);
            else if (knob.StartsWith("v", StringComparison.Ordinal)) options.StemFeatureViews = int.Parse(knob[1..], inv);
            else if (knob.StartsWith("rrc", StringComparison.Ordinal)) options.Augmentation = options.Augmentation with { RandomResizedCropScale = double.Parse(knob[3..], inv), RandomCropPadding = 0 };
            else if (knob.StartsWith("pad", StringComparison.Ordinal)) options.Augmentation = options.Augmentation with { RandomCropPadding = int.Parse(knob[3..], inv) };
            else if (knob.StartsWith("lr", StringComparison.Ordinal)) options.LearningRate = double.Parse(knob[2..], inv);
            else throw new ArgumentException($"unknown knob '{knob}' in '{variant}'");
        }
        if (baseVariant.Contains("strong", StringComparison.Ordinal))
        {
            // The small-data augmentations of DeiT: TrivialAugment, random erasing, Mixup/CutMix.
            options.Augmentation = options.Augmentation with
            {
                TrivialAugment = true, RandomErasingProbability = 0.25, MixupAlpha = 0.8, CutMixAlpha = 1.0, MixProbability = 0.5,
            };
        }
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
        var a = options.ResolveArchitecture();
        Report($"vitmlnet {variant}", zip, fit, string.Format(inv, "{0} images{5}, {1}x{1}, {6}patch {2}, {3} epochs, batch {4}", rows.Count, size, a.PatchSize, options.Epochs, options.BatchSize,
            options.StemFeatureViews > 0 ? string.Format(inv, " x {0} cached views", options.StemFeatureViews) : "",
            a.Stem == ViTStem.ResNet18 ? (options.FreezeStem ? "frozen" : "fine-tuned") + " pretrained ResNet18 stem, " : ""));
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
    public static double Accuracy(string zip, List<Photo> photos)
    {
        var ml = new MLContext();
        var model = ml.Model.Load(zip, out _);
        using var engine = ml.Model.CreatePredictionEngine<ConsumerInput, ConsumerOutput>(model);
        int correct = 0;
        foreach (var p in photos)
        {
            using var image = MLImage.CreateFromFile(p.Path);
            if (engine.Predict(new ConsumerInput { Image = image }).PredictedLabel == p.Label) correct++;
        }
        return correct / (double)photos.Count;
    }
}
