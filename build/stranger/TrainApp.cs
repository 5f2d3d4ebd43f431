// The stranger's training app (build/stranger-test.sh copies it into a fresh `dotnet new console` project that
// references the VitMlNet package): generates a tiny image folder, trains, saves a model zip, reloads it and scores.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using SkiaSharp;
using VitMlNet;
using VitMlNet.Scoring;

string folder = args.Length > 0 ? args[0] : "images";
string zip = args.Length > 1 ? args[1] : "model.zip";

// Two classes a ViT separates after a few steps: bright left half vs. bright right half, with noise.
var random = new Random(7);
var rows = new List<Row>();
foreach (string label in new[] { "left", "right" })
{
    Directory.CreateDirectory(Path.Combine(folder, label));
    for (int i = 0; i < 24; i++)
    {
        using var bitmap = new SKBitmap(20, 20);
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 20; x++)
            {
                bool bright = label == "left" ? x < 10 : x >= 10;
                byte v = (byte)Math.Clamp((bright ? 200 : 40) + random.Next(-30, 31), 0, 255);
                bitmap.SetPixel(x, y, new SKColor(v, v, v));
            }
        string path = Path.Combine(folder, label, $"{i:D2}.png");
        using (var data = bitmap.Encode(SKEncodedImageFormat.Png, 100))
        using (var file = File.Create(path))
            data.SaveTo(file);
        rows.Add(new Row { Image = MLImage.CreateFromFile(path), Label = label });
    }
}

var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromEnumerable(rows);
var keyMap = VisionTransformerPipeline.FitLabels(ml, train);
var options = VisionTransformerRecipes.Apply("tiny");
options.Epochs = 12;
options.BatchSize = 16;
options.LearningRate = 3e-3;
var pipeline = VisionTransformerPipeline.Create(ml, channels: 3, height: 16, width: 16, options);
var model = pipeline.Fit(keyMap.Transform(train));
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(keyMap.Transform(train)));
Console.WriteLine($"train: {rows.Count} images, accuracy {metrics.MicroAccuracy:F3}");
ml.Model.Save(model, null, zip);
Console.WriteLine($"saved {zip} ({new FileInfo(zip).Length} bytes)");

var info = VisionTransformerModelZip.Inspect(zip);
Console.WriteLine($"zip: {info.ArchitectureName} {info.Channels}x{info.ImageHeight}x{info.ImageWidth}, classes {string.Join(",", info.ClassNames)}");
if (info.ClassNames.Count != 2) throw new InvalidOperationException("expected 2 classes in the zip");
if (metrics.MicroAccuracy < 0.75) throw new InvalidOperationException($"the model did not learn (accuracy {metrics.MicroAccuracy:F3})");
Console.WriteLine("TRAIN OK");

/// <summary>One training row.</summary>
public sealed class Row
{
    /// <summary>The image.</summary>
    [ImageType(20, 20)]
    public MLImage Image { get; set; } = null!;

    /// <summary>The class name.</summary>
    public string Label { get; set; } = "";
}
