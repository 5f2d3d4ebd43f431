using System.CommandLine;
using VitMlNet.Cli;

var root = new RootCommand("vit: train, evaluate and run Vision Transformers in ML.NET model zips.");

var preset = new Option<string>("--preset") { Description = "Architecture preset", DefaultValueFactory = _ => "seed" };
var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => 64 };
var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 20 };
var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: one per core)" };
var json = new Option<bool>("--json") { Description = "Print JSON" };
var bench = new Command("bench", "Time training and inference of a preset on random data.") { preset, batch, steps, threads, json };
bench.SetAction(parse =>
{
    var r = BenchCommand.Run(parse.GetValue(preset)!, parse.GetValue(batch), parse.GetValue(steps), parse.GetValue(threads));
    BenchCommand.Print(r, parse.GetValue(json), Console.Out);
    return 0;
});
root.Subcommands.Add(bench);
return root.Parse(args).Invoke();
