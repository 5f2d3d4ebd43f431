using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Cli;

/// <summary>Figures of <c>vit bench</c>.</summary>
internal sealed record BenchResult(
    string Preset, long Parameters, int Batch, int Threads,
    double TrainImagesPerSecond, double InferImagesPerSecond, double InferBatch1Milliseconds,
    double MatmulGflops, double TrainGflopsPerSecond, double TrainPercentOfMatmulPeak, double NominalTrainGflopPerImage,
    double DenseGflops, double AttentionGflops, double AttentionFlopShare, double UtilizationBoundPercent);

/// <summary>
/// Trains the chosen preset on random data (Adam, batch 64, as the PyTorch reference script does) and times
/// training steps, batch inference and batch-1 latency, plus the 2048² float matmul peak of this machine. It also
/// times the model's two kinds of matrix products alone at its training shapes (forward + backward): the dense layers
/// and the attention's batched products. From their rates and their shares of the FLOPs it gives the utilization a
/// training step could reach if every element-wise operation (softmax, norms, GELU, dropout, optimizer) were free.
/// </summary>
internal static class BenchCommand
{
    public static Command Build(CliContext context)
    {
        var preset = new Option<string>("--preset") { HelpName = "NAME", Description = "Architecture preset", DefaultValueFactory = _ => "seed" };
        var batch = new Option<int>("--batch") { HelpName = "N", Description = "Batch size", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { HelpName = "N", Description = "Timed steps", DefaultValueFactory = _ => 20 };
        var threads = new Option<int?>("--threads") { HelpName = "N", Description = "libtorch threads (default: one per core)" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var bench = new Command("bench", "Time training and inference of a preset on random data.") { preset, batch, steps, threads, json };
        bench.SetAction(parse => Guard.Run("bench", context.Error, () =>
        {
            string name = TrainCommand.CheckPreset(parse.GetValue(preset)!, ViTConfig.PresetNames);
            var r = Run(name, parse.GetValue(batch), parse.GetValue(steps), parse.GetValue(threads));
            Print(r, parse.GetValue(json), context.Out);
            return ExitCodes.Ok;
        }));
        return bench;
    }

    public static BenchResult Run(string preset, int batch, int steps, int? threads)
    {
        if (threads is int t) torch.set_num_threads(t);
        VitMlNet.Training.NativeAllocator.Configure(); // as the training engine does
        double peakBefore = MatmulGflops();
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
        // The peak is measured before and after the timed work and the better taken: a shared machine has slow spells,
        // and a peak caught in one would inflate every percentage below.
        double peak = Math.Max(peakBefore, MatmulGflops());
        double stepFlops = TrainFlopsPerImage(config) * train / 1e9;
        var (dense, attention) = KernelRates(config, batch);
        double attentionShare = AttentionFlopsPerImage(config) / ForwardFlopsPerImage(config);
        double bound = 100 / ((1 - attentionShare) * peak / dense + attentionShare * peak / attention);
        return new BenchResult(config.Name, parameters, batch, torch.get_num_threads(), train, infer, latency, peak, stepFlops, 100 * stepFlops / peak,
            NominalTrainFlopsPerImage(config) / 1e9, dense, attention, attentionShare, bound);
    }

    /// <summary>
    /// GFLOP/s of the model's matrix products alone at its training shapes, forward + backward, each the best of three
    /// timed chunks: the encoder block's dense layers together (qkv, output projection, the two MLP layers, on
    /// batch × tokens rows) and the attention's batched products (QKᵀ and AV on [batch·heads, tokens, head dim], as
    /// training runs them, without the softmax between them). Gradients flow in from a dense random tensor.
    /// </summary>
    public static (double Dense, double Attention) KernelRates(ViTConfig c, int batch)
    {
        long n = c.NumPatches + c.NumPrefixTokens, rows = batch * n;
        double Best(Action pass)
        {
            for (int i = 0; i < 2; i++) pass();
            return BenchTiming.BestSecondsPerCall(pass, chunks: 3, callsPerChunk: 3);
        }
        double denseFlops = 0, denseSeconds = 0;
        foreach (var (inputs, outputs, bias) in new[] { (c.Dim, 3 * c.InnerDim, false), (c.InnerDim, c.Dim, true), (c.Dim, c.MlpHidden, true), (c.MlpHidden, c.Dim, true) })
        {
            using var layer = torch.nn.Linear(inputs, outputs, hasBias: bias);
            using var x = torch.randn(new long[] { rows, inputs }, requires_grad: true);
            using var grad = torch.randn(rows, outputs);
            denseSeconds += Best(() =>
            {
                using var scope = torch.NewDisposeScope();
                layer.forward(x).backward([grad]);
            });
            denseFlops += 3 * 2.0 * rows * inputs * outputs;
        }
        long bh = batch * c.Heads;
        using var q = torch.randn(new long[] { bh, n, c.DimHead }, requires_grad: true);
        using var k = torch.randn(new long[] { bh, n, c.DimHead }, requires_grad: true);
        using var v = torch.randn(new long[] { bh, n, c.DimHead }, requires_grad: true);
        using var outputGrad = torch.randn(bh, n, c.DimHead);
        double attentionSeconds = Best(() =>
        {
            using var scope = torch.NewDisposeScope();
            torch.bmm(torch.bmm(q, k.transpose(1, 2)), v).backward([outputGrad]);
        });
        double attentionFlops = 3 * 2 * 2.0 * bh * n * n * c.DimHead;
        return (denseFlops / denseSeconds / 1e9, attentionFlops / attentionSeconds / 1e9);
    }

    /// <summary>GFLOP/s of a 2048×2048 float matmul, the best of a few runs.</summary>
    public static double MatmulGflops()
    {
        using var a = torch.randn(2048, 2048);
        using var b = torch.randn(2048, 2048);
        using (var warm = torch.matmul(a, b)) { }
        double seconds = BenchTiming.BestSecondsPerCall(() => { using var c = torch.matmul(a, b); }, chunks: 5, callsPerChunk: 1);
        return 2.0 * 2048 * 2048 * 2048 / seconds / 1e9;
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
    public static double ForwardFlopsPerImage(ViTConfig c) => OverBlocks(c, BlockFlops) + EmbeddingAndHeadFlops(c);

    /// <summary>The attention's products (QKᵀ and AV) within <see cref="ForwardFlopsPerImage"/>; the rest are dense layers.</summary>
    public static double AttentionFlopsPerImage(ViTConfig c) => OverBlocks(c, AttentionFlops);

    /// <summary>
    /// <paramref name="block"/>(tokens, queries) summed over the encoder blocks as the model runs them: every token in
    /// each block but a <see cref="ViTConfig.LastBlockPrefixOnly"/> last block, which has the prefix tokens as queries.
    /// </summary>
    private static double OverBlocks(ViTConfig c, Func<ViTConfig, double, double, double> block)
    {
        double n = c.NumPatches + c.NumPrefixTokens;
        double last = c.LastBlockPrefixOnly ? c.NumPrefixTokens : n;
        return (c.Depth - 1) * block(c, n, n) + block(c, n, last);
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
        + AttentionFlops(c, tokens, queries)                        // QKᵀ and AV
        + 2 * queries * c.InnerDim * c.Dim                          // out projection
        + 2 * 2 * queries * c.Dim * c.MlpHidden;                    // MLP

    private static double AttentionFlops(ViTConfig c, double tokens, double queries) => 2 * 2 * queries * tokens * c.InnerDim;

    private static double EmbeddingAndHeadFlops(ViTConfig c) => (c.Stem == ViTStem.ResNet18 ? ResNetStemFlops(c) : 2.0 * c.NumPatches * c.PatchDim * c.Dim)
        + 2.0 * c.Dim * c.NumClasses;

    /// <summary>A ResNet18 stem's convolutions (conv1 at half the input size, stage s at 1/2^(s+1)) and its 1×1 projection.</summary>
    private static double ResNetStemFlops(ViTConfig c)
    {
        double total = 2.0 * c.NumPatches * ResNetStem.FeatureChannels(c) * c.Dim;
        foreach (var (name, inChannels, outChannels, kernel, _) in ResNetStem.Layout(c))
        {
            int stage = name.StartsWith("stem.backbone.layer", StringComparison.Ordinal) ? name["stem.backbone.layer".Length] - '0' : 0;
            double cells = (double)c.ImageHeight * c.ImageWidth / Math.Pow(4, stage + 1);
            total += 2.0 * cells * outChannels * inChannels * kernel * kernel;
        }
        return total;
    }

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
                denseGflops = Math.Round(r.DenseGflops, 3), // three decimals: a tiny model on a loaded machine runs well under 0.1 GFLOP/s
                attentionGflops = Math.Round(r.AttentionGflops, 3),
                attentionFlopShare = Math.Round(r.AttentionFlopShare, 4),
                utilizationBoundPercent = Math.Round(r.UtilizationBoundPercent, 1),
            }));
            return;
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(inv, "preset {0}  parameters {1:N0}  batch {2}  threads {3}", r.Preset, r.Parameters, r.Batch, r.Threads));
        output.WriteLine(string.Format(inv, "train_img_per_s {0:F1} infer_b{1}_img_per_s {2:F1} infer_b1_ms {3:F2}", r.TrainImagesPerSecond, r.Batch, r.InferImagesPerSecond, r.InferBatch1Milliseconds));
        output.WriteLine(string.Format(inv, "matmul_2048_gflops {0:F1} train_gflops {1:F1} ({2:F0}% of matmul peak; {3:F3} GFLOP per image executed, {4:F3} in the reference's count)",
            r.MatmulGflops, r.TrainGflopsPerSecond, r.TrainPercentOfMatmulPeak, r.TrainGflopsPerSecond / r.TrainImagesPerSecond, r.NominalTrainGflopPerImage));
        output.WriteLine(string.Format(inv, "dense_gflops {0:F1} ({1:F0}% of peak) attention_gflops {2:F1} ({3:F0}%), forward+backward at the training shapes; attention is {4:F1}% of the FLOPs, so a step whose element-wise work were free would reach at most {5:F0}% of the peak",
            r.DenseGflops, 100 * r.DenseGflops / r.MatmulGflops, r.AttentionGflops, 100 * r.AttentionGflops / r.MatmulGflops, 100 * r.AttentionFlopShare, r.UtilizationBoundPercent));
    }
}
