using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Cli;

/// <summary>Figures of <c>vit bench</c>.</summary>
internal sealed record BenchResult(
    string Preset,
    long Parameters,
    int Batch,
    int Threads,
    double TrainImagesPerSecond,
    double InferImagesPerSecond,
    double InferBatch1Milliseconds,
    double MatmulGflops,
    double TrainGflopsPerSecond,
    double TrainPercentOfMatmulPeak,
    double NominalTrainGflopPerImage);

/// <summary>
/// Trains the chosen preset on random data (Adam, batch 64, as the PyTorch reference script does) and times
/// training steps, batch inference and batch-1 latency, plus the 2048² float matmul peak of this machine.
/// </summary>
internal static class BenchCommand
{
    public static Command Build(CliContext context)
    {
        var preset = new Option<string>("--preset") { Description = "Architecture preset", DefaultValueFactory = _ => "seed" };
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 20 };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: one per core)" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var bench = new Command("bench", "Time training and inference of a preset on random data.") { preset, batch, steps, threads, json };
        bench.SetAction(parse => Guard.Run("bench", context.Error, () =>
        {
            var r = Run(TrainCommand.CheckPreset(parse.GetValue(preset)!), parse.GetValue(batch), parse.GetValue(steps), parse.GetValue(threads));
            Print(r, parse.GetValue(json), context.Out);
            return ExitCodes.Ok;
        }));
        return bench;
    }

    public static BenchResult Run(string preset, int batch, int steps, int? threads)
    {
        if (threads is int t) torch.set_num_threads(t);
        VitMlNet.Training.NativeAllocator.Configure(); // as the training engine does
        var config = ViTConfig.FromPreset(preset);
        torch.manual_seed(0);
        using var model = new VisionTransformer(config);
        long parameters = model.parameters().Sum(p => p.numel());
        using var optimizer = torch.optim.Adam(model.parameters(), 3e-4);
        using var x = torch.randn(batch, config.Channels, config.ImageHeight, config.ImageWidth);
        using var y = torch.randint(0, config.NumClasses, new long[] { batch });

        void Step()
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = torch.nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            optimizer.step();
        }

        model.train();
        for (int i = 0; i < 3; i++) Step();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        double train = batch * steps / clock.Elapsed.TotalSeconds;

        model.eval();
        double infer, latency;
        using (torch.no_grad())
        {
            void Forward(Tensor input) { using var scope = torch.NewDisposeScope(); model.forward(input); }
            for (int i = 0; i < 3; i++) Forward(x);
            clock.Restart();
            for (int i = 0; i < steps; i++) Forward(x);
            infer = batch * steps / clock.Elapsed.TotalSeconds;
            using var x1 = x.narrow(0, 0, 1).contiguous();
            for (int i = 0; i < 5; i++) Forward(x1);
            clock.Restart();
            for (int i = 0; i < 200; i++) Forward(x1);
            latency = clock.Elapsed.TotalMilliseconds / 200;
        }
        double peak = MatmulGflops();
        double stepFlops = TrainFlopsPerImage(config) * train / 1e9;
        return new BenchResult(config.Name, parameters, batch, torch.get_num_threads(), train, infer, latency, peak, stepFlops, 100 * stepFlops / peak,
            NominalTrainFlopsPerImage(config) / 1e9);
    }

    /// <summary>GFLOP/s of a 2048×2048 float matmul, the best of a few runs.</summary>
    public static double MatmulGflops()
    {
        using var a = torch.randn(2048, 2048);
        using var b = torch.randn(2048, 2048);
        using (var warm = torch.matmul(a, b)) { }
        double best = 0;
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using (var c = torch.matmul(a, b)) { }
            best = Math.Max(best, 2.0 * 2048 * 2048 * 2048 / clock.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    /// <summary>
    /// Multiply-add FLOPs of one training step per image: 3× the forward (<see cref="ForwardFlopsPerImage"/>: forward
    /// and two backward matmuls), counting the work the model runs, so the rate it gives is real utilization, not the
    /// reference's nominal count (<see cref="NominalTrainFlopsPerImage"/>).
    /// </summary>
    public static double TrainFlopsPerImage(ViTConfig c) => 3 * ForwardFlopsPerImage(c);

    /// <summary>
    /// Multiply-add FLOPs of one forward pass per image, as training and the scoring graph run it: with class-token
    /// pooling the last block computes queries, attention rows, output projection and MLP for the prefix tokens only
    /// (keys and values still for every token). It counts the transformer's matrix products, patch embedding and
    /// head; a convolutional stem's work is not counted.
    /// </summary>
    public static double ForwardFlopsPerImage(ViTConfig c)
    {
        double n = c.NumPatches + c.NumPrefixTokens;
        double last = c.LastBlockPrefixOnly ? c.NumPrefixTokens : n;
        return (c.Depth - 1) * BlockFlops(c, n, n) + BlockFlops(c, n, last) + EmbeddingAndHeadFlops(c);
    }

    /// <summary>The same count with every block computing every token, as the PyTorch reference does.</summary>
    public static double NominalTrainFlopsPerImage(ViTConfig c)
    {
        double n = c.NumPatches + c.NumPrefixTokens;
        return 3 * (c.Depth * BlockFlops(c, n, n) + EmbeddingAndHeadFlops(c));
    }

    private static double BlockFlops(ViTConfig c, double tokens, double queries) =>
        2 * tokens * c.Dim * 2 * c.InnerDim                         // k and v projections
        + 2 * queries * c.Dim * c.InnerDim                          // q projection
        + 2 * 2 * queries * tokens * c.InnerDim                     // QKᵀ and AV
        + 2 * queries * c.InnerDim * c.Dim                          // out projection
        + 2 * 2 * queries * c.Dim * c.MlpHidden;                    // MLP

    private static double EmbeddingAndHeadFlops(ViTConfig c) => 2.0 * c.NumPatches * c.PatchDim * c.Dim + 2.0 * c.Dim * c.NumClasses;

    public static void Print(BenchResult r, bool json, TextWriter output)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                preset = r.Preset,
                parameters = r.Parameters,
                batch = r.Batch,
                threads = r.Threads,
                trainImagesPerSecond = Math.Round(r.TrainImagesPerSecond, 1),
                inferImagesPerSecond = Math.Round(r.InferImagesPerSecond, 1),
                inferBatch1Milliseconds = Math.Round(r.InferBatch1Milliseconds, 3),
                matmulGflops = Math.Round(r.MatmulGflops, 1),
                trainGflopsPerSecond = Math.Round(r.TrainGflopsPerSecond, 1),
                trainGflopPerImage = Math.Round(r.TrainGflopsPerSecond / r.TrainImagesPerSecond, 4),
                trainPercentOfMatmulPeak = Math.Round(r.TrainPercentOfMatmulPeak, 1),
                trainGflopPerImageNominal = Math.Round(r.NominalTrainGflopPerImage, 4),
            }));
            return;
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(inv, "preset {0}  parameters {1:N0}  batch {2}  threads {3}", r.Preset, r.Parameters, r.Batch, r.Threads));
        output.WriteLine(string.Format(inv, "train_img_per_s {0:F1} infer_b{1}_img_per_s {2:F1} infer_b1_ms {3:F2}", r.TrainImagesPerSecond, r.Batch, r.InferImagesPerSecond, r.InferBatch1Milliseconds));
        output.WriteLine(string.Format(inv, "matmul_2048_gflops {0:F1} train_gflops {1:F1} ({2:F0}% of matmul peak; {3:F3} GFLOP per image executed, {4:F3} in the reference's count)",
            r.MatmulGflops, r.TrainGflopsPerSecond, r.TrainPercentOfMatmulPeak, r.TrainGflopsPerSecond / r.TrainImagesPerSecond, r.NominalTrainGflopPerImage));
    }
}
