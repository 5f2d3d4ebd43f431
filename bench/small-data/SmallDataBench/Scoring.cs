using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace VitMlNet.Bench.SmallData;

/// <summary>
/// Photo scoring speed (bench/compare-photo-scoring.sh): VitMlNet photo zips (made by <c>vit train</c>) against ML.NET's
/// pretrained-ResNet18 pipeline (<see cref="ResNetPipeline"/>, fitted here on the same training photos), each loaded
/// from its zip with <c>Model.Load</c> and scored two ways, the ways an app scores:
/// <list type="bullet">
/// <item>PredictionEngine latency: one photo (an <see cref="MLImage"/> at the photo's own size) in, the label out;
/// every call timed on its own, the median (and 90th percentile) of <c>--calls</c> calls after 20 warm-up calls.</item>
/// <item>Batch throughput: <c>Transform</c> over an IDataView of the <c>--images</c> scoring photos, every row's
/// PredictedLabel read through a cursor; the better of two passes after a first pass (which pays for the JIT).</item>
/// </list>
/// Photos are decoded once into RGBA pixels; each call gets a fresh <see cref="MLImage"/> of them (ML.NET disposes what it
/// consumes), made outside the timed region, so JPEG decoding is not timed for either pipeline. The zips are measured in
/// turn, round after round (<c>--rounds</c>), so a change of machine load hits each of them; each figure is its best round.
/// Every pipeline's accuracy on the scoring photos (from the Transform pass) is printed beside, as a check that each model
/// learned.
///   SmallDataBench --scoring TRAIN_DIR SCORE_DIR --zips NAME=ZIP[,NAME=ZIP] [--images 300] [--calls 200] [--rounds 2] [--peer-zip OUT.zip]
/// </summary>
internal static class Scoring
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        string? Flag(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
        var positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal)) { if (args[i] != "--scoring") i++; }
            else positional.Add(args[i]);
        }
        if (positional.Count != 2) throw new ArgumentException("usage: SmallDataBench --scoring TRAIN_DIR SCORE_DIR --zips NAME=ZIP[,NAME=ZIP] [--images N] [--calls N] [--rounds N]");
        int images = int.Parse(Flag("--images") ?? "300", Inv), calls = int.Parse(Flag("--calls") ?? "200", Inv), rounds = int.Parse(Flag("--rounds") ?? "2", Inv);
        var zips = (Flag("--zips") ?? throw new ArgumentException("--zips NAME=ZIP[,NAME=ZIP] is required"))
            .Split(',').Select(z => z.Split('=', 2)).Select(p => (Name: p[0], Zip: p[1])).ToList();

        var train = Photo.Folder(positional[0]);
        var score = Photo.Folder(positional[1]).Take(images).ToList();
        var classes = train.Select(p => p.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        Console.WriteLine($"training photos {train.Count} ({classes.Length} classes) in {positional[0]}; scoring photos {score.Count} of {positional[1]}; {calls} PredictionEngine calls, {rounds} rounds");

        // The peer, fitted on the same training photos (decoded at their own size, as the protocol does).
        var ml = new MLContext(seed: 1);
        var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new LabelRow { Label = c }));
        var rows = train.Select(p => new TrainRow { Image = Views.Load(p.Path), Label = p.Label }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(view).Transform(view);
        var clock = Stopwatch.StartNew();
        var peer = ResNetPipeline.Estimator(ml).Fit(keyed);
        double peerFit = clock.Elapsed.TotalSeconds;
        string peerZip = Flag("--peer-zip") ?? Path.Combine(Path.GetTempPath(), $"peer-{Guid.NewGuid():N}.zip");
        ml.Model.Save(peer, null, peerZip);
        foreach (var r in rows) r.Image.Dispose();
        Console.WriteLine(string.Format(Inv, "ml.net resnet18 + lbfgs-maxent fitted on the training photos in {0:F1} s", peerFit));
        zips.Insert(0, ("ml.net resnet18 + lbfgs-maxent", peerZip));

        var pixels = score.Select(p => Decode(p.Path)).ToList();
        var results = zips.ToDictionary(z => z.Name, _ => new List<Figures>());
        for (int round = 1; round <= rounds; round++)
        {
            foreach (var (name, zip) in zips)
            {
                var f = Measure(zip, score, pixels, calls);
                results[name].Add(f);
                Console.WriteLine(string.Format(Inv, "round {0}: {1}: PredictionEngine median {2:F2} ms (p90 {3:F2}), Transform {4:F1} photos/s (first pass {5:F1}), accuracy {6:F1} % (load {7:F1})",
                    round, name, f.MedianMs, f.P90Ms, f.PerSecond, f.FirstPassPerSecond, f.Accuracy * 100, Load()));
            }
        }
        if (Flag("--peer-zip") is null) File.Delete(peerZip);

        var peerBest = Best(results[zips[0].Name]);
        Console.WriteLine();
        Console.WriteLine($"best of {rounds} rounds, {score.Count} photos, {Environment.ProcessorCount} cores; ratios against ML.NET's ResNet18 pipeline measured in the same run");
        Console.WriteLine("| pipeline | zip MB | PredictionEngine median ms (p90) | ÷ peer | Transform photos/s | × peer | accuracy on the scoring photos % |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, zip) in zips)
        {
            var b = Best(results[name]);
            Console.WriteLine(string.Format(Inv, "| {0} | {1:F1} | {2:F2} ({3:F2}) | {4:F2}× | {5:F1} | {6:F2}× | {7:F1} |",
                name, new FileInfo(zip).Exists ? new FileInfo(zip).Length / 1e6 : double.NaN, b.MedianMs, b.P90Ms, b.MedianMs / peerBest.MedianMs, b.PerSecond, b.PerSecond / peerBest.PerSecond, b.Accuracy * 100));
        }
        return 0;
    }

    private sealed record Figures(double MedianMs, double P90Ms, double FirstPassPerSecond, double PerSecond, double Accuracy);

    private static Figures Best(List<Figures> rounds) => new(rounds.Min(f => f.MedianMs), rounds.Min(f => f.P90Ms),
        rounds.Max(f => f.FirstPassPerSecond), rounds.Max(f => f.PerSecond), rounds[^1].Accuracy);

    private sealed record Pixels(int Width, int Height, byte[] Rgba);

    private static Pixels Decode(string path)
    {
        using var decoded = SKBitmap.Decode(path) ?? throw new InvalidDataException($"cannot decode {path}");
        using var rgba = decoded.Copy(SKColorType.Rgba8888) ?? throw new InvalidDataException($"cannot convert {path} to RGBA");
        return new Pixels(rgba.Width, rgba.Height, rgba.Bytes);
    }

    private static MLImage Image(Pixels p) => MLImage.CreateFromPixels(p.Width, p.Height, MLPixelFormat.Rgba32, p.Rgba);

    private static Figures Measure(string zip, List<Photo> photos, List<Pixels> pixels, int calls)
    {
        var ml = new MLContext();
        var model = ml.Model.Load(zip, out _);
        try
        {
            using var engine = ml.Model.CreatePredictionEngine<ConsumerInput, ConsumerOutput>(model);
            for (int i = 0; i < 20; i++) engine.Predict(new ConsumerInput { Image = Image(pixels[i % pixels.Count]) });
            var ms = new double[calls];
            for (int i = 0; i < calls; i++)
            {
                var input = new ConsumerInput { Image = Image(pixels[i % pixels.Count]) };
                long start = Stopwatch.GetTimestamp();
                engine.Predict(input);
                ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(ms);

            (double PerSecond, double Accuracy) Pass()
            {
                var rows = pixels.Select(p => new ConsumerInput { Image = Image(p) }).ToList();
                var view = ml.Data.LoadFromEnumerable(rows);
                var clock = Stopwatch.StartNew();
                var predicted = model.Transform(view).GetColumn<string>("PredictedLabel").ToArray();
                double perSecond = predicted.Length / clock.Elapsed.TotalSeconds;
                return (perSecond, predicted.Zip(photos).Count(p => p.First == p.Second.Label) / (double)photos.Count);
            }
            var first = Pass();
            var steady = new[] { Pass(), Pass() }.MaxBy(p => p.PerSecond);
            return new Figures(ms[calls / 2], ms[(int)(calls * 0.9)], first.PerSecond, steady.PerSecond, steady.Accuracy);
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }

    private static double Load()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], Inv); }
        catch (IOException) { return double.NaN; }
    }
}
