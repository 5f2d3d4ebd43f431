using System.CommandLine;
using Microsoft.ML;
using VitMlNet.Data;

namespace VitMlNet.Cli;

/// <summary><c>vit evaluate model.zip --data SPEC</c>: ML.NET's multiclass metrics of a model zip on labelled images.</summary>
internal static class EvaluateCommand
{
    public static Command Build(CliContext context)
    {
        var model = new Argument<string>("model.zip") { Description = "Model zip written by 'vit train'" };
        var data = new Option<string>("--data") { HelpName = "SPEC", Description = "Labelled images: " + DataSpec.Syntax, Required = true };
        var report = new Option<string?>("--report") { HelpName = "DIR", Description = "Folder for the report (metrics.json, charts)" };
        var json = new Option<bool>("--json") { Description = "Print the metrics as one JSON object" };
        var skip = new Option<bool>("--skip-bad-images") { Description = "Leave unreadable image files out (listed on stderr) instead of failing" };
        var verbosity = CliOptions.VerbosityOption();
        var command = new Command("evaluate", "Accuracy, log-loss, per-class precision/recall and the confusion matrix of a model zip on labelled images.")
        {
            model, data, report, json, skip, verbosity,
        };
        command.SetAction(parse => Guard.Run("evaluate", context.Error, () =>
            Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(report), parse.GetValue(json), parse.GetValue(skip),
                context with { Verbosity = parse.GetValue(verbosity) }), trace: parse.GetValue(verbosity) >= Verbosity.Diagnostic));
        return command;
    }

    public static int Run(string modelPath, string dataSpec, string? report, bool json, bool skipBadImages, CliContext context)
    {
        if (report is not null) OutputChecks.CheckFolder(report, "--report");
        OutputChecks.CheckNotInput(report, "--report", (modelPath, "model"), (dataSpec, "--data"));
        OutputChecks.CheckOutsideInputs(report, "--report", (dataSpec, "--data"));
        var spec = DataSpec.Parse(dataSpec);
        var ml = new MLContext(0);
        // One read of the zip for the graph and ML.NET; disposing the model deletes ML.NET's temporary copy of the graph.
        var model = ModelZipFile.Load(ml, modelPath, out _, out var onnx);
        using var disposeModel = model as IDisposable;
        var classes = ModelZipFile.SlotNames(model.GetOutputSchema(ModelZipFile.InputSchema()), "Score");
        var config = onnx.Config;
        var data = spec.Open(skipBadImages);
        TrainCommand.WarnSkipped(data, context.Error);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = ModelEvaluator.Evaluate(ml, model, data, classes);
        // -v detailed: what was scored and how long it took (stderr with --json); the metrics are the result.
        context.Log(Verbosity.Detailed, json).WriteLine(FormattableString.Invariant(
            $"scored {result.Count} images of {dataSpec} with {modelPath} ({onnx.ClassNames.Count} classes, preset {config.Name}) in {clock.Elapsed.TotalSeconds:F1} s"));
        if (report is not null)
        {
            ReportWriter.Write(report, ReportData.Create("evaluate", modelPath, dataSpec, classes, null, result, ReportData.FirstImagesAsModelSees(model, data, config)));
        }

        if (json)
        {
            context.Out.WriteLine(CliJson.Serialize(result.ToJson()));
        }
        else
        {
            result.Print(context.Out);
            if (report is not null) context.Log(Verbosity.Minimal).WriteLine($"report: {report}");
        }

        return ExitCodes.Ok;
    }
}
