using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using VitMlNet.Data;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Cli;

/// <summary>
/// <c>vit bench-scoring</c>: scoring through a model zip, the way a business app runs it (MLImage → ResizeImages →
/// ExtractPixels → ONNX Runtime → label), next to TorchSharp eager scoring of the same weights, in one run.
/// Without <c>--zip</c> it first fits the seed preset for one step on random 32×32 RGB images (the weights do not
/// matter for speed) and saves that zip.
/// </summary>
internal static class ScoringBenchCommand
{
    public static Command Build(CliContext context)
    {
        var zip = new Option<string?>("--zip") { HelpName = "model.zip", Description = "Model zip to time (default: a fresh seed-preset zip on random 32x32 images)" };
        var images = new Option<int>("--images") { HelpName = "N", Description = "Images per timed pass", DefaultValueFactory = _ => 512 };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("bench-scoring", "Time PredictionEngine latency and batch Transform throughput of a model zip against TorchSharp eager scoring.")
        {
            zip, images, json,
        };
        command.SetAction(parse => Guard.Run("bench-scoring", context.Error, () => Run(parse.GetValue(zip), parse.GetValue(images), parse.GetValue(json), context)));
        return command;
    }

    public static int Run(string? zipPath, int count, bool json, CliContext context)
    {
        if (count < 64) throw new UsageException($"--images must be at least 64 (got {count}).");
        var ml = new MLContext(1);
        string? temp = null;
        if (zipPath is null)
        {
            temp = Path.Combine(Path.GetTempPath(), "vit-bench-" + Guid.NewGuid().ToString("N") + ".zip");
            zipPath = temp;
            FitSeedZip(ml, zipPath);
        }
        try
        {
            var onnx = ModelFile.ReadOnnx(zipPath);
            var config = onnx.Config;
            bool flipAverage = onnx.ExportOptions?.FlipAverage ?? false;
            bool shiftAverage = onnx.ExportOptions?.ShiftAverage ?? false;
            var model = ModelFile.Load(ml, zipPath, out _);
            var rng = new Random(3);
            var files = RandomImages(config, count, rng);

            var (engineMs, transformPerSecond) = MeasureZip(ml, model, config, files, count);
            double? int8EngineMs = null, int8TransformPerSecond = null;
            if (temp is not null)
            {
                // The same fit with int8 scoring weights (same seed, so the same float weights before quantization).
                string int8Zip = Path.ChangeExtension(temp, ".int8.zip");
                try
                {
                    FitSeedZip(ml, int8Zip, VitMlNet.Onnx.ViTOnnxWeightPrecision.DynamicInt8);
                    (int8EngineMs, int8TransformPerSecond) = MeasureZip(ml, ModelFile.Load(ml, int8Zip, out _), config, files, count);
                }
                finally
                {
                    File.Delete(int8Zip);
                }
            }

            // TorchSharp eager on the same weights: batch 64 and batch 1, normalized tensors in.
            using var vit = onnx.CreateModel();
            vit.eval();
            double eagerBatch, eagerOne;
            var clock = Stopwatch.StartNew();
            using (torch.no_grad())
            using (var x = torch.rand(64, config.Channels, config.ImageHeight, config.ImageWidth))
            using (var x1 = torch.rand(1, config.Channels, config.ImageHeight, config.ImageWidth))
            {
                void Forward(Tensor t) { using var s = torch.NewDisposeScope(); vit.forward(t); }
                for (int i = 0; i < 3; i++) Forward(x);
                clock.Restart();
                int batches = Math.Max(1, count / 64);
                for (int i = 0; i < batches; i++) Forward(x);
                eagerBatch = 64.0 * batches / clock.Elapsed.TotalSeconds;
                for (int i = 0; i < 10; i++) Forward(x1);
                clock.Restart();
                for (int i = 0; i < 200; i++) Forward(x1);
                eagerOne = clock.Elapsed.TotalMilliseconds / 200;
            }

            // ONNX Runtime directly on the same graph (standalone export layout), batch 64 and batch 1: the floor
            // under ML.NET's OnnxTransformer, which adds image preprocessing and per-row bookkeeping.
            var (ortBatch, ortOne) = MeasureOrt(config, onnx, VitMlNet.Onnx.ViTOnnxWeightPrecision.Float32, count, rng);
            var (ortInt8Batch, ortInt8One) = MeasureOrt(config, onnx, VitMlNet.Onnx.ViTOnnxWeightPrecision.DynamicInt8, count, rng);

            var inv = CultureInfo.InvariantCulture;
            if (json)
            {
                context.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    preset = config.Name,
                    flipAverage,
                    shiftAverage,
                    image = $"{config.Channels}x{config.ImageHeight}x{config.ImageWidth}",
                    predictionEngineMilliseconds = Math.Round(engineMs, 3),
                    transformImagesPerSecond = Math.Round(transformPerSecond, 1),
                    torchSharpBatch64ImagesPerSecond = Math.Round(eagerBatch, 1),
                    torchSharpBatch1Milliseconds = Math.Round(eagerOne, 3),
                    onnxRuntimeBatch64ImagesPerSecond = Math.Round(ortBatch, 1),
                    onnxRuntimeBatch1Milliseconds = Math.Round(ortOne, 3),
                    int8PredictionEngineMilliseconds = int8EngineMs is { } m ? Math.Round(m, 3) : (double?)null,
                    int8TransformImagesPerSecond = int8TransformPerSecond is { } t ? Math.Round(t, 1) : (double?)null,
                    onnxRuntimeInt8Batch64ImagesPerSecond = Math.Round(ortInt8Batch, 1),
                    onnxRuntimeInt8Batch1Milliseconds = Math.Round(ortInt8One, 3),
                }));
            }
            else
            {
                context.Out.WriteLine(string.Format(inv, "model {0} ({1}x{2}x{3}), {4} images", config.Name, config.Channels, config.ImageHeight, config.ImageWidth, count));
                if (flipAverage || shiftAverage)
                    context.Out.WriteLine($"the zip scores {(shiftAverage ? "each image, its four one-pixel shifts" : "each image")}{(flipAverage ? " and their mirrors" : "")} (test-time averaging), as do the ONNX Runtime figures; TorchSharp eager times one view");
                context.Out.WriteLine(string.Format(inv, "zip PredictionEngine (MLImage -> label): {0:F3} ms/image", engineMs));
                context.Out.WriteLine(string.Format(inv, "zip Transform (batch IDataView):         {0:F1} img/s", transformPerSecond));
                context.Out.WriteLine(string.Format(inv, "TorchSharp eager batch 64:               {0:F1} img/s (the zip's Transform runs at {1:F2}x this)", eagerBatch, transformPerSecond / eagerBatch));
                context.Out.WriteLine(string.Format(inv, "TorchSharp eager batch 1:                {0:F3} ms ({1:F2}x the PredictionEngine's time)", eagerOne, eagerOne / engineMs));
                context.Out.WriteLine(string.Format(inv, "ONNX Runtime direct batch 64:            {0:F1} img/s", ortBatch));
                context.Out.WriteLine(string.Format(inv, "ONNX Runtime direct batch 1:             {0:F3} ms", ortOne));
                if (int8EngineMs is { } im && int8TransformPerSecond is { } it)
                {
                    context.Out.WriteLine(string.Format(inv, "int8 zip PredictionEngine:               {0:F3} ms/image ({1:F2}x faster than float)", im, engineMs / im));
                    context.Out.WriteLine(string.Format(inv, "int8 zip Transform:                      {0:F1} img/s ({1:F2}x float)", it, it / transformPerSecond));
                }
                context.Out.WriteLine(string.Format(inv, "ONNX Runtime direct int8 batch 64:       {0:F1} img/s", ortInt8Batch));
                context.Out.WriteLine(string.Format(inv, "ONNX Runtime direct int8 batch 1:        {0:F3} ms", ortInt8One));
            }
            return ExitCodes.Ok;
        }
        finally
        {
            if (temp is not null) File.Delete(temp);
        }
    }

    private static (double EngineMilliseconds, double TransformPerSecond) MeasureZip(MLContext ml, ITransformer model, ViTConfig config, List<byte[]> files, int count)
    {
        // PredictionEngine: one MLImage in, label out (fresh MLImage per call: ML.NET disposes what it consumes).
        var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
        MLImage Image(int i) => MLImage.CreateFromPixels(config.ImageWidth, config.ImageHeight, MLPixelFormat.Rgba32, files[i % files.Count]);
        for (int i = 0; i < 20; i++) engine.Predict(new ModelInput { Image = Image(i) });
        var clock = Stopwatch.StartNew();
        int reps = Math.Min(count, 500);
        for (int i = 0; i < reps; i++) engine.Predict(new ModelInput { Image = Image(i) });
        double engineMs = clock.Elapsed.TotalMilliseconds / reps;

        // Batch Transform over an IDataView of images.
        var rows = Enumerable.Range(0, count).Select(i => new ModelInput { Image = Image(i) }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        clock.Restart();
        long scored = 0;
        var transformed = model.Transform(view);
        using (var cursor = transformed.GetRowCursor(transformed.Schema.Where(c => c.Name is "Score" or "PredictedLabel")))
        {
            var score = cursor.GetGetter<VBuffer<float>>(transformed.Schema["Score"]);
            VBuffer<float> buffer = default;
            while (cursor.MoveNext())
            {
                score(ref buffer);
                scored++;
            }
        }
        double transformPerSecond = scored / clock.Elapsed.TotalSeconds;

        return (engineMs, transformPerSecond);
    }

    private static (double Batch64PerSecond, double Batch1Milliseconds) MeasureOrt(
        ViTConfig config, VitMlNet.Onnx.ViTOnnxModel onnx, VitMlNet.Onnx.ViTOnnxWeightPrecision precision, int count, Random rng)
    {
        // The zip's own test-time averaging, if it has it, so the direct figures are the floor under the zip's.
        var export = new VitMlNet.Onnx.ViTOnnxExportOptions
        {
            WeightPrecision = precision,
            FlipAverage = onnx.ExportOptions?.FlipAverage ?? false,
            ShiftAverage = onnx.ExportOptions?.ShiftAverage ?? false,
        };
        var graph = VitMlNet.Onnx.ViTOnnxWriter.ToByteArray(VitMlNet.Onnx.ViTOnnxWriter.Build(config, onnx.Weights, onnx.ClassNames, export));
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(graph);
        int per = config.Channels * config.ImageHeight * config.ImageWidth;
        var data64 = new float[64 * per];
        for (int i = 0; i < data64.Length; i++) data64[i] = rng.Next(256);
        double Run(int n)
        {
            var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(data64.AsMemory(0, n * per), new[] { n, config.Channels, config.ImageHeight, config.ImageWidth });
            var inputs = new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(export.InputName, tensor) };
            var sw = Stopwatch.StartNew();
            using (session.Run(inputs)) { }
            return sw.Elapsed.TotalMilliseconds;
        }
        for (int i = 0; i < 3; i++) Run(64);
        double batch = 64.0 * 1000 / Enumerable.Range(0, Math.Max(3, count / 64)).Select(_ => Run(64)).Average();
        for (int i = 0; i < 10; i++) Run(1);
        double one = Enumerable.Range(0, 200).Select(_ => Run(1)).Average();
        return (batch, one);
    }

    private static List<byte[]> RandomImages(ViTConfig config, int count, Random rng)
    {
        var list = new List<byte[]>(count);
        for (int i = 0; i < Math.Min(count, 256); i++)
        {
            var rgba = new byte[config.ImageHeight * config.ImageWidth * 4];
            rng.NextBytes(rgba);
            for (int p = 3; p < rgba.Length; p += 4) rgba[p] = 255;
            list.Add(rgba);
        }
        return list;
    }

    private static void FitSeedZip(MLContext ml, string path, VitMlNet.Onnx.ViTOnnxWeightPrecision precision = VitMlNet.Onnx.ViTOnnxWeightPrecision.Float32)
    {
        var rng = new Random(1);
        var pixels = new byte[64 * 3 * 32 * 32];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        var names = Enumerable.Range(0, 10).Select(i => "class" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var dataset = new ImageDataset(pixels, labels, names, 3, 32, 32);
        var view = dataset.ToDataView(ml);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
        var options = VisionTransformerRecipes.Apply("seed");
        options.Epochs = 1;
        options.ScoringPrecision = precision;
        var model = ModelFile.ScoringPipeline(ml, 3, 32, 32, options).Fit(keyed);
        ml.Model.Save(model, null, path);
    }
}
