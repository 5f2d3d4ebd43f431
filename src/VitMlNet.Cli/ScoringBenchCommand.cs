using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using VitMlNet.Data;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using static TorchSharp.torch;

namespace VitMlNet.Cli;

/// <summary>
/// <c>vit bench-scoring</c>: scoring through a model zip, the way a business app runs it (MLImage → ResizeImages →
/// ExtractPixels → ONNX Runtime → label), next to TorchSharp eager scoring of the same weights, in one run.
/// Without <c>--zip</c> it first fits the seed preset for one step on random 32×32 RGB images (the weights do not
/// matter for speed) and saves that zip. It also times the zip's image preprocessing alone and gives the floor under
/// any scoring graph of the model: its forward FLOPs per image at ONNX Runtime's own 2048² matmul rate in the same run.
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
            var figures = Measure(ml, zipPath, temp, count);
            if (json) WriteJson(figures, context.Out);
            else WriteText(figures, context.Out);
            return ExitCodes.Ok;
        }
        finally
        {
            if (temp is not null) File.Delete(temp);
        }
    }

    /// <summary>What <c>vit bench-scoring</c> measures, filled in by <see cref="Measure"/> step by step.</summary>
    private sealed class ScoringFigures(ViTConfig config, int count, ViTOnnxExportOptions? export)
    {
        public readonly ViTConfig Config = config;
        public readonly int Count = count, Cores = Environment.ProcessorCount;
        public readonly bool FlipAverage = export?.FlipAverage ?? false, ShiftAverage = export?.ShiftAverage ?? false;
        public double EngineMs, TransformPerSecond, TransformFirstPass, PoolOne, PoolAll, PoolOneEngine, EagerBatch, EagerOne, OrtBatch, OrtOne, OrtInt8Batch, OrtInt8One, OrtPeak, OrtInt8Peak;
        public double? PreprocessUs, EngineEveryCoreMs, Int8EngineEveryCoreMs, TransformOneThread, Int8TransformOneThread, Int8EngineMs, Int8TransformPerSecond, Int8TransformFirstPass, Int8PoolAll;
        public int Views => (ShiftAverage ? 5 : 1) * (FlipAverage ? 2 : 1);
        public double ForwardGflop => Views * BenchCommand.ForwardFlopsPerImage(Config) / 1e9;
        public double FloorMs => ForwardGflop / OrtPeak * 1000;
        public double FloorInt8Ms => ForwardGflop / OrtInt8Peak * 1000;
    }

    /// <summary>
    /// The zip (PredictionEngine, batch Transform, its preprocessing alone, PredictionEnginePool), its int8 twin when the
    /// bench fitted the zip itself (<paramref name="fitted"/>), TorchSharp eager and ONNX Runtime directly on the same
    /// weights, and ONNX Runtime's matmul rates for the floor.
    /// </summary>
    private static ScoringFigures Measure(MLContext ml, string zipPath, string? fitted, int count)
    {
        var onnx = ModelZipFile.ReadOnnx(zipPath);
        var config = onnx.Config;
        var f = new ScoringFigures(config, count, onnx.ExportOptions);
        var model = ModelZipFile.Load(ml, zipPath, out _);
        var rng = new Random(3);
        var files = RandomImages(config, count, rng);
        (f.EngineMs, f.TransformFirstPass, f.TransformPerSecond) = MeasureZip(ml, model, config, files, count);
        f.PreprocessUs = MeasurePreprocessing(ml, model, config, files, count);
        f.EngineEveryCoreMs = MeasureEngineEveryCore(ml, zipPath, config, files, count);
        f.TransformOneThread = MeasureTransformOneThreadSessions(ml, zipPath, config, files, count);
        f.PoolOne = MeasurePool(zipPath, config, files, callers: 1, threadsPerEngine: 1);
        f.PoolAll = MeasurePool(zipPath, config, files, callers: f.Cores, threadsPerEngine: null);
        f.PoolOneEngine = MeasurePool(zipPath, config, files, callers: f.Cores, threadsPerEngine: f.Cores);
        if (fitted is not null)
        {
            // The same fit with int8 scoring weights (same seed, so the same float weights before quantization).
            string int8Zip = Path.ChangeExtension(fitted, ".int8.zip");
            try
            {
                FitSeedZip(ml, int8Zip, ViTOnnxWeightPrecision.DynamicInt8);
                double int8First, int8Transform;
                (f.Int8EngineMs, int8First, int8Transform) = MeasureZip(ml, ModelZipFile.Load(ml, int8Zip, out _), config, files, count);
                (f.Int8TransformFirstPass, f.Int8TransformPerSecond) = (int8First, int8Transform);
                f.Int8PoolAll = MeasurePool(int8Zip, config, files, callers: f.Cores, threadsPerEngine: null);
                f.Int8EngineEveryCoreMs = MeasureEngineEveryCore(ml, int8Zip, config, files, count);
                f.Int8TransformOneThread = MeasureTransformOneThreadSessions(ml, int8Zip, config, files, count);
            }
            finally
            {
                File.Delete(int8Zip);
            }
        }
        (f.EagerBatch, f.EagerOne) = MeasureEager(onnx, count);
        // ONNX Runtime directly on the same graph (standalone export layout), batch 64 and batch 1: the floor
        // under ML.NET's OnnxTransformer, which adds image preprocessing and per-row bookkeeping.
        (f.OrtBatch, f.OrtOne) = MeasureOrt(config, onnx, ViTOnnxWeightPrecision.Float32, count, rng);
        (f.OrtInt8Batch, f.OrtInt8One) = MeasureOrt(config, onnx, ViTOnnxWeightPrecision.DynamicInt8, count, rng);
        // The floor: the graph's matrix products per image at the best rate ONNX Runtime reaches in this run on a
        // 2048² product (float, and int8 as the int8 graph runs it). No graph of this model scores an image faster.
        f.OrtPeak = OrtMatMulPeak(int8: false);
        f.OrtInt8Peak = OrtMatMulPeak(int8: true);
        return f;
    }

    /// <summary>TorchSharp eager on the same weights: images per second at batch 64 and milliseconds at batch 1, normalized tensors in.</summary>
    private static (double Batch64PerSecond, double Batch1Milliseconds) MeasureEager(ViTOnnxModel onnx, int count)
    {
        var config = onnx.Config;
        using var vit = onnx.CreateModel();
        vit.eval();
        using var noGrad = torch.no_grad();
        using var x = torch.rand(64, config.Channels, config.ImageHeight, config.ImageWidth);
        using var x1 = torch.rand(1, config.Channels, config.ImageHeight, config.ImageWidth);
        void Forward(Tensor t) { using var s = torch.NewDisposeScope(); vit.forward(t); }
        for (int i = 0; i < 3; i++) Forward(x);
        var clock = Stopwatch.StartNew();
        int batches = Math.Max(1, count / 64);
        for (int i = 0; i < batches; i++) Forward(x);
        double batch = 64.0 * batches / clock.Elapsed.TotalSeconds;
        for (int i = 0; i < 10; i++) Forward(x1);
        return (batch, BestMeanMilliseconds(() => Forward(x1), 200));
    }

    private static void WriteJson(ScoringFigures f, TextWriter output) => output.WriteLine(JsonSerializer.Serialize(new
    {
        preset = f.Config.Name,
        flipAverage = f.FlipAverage,
        shiftAverage = f.ShiftAverage,
        image = $"{f.Config.Channels}x{f.Config.ImageHeight}x{f.Config.ImageWidth}",
        predictionEngineMilliseconds = Math.Round(f.EngineMs, 3),
        transformImagesPerSecond = Math.Round(f.TransformPerSecond, 1),
        transformFirstPassImagesPerSecond = Math.Round(f.TransformFirstPass, 1),
        torchSharpBatch64ImagesPerSecond = Math.Round(f.EagerBatch, 1),
        torchSharpBatch1Milliseconds = Math.Round(f.EagerOne, 3),
        onnxRuntimeBatch64ImagesPerSecond = Math.Round(f.OrtBatch, 1),
        onnxRuntimeBatch1Milliseconds = Math.Round(f.OrtOne, 3),
        predictionEngineEveryCoreMilliseconds = f.EngineEveryCoreMs is { } ec ? Math.Round(ec, 3) : (double?)null,
        transformOneThreadSessionsImagesPerSecond = f.TransformOneThread is { } t1s ? Math.Round(t1s, 1) : (double?)null,
        int8TransformOneThreadSessionsImagesPerSecond = f.Int8TransformOneThread is { } it1s ? Math.Round(it1s, 1) : (double?)null,
        int8PredictionEngineEveryCoreMilliseconds = f.Int8EngineEveryCoreMs is { } iec ? Math.Round(iec, 3) : (double?)null,
        int8PredictionEngineMilliseconds = f.Int8EngineMs is { } m ? Math.Round(m, 3) : (double?)null,
        int8TransformImagesPerSecond = f.Int8TransformPerSecond is { } t ? Math.Round(t, 1) : (double?)null,
        int8TransformFirstPassImagesPerSecond = f.Int8TransformFirstPass is { } t1 ? Math.Round(t1, 1) : (double?)null,
        onnxRuntimeInt8Batch64ImagesPerSecond = Math.Round(f.OrtInt8Batch, 1),
        onnxRuntimeInt8Batch1Milliseconds = Math.Round(f.OrtInt8One, 3),
        preprocessingMicroseconds = f.PreprocessUs is { } p ? Math.Round(p, 1) : (double?)null,
        poolOneThreadImagesPerSecond = Math.Round(f.PoolOne, 1),
        poolThreads = f.Cores,
        poolImagesPerSecond = Math.Round(f.PoolAll, 1),
        poolOneEngineEveryCoreImagesPerSecond = Math.Round(f.PoolOneEngine, 1),
        int8PoolImagesPerSecond = f.Int8PoolAll is { } ps ? Math.Round(ps, 1) : (double?)null,
        forwardGflopPerImage = Math.Round(f.ForwardGflop, 6),
        onnxRuntimeMatMulGflops = Math.Round(f.OrtPeak, 1),
        onnxRuntimeInt8MatMulGops = Math.Round(f.OrtInt8Peak, 1),
        floorMilliseconds = Math.Round(f.FloorMs, 6),
        int8FloorMilliseconds = Math.Round(f.FloorInt8Ms, 6),
    }));

    private static void WriteText(ScoringFigures f, TextWriter output)
    {
        var inv = CultureInfo.InvariantCulture;
        var c = f.Config;
        output.WriteLine(string.Format(inv, "model {0} ({1}x{2}x{3}), {4} images", c.Name, c.Channels, c.ImageHeight, c.ImageWidth, f.Count));
        if (f.FlipAverage || f.ShiftAverage)
            output.WriteLine($"the zip scores {(f.ShiftAverage ? "each image, its four one-pixel shifts" : "each image")}{(f.FlipAverage ? " and their mirrors" : "")} (test-time averaging), as do the ONNX Runtime figures; TorchSharp eager times one view");
        output.WriteLine(string.Format(inv, "zip PredictionEngine (MLImage -> label): {0:F3} ms/image", f.EngineMs));
        if (f.EngineEveryCoreMs is { } ec)
            output.WriteLine(string.Format(inv, "zip PredictionEngine, {0} ONNX Runtime threads: {1:F3} ms/image", f.Cores, ec));
        output.WriteLine(string.Format(inv, "zip Transform (batch IDataView):         {0:F1} img/s (first pass, JIT included: {1:F1} img/s)", f.TransformPerSecond, f.TransformFirstPass));
        if (f.TransformOneThread is { } t1s)
            output.WriteLine(string.Format(inv, "zip Transform, one ONNX Runtime thread per session: {0:F1} img/s", t1s));
        output.WriteLine(string.Format(inv, "PredictionEnginePool, one caller on one thread: {0:F1} img/s; {1} callers, default pool ({1} engines x 1 thread): {2:F1} img/s ({3:F2}x); {1} callers, one engine of {1} threads: {4:F1} img/s",
            f.PoolOne, f.Cores, f.PoolAll, f.PoolAll / f.PoolOne, f.PoolOneEngine));
        output.WriteLine(string.Format(inv, "TorchSharp eager batch 64:               {0:F1} img/s (the zip's Transform runs at {1:F2}x this)", f.EagerBatch, f.TransformPerSecond / f.EagerBatch));
        output.WriteLine(string.Format(inv, "TorchSharp eager batch 1:                {0:F3} ms ({1:F2}x the PredictionEngine's time)", f.EagerOne, f.EagerOne / f.EngineMs));
        output.WriteLine(string.Format(inv, "ONNX Runtime direct batch 64:            {0:F1} img/s", f.OrtBatch));
        output.WriteLine(string.Format(inv, "ONNX Runtime direct batch 1:             {0:F3} ms", f.OrtOne));
        if (f.Int8EngineMs is { } im && f.Int8TransformPerSecond is { } it)
        {
            output.WriteLine(string.Format(inv, "int8 zip PredictionEngine:               {0:F3} ms/image ({1:F2}x faster than float)", im, f.EngineMs / im));
            if (f.Int8EngineEveryCoreMs is { } iec)
                output.WriteLine(string.Format(inv, "int8 zip PredictionEngine, {0} ONNX Runtime threads: {1:F3} ms/image", f.Cores, iec));
            output.WriteLine(string.Format(inv, "int8 zip Transform:                      {0:F1} img/s ({1:F2}x float; first pass {2:F1} img/s)", it, it / f.TransformPerSecond, f.Int8TransformFirstPass ?? 0));
            if (f.Int8TransformOneThread is { } it1s)
                output.WriteLine(string.Format(inv, "int8 zip Transform, one ONNX Runtime thread per session: {0:F1} img/s", it1s));
            if (f.Int8PoolAll is { } ips)
                output.WriteLine(string.Format(inv, "int8 PredictionEnginePool, {0} callers, default pool: {1:F1} img/s", f.Cores, ips));
        }
        output.WriteLine(string.Format(inv, "ONNX Runtime direct int8 batch 64:       {0:F1} img/s", f.OrtInt8Batch));
        output.WriteLine(string.Format(inv, "ONNX Runtime direct int8 batch 1:        {0:F3} ms", f.OrtInt8One));
        if (f.PreprocessUs is { } pre)
            output.WriteLine(string.Format(inv, "zip image preprocessing alone:           {0:F1} us/image (the transforms before the ONNX model)", pre));
        output.WriteLine(string.Format(inv, "ONNX Runtime 2048^2 matmul:              {0:F1} GFLOP/s float, {1:F1} GOP/s int8", f.OrtPeak, f.OrtInt8Peak));
        output.WriteLine(string.Format(inv, "floor at those rates:                    {0:F3} ms float, {1:F3} ms int8 ({2:F3} GFLOP per image{3})",
            f.FloorMs, f.FloorInt8Ms, f.ForwardGflop, f.Views > 1 ? $", {f.Views} views" : ""));
    }

    /// <summary>
    /// PredictionEngine latency (<see cref="MeasureEngine"/>) and Transform throughput (<see cref="MeasureTransform"/>) of
    /// the zip loaded as <paramref name="model"/>.
    /// </summary>
    private static (double EngineMilliseconds, double FirstPassPerSecond, double TransformPerSecond) MeasureZip(MLContext ml, ITransformer model, ViTConfig config, List<byte[]> files, int count)
    {
        double engineMs = MeasureEngine(ml, model, config, files, count);
        var (first, steady) = MeasureTransform(ml, model, config, files, count);
        return (engineMs, first, steady);
    }

    /// <summary>PredictionEngine latency: one MLImage in, the label out, the best chunk after 200 warm-up calls.</summary>
    private static double MeasureEngine(MLContext ml, ITransformer model, ViTConfig config, List<byte[]> files, int count)
    {
        // A fresh MLImage per call: ML.NET disposes what it consumes.
        var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
        for (int i = 0; i < 200; i++) engine.Predict(new ModelInput { Image = Image(config, files, i) });
        int call = 0;
        return BestMeanMilliseconds(() => engine.Predict(new ModelInput { Image = Image(config, files, call++) }), Math.Min(count, 500));
    }

    /// <summary>
    /// Transform throughput: the first pass over the images, which pays for the JIT of the cursor path (ML.NET's
    /// splitting and consolidating cursors, their getters), and the steady state, the better of two more passes, which
    /// is what scoring many images gets.
    /// </summary>
    private static (double FirstPassPerSecond, double TransformPerSecond) MeasureTransform(MLContext ml, ITransformer model, ViTConfig config, List<byte[]> files, int count)
    {
        // Batch Transform over an IDataView of images (fresh images per pass: ML.NET disposes what it consumes).
        double Pass()
        {
            var rows = Enumerable.Range(0, count).Select(i => new ModelInput { Image = Image(config, files, i) }).ToList();
            var view = ml.Data.LoadFromEnumerable(rows);
            var clock = Stopwatch.StartNew();
            var transformed = model.Transform(view);
            long scored = ReadAll(transformed, transformed.Schema["Score"], transformed.Schema.Where(c => c.Name is "Score" or "PredictedLabel"));
            return scored / clock.Elapsed.TotalSeconds;
        }
        double first = Pass();
        double steady = Math.Max(Pass(), Pass());
        return (first, steady);
    }

    /// <summary>
    /// PredictionEngine latency (<see cref="MeasureEngine"/>) of the zip loaded through a context whose ONNX Runtime
    /// sessions run one intra-op thread per core (the pool's <c>threadsPerEngine</c> setting): what a single caller
    /// that owns the machine gets. Null on one core.
    /// </summary>
    private static double? MeasureEngineEveryCore(MLContext ml, string zipPath, ViTConfig config, List<byte[]> files, int count)
    {
        int cores = Environment.ProcessorCount;
        if (cores < 2) return null;
        var loader = PredictionEnginePool<ModelInput, ModelOutput>.Loader(ml, cores);
        var model = ModelZipFile.Load(loader, zipPath, out _);
        using var disposeModel = model as IDisposable;
        return MeasureEngine(loader, model, config, files, count);
    }

    /// <summary>
    /// Steady-state <c>Transform</c> throughput (<see cref="MeasureTransform"/>) of the zip loaded through a context whose
    /// ONNX Runtime sessions run one intra-op thread each: ML.NET's cursor spreads the rows over the cores itself, so
    /// each row's graph runs on the thread that reads it instead of asking ONNX Runtime's own pool for every core too.
    /// </summary>
    private static double MeasureTransformOneThreadSessions(MLContext ml, string zipPath, ViTConfig config, List<byte[]> files, int count)
    {
        var loader = PredictionEnginePool<ModelInput, ModelOutput>.Loader(ml, 1);
        var model = ModelZipFile.Load(loader, zipPath, out _);
        using var disposeModel = model as IDisposable;
        return MeasureTransform(loader, model, config, files, count).TransformPerSecond;
    }

    /// <summary>Reads <paramref name="column"/> (a float vector) of every row through a cursor over <paramref name="active"/>; returns the row count.</summary>
    private static long ReadAll(IDataView view, DataViewSchema.Column column, IEnumerable<DataViewSchema.Column> active)
    {
        using var cursor = view.GetRowCursor(active);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        long rows = 0;
        for (; cursor.MoveNext(); rows++) getter(ref buffer);
        return rows;
    }

    /// <summary>
    /// Mean milliseconds per call of <paramref name="call"/> over <paramref name="calls"/> calls, taken in five chunks of
    /// a fifth each and reporting the best chunk (<see cref="BenchTiming.BestSecondsPerCall"/>): every batch-1 figure
    /// (zip, ONNX Runtime, TorchSharp) is taken the same way.
    /// </summary>
    private static double BestMeanMilliseconds(Action call, int calls) =>
        1000 * BenchTiming.BestSecondsPerCall(call, chunks: 5, callsPerChunk: Math.Max(1, calls / 5));

    /// <summary>Image <paramref name="i"/> of the bench's random RGBA images (cycling), as a fresh <see cref="MLImage"/>: ML.NET disposes what it consumes.</summary>
    private static MLImage Image(ViTConfig config, List<byte[]> files, int i) =>
        MLImage.CreateFromPixels(config.ImageWidth, config.ImageHeight, MLPixelFormat.Rgba32, files[i % files.Count]);

    /// <summary>
    /// Images per second through a <see cref="PredictionEnginePool{TInput, TOutput}"/> over the zip with
    /// <paramref name="callers"/> threads predicting at once; <paramref name="threadsPerEngine"/> null is the pool's
    /// default (one ONNX Runtime thread per engine, one engine per core). Each caller warms up with 50 calls first.
    /// </summary>
    private static double MeasurePool(string zipPath, ViTConfig config, List<byte[]> files, int callers, int? threadsPerEngine)
    {
        using var pool = new PredictionEnginePool<ModelInput, ModelOutput>(zipPath, new MLContext(1), threadsPerEngine: threadsPerEngine);
        void Work(int calls) => Parallel.For(0, callers, new ParallelOptions { MaxDegreeOfParallelism = callers }, t =>
        {
            for (int i = 0; i < calls; i++) pool.Predict(new ModelInput { Image = Image(config, files, t * calls + i) });
        });
        Work(50);
        const int Calls = 150;
        var clock = Stopwatch.StartNew();
        Work(Calls);
        return callers * Calls / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Per-row time of the zip's transforms before its ONNX model (resize and pixel extraction), read through a cursor
    /// over the last column they add (the better of two passes); null when the zip has no such prefix.
    /// </summary>
    private static double? MeasurePreprocessing(MLContext ml, ITransformer model, ViTConfig config, List<byte[]> files, int count)
    {
        var flat = ImagePreprocessing.Flatten(model).ToList();
        int onnxAt = flat.FindIndex(t => t is Microsoft.ML.Transforms.Onnx.OnnxTransformer);
        if (onnxAt <= 0) return null;
        var prefix = new TransformerChain<ITransformer>(flat.Take(onnxAt).ToArray());
        double best = double.MaxValue;
        for (int pass = 0; pass < 2; pass++) // the first pass also warms up the JIT; the better pass is kept
        {
            var rows = Enumerable.Range(0, count).Select(i => new ModelInput { Image = Image(config, files, i) });
            var output = prefix.Transform(ml.Data.LoadFromEnumerable(rows));
            var last = output.Schema[output.Schema.Count - 1];
            if (last.Type is not VectorDataViewType { ItemType: NumberDataViewType n } || n != NumberDataViewType.Single) return null;
            var clock = Stopwatch.StartNew();
            long seen = ReadAll(output, last, [last]);
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds * 1000 / seen);
        }
        return best;
    }

    /// <summary>
    /// ONNX Runtime's rate on one 2048×2048 by 2048×2048 product (default session options, as ML.NET's
    /// <c>OnnxTransformer</c> uses them; the best of a few runs): a float
    /// <c>MatMul</c>, or int8 as the int8 scoring graph runs its products (<c>DynamicQuantizeLinear → MatMulInteger</c>).
    /// </summary>
    internal static double OrtMatMulPeak(bool int8, int size = 2048)
    {
        var rng = new Random(1);
        var g = new OnnxGraphBuilder();
        g.Graph.Name = "matmul_peak";
        var raw = new byte[size * size * (int8 ? 1 : sizeof(float))];
        if (int8)
        {
            rng.NextBytes(raw);
            g.Int8s("w", System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(raw), size, size);
            g.Nodes("DynamicQuantizeLinear", ["x"], ["xq", "xq_scale", "xq_zero"]);
            g.Node("MatMulInteger", ["xq", "w", "xq_zero"], "yi");
            g.Node("Cast", ["yi"], "y", OnnxGraphBuilder.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Float));
        }
        else
        {
            var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw.AsSpan());
            for (int i = 0; i < floats.Length; i++) floats[i] = (float)rng.NextDouble() - 0.5f;
            g.Floats("w", floats, size, size);
            g.Node("MatMul", ["x", "w"], "y");
        }
        // [batch, size] in and out: the rows are the batch, size of them at run time.
        g.Graph.Input.Add(OnnxGraphBuilder.Value("x", global::Onnx.TensorProto.Types.DataType.Float, size));
        g.Graph.Output.Add(OnnxGraphBuilder.Value("y", global::Onnx.TensorProto.Types.DataType.Float, size));
        var proto = new global::Onnx.ModelProto { IrVersion = 8, Graph = g.Graph };
        proto.OpsetImport.Add(new global::Onnx.OperatorSetIdProto { Domain = "", Version = 17 });
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(proto));
        var x = new float[size * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() - 0.5f;
        var inputs = new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [size, size])) };
        using (session.Run(inputs)) { }
        double seconds = BenchTiming.BestSecondsPerCall(() => { using (session.Run(inputs)) { } }, chunks: 5, callsPerChunk: 1);
        return 2.0 * size * size * size / seconds / 1e9;
    }

    private static (double Batch64PerSecond, double Batch1Milliseconds) MeasureOrt(
        ViTConfig config, ViTOnnxModel onnx, ViTOnnxWeightPrecision precision, int count, Random rng)
    {
        // The zip's own test-time averaging, if it has it, so the direct figures are the floor under the zip's.
        var export = new ViTOnnxExportOptions
        {
            WeightPrecision = precision,
            FlipAverage = onnx.ExportOptions?.FlipAverage ?? false,
            ShiftAverage = onnx.ExportOptions?.ShiftAverage ?? false,
        };
        var graph = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(config, onnx.Weights, onnx.ClassNames, export));
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
        double one = BestMeanMilliseconds(() => Run(1), 200);
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

    private static void FitSeedZip(MLContext ml, string path, ViTOnnxWeightPrecision precision = ViTOnnxWeightPrecision.Float32)
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
        var model = VisionTransformerPipeline.Create(ml, 3, 32, 32, options).Fit(keyed);
        ml.Model.Save(model, null, path);
    }
}
