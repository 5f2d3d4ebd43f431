using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;

namespace VitMlNet.Bench.SmallData;

/// <summary>
/// The small-photo protocol: from each dataset's pool (make-pools.sh: POOLS/NAME/{pool,selection,test}/CLASS/*.jpg)
/// it draws K training sets of N photos a class from a seed, fits ML.NET's pretrained-ResNet18 pipeline and each
/// VitMlNet variant on every draw, scores every saved zip as a plain consumer on the fixed selection and test sets,
/// and prints mean ± standard deviation over the draws. Recipe choices are made on the selection means, never on test.
///   SmallDataBench --protocol POOLS OUT_DIR [--datasets flowers,ants-bees,scenes] [--n 10,30,100] [--draws 5] [--seed 1]
///                  [--variants vit-auto,...] [--no-peer] [--only-draws 4,5]
///   SmallDataBench --summary OUT_DIR/protocol.tsv[,OTHER/protocol.tsv]   (the table again, from every draw recorded so far)
/// Draw k of a class is the first N of the class's pool (ordinal file order) shuffled by a Random seeded from (seed, k,
/// class index), so the draws of N = 10, 30 and 100 are nested and a rerun draws the same photos. VitMlNet's own seed
/// is the draw's number (k), so the spread covers both the photos and the training's randomness.
/// Every draw is appended to OUT_DIR/protocol.tsv as it finishes and its photo list written to OUT_DIR/draws/.
/// </summary>
internal static class Protocol
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const string Peer = "ml.net resnet18 + lbfgs-maxent";

    public static int Run(string[] args)
    {
        string? Flag(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
        if (Flag("--summary") is string tsvs)
        {
            // One or more protocol.tsv files (comma-separated); a draw recorded twice counts once.
            Summarize(tsvs.Split(',').SelectMany(f => File.ReadAllLines(f).Skip(1)).Select(Record.Parse)
                .DistinctBy(r => (r.Dataset, r.N, r.Draw, r.Seed, r.Pipeline)).ToList());
            return 0;
        }
        var positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal)) { if (args[i] is not ("--protocol" or "--no-peer")) i++; }
            else positional.Add(args[i]);
        }
        string pools = positional.Count > 0 ? positional[0] : "out/small-data/pools";
        string outDir = positional.Count > 1 ? positional[1] : "out/small-data-protocol";
        var datasets = (Flag("--datasets") ?? "flowers,ants-bees").Split(',');
        var ns = (Flag("--n") ?? "30").Split(',').Select(s => int.Parse(s, Inv)).ToArray();
        int draws = int.Parse(Flag("--draws") ?? "5", Inv);
        // --only-draws 4,5: just these of the K draws (the same photos as in a full run), e.g. to run draws side by side.
        var only = Flag("--only-draws")?.Split(',').Select(s => int.Parse(s, Inv)).ToHashSet();
        int seed = int.Parse(Flag("--seed") ?? "1", Inv);
        var variants = (Flag("--variants") ?? "vit-auto").Split(',', StringSplitOptions.RemoveEmptyEntries);
        bool peer = !args.Contains("--no-peer");
        foreach (var v in variants)
            if (v.Contains("views", StringComparison.Ordinal) || v.Contains("teacher", StringComparison.Ordinal))
                throw new ArgumentException($"variant '{v}' needs the fixed-split bench's teacher labels or offline views; the protocol runs vit-auto and vit-auto-32 with knobs");
        Directory.CreateDirectory(Path.Combine(outDir, "draws"));
        string tsvPath = Path.Combine(outDir, "protocol.tsv");
        if (!File.Exists(tsvPath)) File.WriteAllText(tsvPath, Record.Header + "\n");

        var records = new List<Record>();
        foreach (var name in datasets)
        {
            string root = Path.Combine(pools, name);
            var pool = Photo.Folder(Path.Combine(root, "pool"));
            var selection = Photo.Folder(Path.Combine(root, "selection"));
            var test = Photo.Folder(Path.Combine(root, "test"));
            var classes = pool.Select(p => p.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
            var byClass = classes.Select(c => pool.Where(p => p.Label == c).ToList()).ToArray();
            Console.WriteLine($"== {name}: {classes.Length} classes; pool {string.Join(" / ", byClass.Select(b => b.Count))} a class, selection {selection.Count}, test {test.Count}");
            foreach (int n in ns)
            {
                if (byClass.Min(b => b.Count) < n) { Console.WriteLine($"   N = {n}: skipped, the pool holds only {byClass.Min(b => b.Count)} photos of a class"); continue; }
                for (int k = 1; k <= draws; k++)
                {
                    if (only is not null && !only.Contains(k)) continue;
                    var train = Draw(byClass, n, seed, k);
                    File.WriteAllLines(Path.Combine(outDir, "draws", $"{name}-seed{seed}-n{n}-draw{k}.txt"), train.Select(p => $"{p.Label}\t{p.Path}"));
                    var ml = new MLContext(seed: 1);
                    var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new LabelRow { Label = c }));
                    var rows = train.Select(p => new TrainRow { Image = Views.Load(p.Path), Label = p.Label }).ToList();
                    var view = ml.Data.LoadFromEnumerable(rows);
                    var data = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(view).Transform(view);
                    if (peer)
                    {
                        var (fit, zip) = Fit(ml, ResNetPipeline.Estimator(ml), data, outDir, $"{name}-n{n}-peer");
                        records.Add(Score(name, n, k, seed, Peer, zip, fit, train.Count, selection, test, "224x224, ResNet18 features once per photo"));
                    }
                    foreach (var variant in variants)
                    {
                        var options = Variants.Options(variant, train.Count, classes.Length, out int size);
                        if (!variant.Contains("+seed", StringComparison.Ordinal)) options.Seed = k;
                        var pipeline = ImagePreprocessing.Estimator(ml, 3, size, size)
                            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options))
                            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
                        string? floatZip = null;
                        var (fit, zip) = Fit(ml, pipeline, data, outDir, $"{name}-n{n}-{variant}",
                            options.ScoringPrecision == VitMlNet.Onnx.ViTOnnxWeightPrecision.Float32 ? null : model => floatZip = SaveFloat(ml, model, data, outDir, $"{name}-n{n}-{variant}-float"));
                        records.Add(Score(name, n, k, seed, "vitmlnet " + variant, zip, fit, train.Count, selection, test, Variants.Describe(options, train.Count, size)));
                        if (floatZip is not null)
                            records.Add(Score(name, n, k, seed, "vitmlnet " + variant + " (float zip, same fit)", floatZip, fit, train.Count, selection, test, Variants.Describe(options, train.Count, size)));
                    }
                    foreach (var r in rows) r.Image.Dispose();
                    File.AppendAllLines(tsvPath, records.Where(r => r.Dataset == name && r.N == n && r.Draw == k).Select(r => r.ToTsv()));
                }
            }
        }
        Summarize(records);
        return 0;
    }

    /// <summary>Draw <paramref name="draw"/>: per class the first <paramref name="n"/> of its pool shuffled from (seed, draw, class); nested in n.</summary>
    public static List<Photo> Draw(List<Photo>[] byClass, int n, int seed, int draw)
    {
        var train = new List<Photo>();
        for (int c = 0; c < byClass.Length; c++)
        {
            var list = byClass[c].OrderBy(p => p.Path, StringComparer.Ordinal).ToList();
            var random = new Random(unchecked(seed * 1_000_003 + draw * 7_919 + c));
            for (int i = list.Count - 1; i > 0; i--) { int j = random.Next(i + 1); (list[i], list[j]) = (list[j], list[i]); }
            train.AddRange(list.Take(n));
        }
        return train;
    }

    private static (double Seconds, string Zip) Fit(MLContext ml, IEstimator<ITransformer> estimator, IDataView data, string outDir, string name,
        Action<ITransformer>? alsoSave = null)
    {
        var clock = Stopwatch.StartNew();
        var model = estimator.Fit(data);
        double seconds = clock.Elapsed.TotalSeconds;
        string zip = Path.Combine(outDir, name + ".zip");
        ml.Model.Save(model, null, zip);
        alsoSave?.Invoke(model);
        (model as IDisposable)?.Dispose();
        return (seconds, zip);
    }

    /// <summary>The fitted pipeline with its ViT scoring in float32 (the same weights), saved as a second zip.</summary>
    private static string SaveFloat(MLContext ml, ITransformer model, IDataView data, string outDir, string name)
    {
        var parts = ((IEnumerable<ITransformer>)model).ToList();
        int at = parts.FindIndex(p => p is VisionTransformerTransformer);
        IDataView input = data;
        for (int i = 0; i < at; i++) input = parts[i].Transform(input);
        parts[at] = ((VisionTransformerTransformer)parts[at]).WithScoringPrecision(VitMlNet.Onnx.ViTOnnxWeightPrecision.Float32, input);
        string zip = Path.Combine(outDir, name + ".zip");
        ml.Model.Save(new TransformerChain<ITransformer>(parts.ToArray()), null, zip);
        return zip;
    }

    private static Record Score(string dataset, int n, int draw, int seed, string pipeline, string zip, double fit, int trainCount, List<Photo> selection, List<Photo> test, string note)
    {
        double load = Load();
        var acc = Consumer.Accuracies(zip, selection, test);
        File.Delete(zip);
        var r = new Record(dataset, n, draw, seed, pipeline, acc[1] * 100, acc[0] * 100, fit, trainCount, test.Count, selection.Count, load, note);
        Console.WriteLine(string.Format(Inv, "   {0} N={1} draw {2}: {3}: selection {4:F1} %, test {5:F1} %, fit {6:F1} s (load {7:F1}; {8})",
            dataset, n, draw, pipeline, r.Selection, r.Test, r.FitSeconds, load, note));
        return r;
    }

    private static double Load()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], Inv); }
        catch (IOException) { return double.NaN; }
    }

    /// <summary>Mean ± sample standard deviation over draws per dataset, N and pipeline, and VitMlNet − peer per draw.</summary>
    public static void Summarize(List<Record> records)
    {
        static string Ms(IEnumerable<double> xs)
        {
            var a = xs.ToArray();
            double mean = a.Average();
            double sd = a.Length > 1 ? Math.Sqrt(a.Sum(x => (x - mean) * (x - mean)) / (a.Length - 1)) : double.NaN;
            return string.Format(Inv, "{0:F1} ± {1:F1}", mean, sd);
        }
        Console.WriteLine();
        Console.WriteLine("| dataset | photos a class (N) | pipeline | draws | test % (mean ± sd) | selection % (mean ± sd) | fit s (mean ± sd) | fit ÷ peer |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var g in records.GroupBy(r => (r.Dataset, r.N, r.Pipeline)))
        {
            var peer = records.Where(r => r.Dataset == g.Key.Dataset && r.N == g.Key.N && r.Pipeline == Peer).ToDictionary(r => (r.Seed, r.Draw));
            var paired = g.Where(r => peer.ContainsKey((r.Seed, r.Draw))).ToList();
            string ratio = g.Key.Pipeline == Peer || paired.Count == 0 ? "1" : Ms(paired.Select(r => r.FitSeconds / peer[(r.Seed, r.Draw)].FitSeconds)) + "×";
            Console.WriteLine(string.Format(Inv, "| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} |", g.Key.Dataset, g.Key.N, g.Key.Pipeline, g.Count(),
                Ms(g.Select(r => r.Test)), Ms(g.Select(r => r.Selection)), Ms(g.Select(r => r.FitSeconds)), ratio));
            if (g.Key.Pipeline != Peer && paired.Count > 0)
                Console.WriteLine(string.Format(Inv, "| {0} | {1} | {2} − peer, same draw | {3} | {4} | {5} | | |", g.Key.Dataset, g.Key.N, g.Key.Pipeline, paired.Count,
                    Ms(paired.Select(r => r.Test - peer[(r.Seed, r.Draw)].Test)), Ms(paired.Select(r => r.Selection - peer[(r.Seed, r.Draw)].Selection))));
        }
    }

    /// <summary>One pipeline on one draw.</summary>
    public sealed record Record(string Dataset, int N, int Draw, int Seed, string Pipeline, double Test, double Selection, double FitSeconds,
        int TrainCount, int TestCount, int SelectionCount, double Load, string Note)
    {
        public const string Header = "dataset\tn\tdraw\tseed\tpipeline\ttest_pct\tselection_pct\tfit_s\ttrain\ttest\tselection\tload1\tutc\tnote";

        public string ToTsv() => string.Format(Inv, "{0}\t{1}\t{2}\t{3}\t{4}\t{5:F2}\t{6:F2}\t{7:F2}\t{8}\t{9}\t{10}\t{11:F2}\t{12:yyyy-MM-ddTHH:mm:ssZ}\t{13}",
            Dataset, N, Draw, Seed, Pipeline, Test, Selection, FitSeconds, TrainCount, TestCount, SelectionCount, Load, DateTime.UtcNow, Note);

        public static Record Parse(string line)
        {
            var f = line.Split('\t');
            return new Record(f[0], int.Parse(f[1], Inv), int.Parse(f[2], Inv), int.Parse(f[3], Inv), f[4], double.Parse(f[5], Inv), double.Parse(f[6], Inv),
                double.Parse(f[7], Inv), int.Parse(f[8], Inv), int.Parse(f[9], Inv), int.Parse(f[10], Inv), double.Parse(f[11], Inv), f[13]);
        }
    }
}
