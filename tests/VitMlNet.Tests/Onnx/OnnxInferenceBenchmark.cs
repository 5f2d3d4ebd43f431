using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using Xunit.Abstractions;
using static VitMlNet.Tests.Onnx.OnnxTestSupport;

namespace VitMlNet.Tests.Onnx;

/// <summary>
/// ONNX Runtime inference speed of the Seed preset with 2 threads, against TorchSharp in the same run.
/// Runs only with VITMLNET_BENCH=1 (it takes ~30 s); otherwise it returns at once.
/// </summary>
public class OnnxInferenceBenchmark(ITestOutputHelper output)
{
    [Fact]
    public void SeedPresetThroughput()
    {
        if (Environment.GetEnvironmentVariable("VITMLNET_BENCH") != "1") return;
        const int threads = 2;
        var config = ViTConfig.Seed;
        using var model = RandomModel(config, seed: 1);
        var pixels64 = RandomPixels(config, 64, seed: 2);
        var pixels1 = pixels64.AsSpan(0, config.Channels * config.ImageHeight * config.ImageWidth).ToArray();
        long[] shape64 = [64, config.Channels, config.ImageHeight, config.ImageWidth], shape1 = [1, .. shape64[1..]];

        foreach (var (label, prefixOnly) in new[] { ("plain graph", false), ("prefix-only last block", true) })
        {
            var options = new ViTOnnxExportOptions { ProbabilitiesOutputName = null, PrefixOnlyLastBlock = prefixOnly };
            var onnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model, null, options));
            var optimizedPath = Path.Combine(Path.GetTempPath(), $"vitmlnet-opt-{Guid.NewGuid():N}.onnx");
            using (var sessionOptions = new SessionOptions
                   {
                       IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                       GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimizedPath,
                   })
            using (var session = new InferenceSession(onnx, sessionOptions))
            {
                var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath)).Graph.Node
                    .GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}×{g.Count()}");
                File.Delete(optimizedPath);
                output.WriteLine($"[{label}] {onnx.Length / 1024} KiB; ops after ORT optimization: {string.Join(" ", ops)}");
                var (best64, median64) = Time(() => Run(session, "pixels", pixels64, shape64), 4.0);
                var (best1, median1) = Time(() => Run(session, "pixels", pixels1, shape1), 3.0);
                output.WriteLine($"[{label}] ORT {threads} threads: batch 64 {64 / best64:F0} img/s (median {64 / median64:F0}); " +
                                 $"batch 1 {best1 * 1e3:F3} ms (median {median1 * 1e3:F3})");
            }
            using (var sessionOptions = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL })
            using (var session = new InferenceSession(onnx, sessionOptions))
            {
                double cpu64 = CpuSeconds(() => Run(session, "pixels", pixels64, shape64), 10) / 64;
                double cpu1 = CpuSeconds(() => Run(session, "pixels", pixels1, shape1), 100);
                output.WriteLine($"[{label}] ORT 1 thread, process CPU time: batch 64 {cpu64 * 1e3:F3} ms/img; batch 1 {cpu1 * 1e3:F3} ms/img");
            }
        }

        // ML.NET's own path: ApplyOnnxModel runs one row per ONNX Runtime call, so batch-1 speed is what it gets.
        var flatOnnx = ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model, null,
            new ViTOnnxExportOptions { InputLayout = ViTOnnxInputLayout.Flat, InputName = "Pixels", LogitsOutputName = null }));
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 64).Select(i => new SeedRow { Pixels = pixels64.AsSpan(i * pixels1.Length, pixels1.Length).ToArray() }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var scorer = ml.Transforms.ApplyOnnxModel(["probabilities"], ["Pixels"], new MemoryStream(flatOnnx)).Fit(data);
        var (bestTransform, _) = Time(() => scorer.Transform(data).GetColumn<float[]>("probabilities").Count(), 3.0);
        output.WriteLine($"ML.NET Transform over 64 rows: {64 / bestTransform:F0} img/s");
        // Last: disposing the engine disposes the transformer's session (see MlNetOnnxTests).
        using (var engine = ml.Model.CreatePredictionEngine<SeedRow, SeedScore>(scorer))
        {
            var (bestEngine, medianEngine) = Time(() => engine.Predict(rows[0]), 3.0);
            output.WriteLine($"ML.NET PredictionEngine (ApplyOnnxModel, default threads): {bestEngine * 1e3:F3} ms/img (median {medianEngine * 1e3:F3})");
        }

        torch.set_num_threads(threads);
        var (torch64, torchMedian64) = Time(() => TorchLogits(model, pixels64, 64), 4.0);
        var (torch1, torchMedian1) = Time(() => TorchLogits(model, pixels1, 1), 3.0);
        output.WriteLine($"TorchSharp {threads} threads (eval, no_grad): batch 64 {64 / torch64:F0} img/s (median {64 / torchMedian64:F0}); " +
                         $"batch 1 {torch1 * 1e3:F3} ms (median {torchMedian1 * 1e3:F3})");
    }

    private sealed class SeedRow
    {
        [Microsoft.ML.Data.VectorType(3 * 32 * 32)]
        public float[] Pixels { get; set; } = [];
    }

    private sealed class SeedScore
    {
        [Microsoft.ML.Data.ColumnName("probabilities")]
        public float[] Probabilities { get; set; } = [];
    }

    /// <summary>Process CPU seconds per call (robust to other processes on shared CPUs), after warm-up.</summary>
    private static double CpuSeconds(Action action, int calls)
    {
        for (int i = 0; i < 3; i++) action();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var start = process.TotalProcessorTime;
        for (int i = 0; i < calls; i++) action();
        process.Refresh();
        return (process.TotalProcessorTime - start).TotalSeconds / calls;
    }

    /// <summary>
    /// Best and median seconds per call over repeated calls for about <paramref name="seconds"/>, after warm-up.
    /// The CPUs are shared, so the best is the estimate of uncontended speed.
    /// </summary>
    private static (double Best, double Median) Time(Action action, double seconds)
    {
        for (int i = 0; i < 3; i++) action();
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || samples.Count < 5)
        {
            var sw = Stopwatch.StartNew();
            action();
            samples.Add(sw.Elapsed.TotalSeconds);
        }
        samples.Sort();
        return (samples[0], samples[samples.Count / 2]);
    }
}
