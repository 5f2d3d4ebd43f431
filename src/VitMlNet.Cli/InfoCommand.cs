using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using VitMlNet.Modeling;

namespace VitMlNet.Cli;

/// <summary><c>vit info model.zip</c>: the zip's input and output columns, classes, architecture and parameter count.</summary>
internal static class InfoCommand
{
    public static Command Build(CliContext context)
    {
        var model = new Argument<string>("model.zip") { Description = "Model zip written by 'vit train'" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var heads = CheckpointCli.HeadsOption();
        var mean = CheckpointCli.MeanOption();
        var std = CheckpointCli.StdOption();
        var command = new Command("info", "Show a model zip's (or a pretrained checkpoint's) columns, classes and architecture.") { model, json, heads, mean, std };
        command.SetAction(parse => Guard.Run("info", context.Error, () => CheckpointCli.IsCheckpoint(parse.GetValue(model)!)
            ? CheckpointCli.Info(parse.GetValue(model)!, parse.GetValue(heads), parse.GetValue(json), context,
                CheckpointCli.ParseChannels(parse.GetValue(mean), "--mean", positive: false), CheckpointCli.ParseChannels(parse.GetValue(std), "--std", positive: true))
            : Run(parse.GetValue(model)!, parse.GetValue(json), context)));
        return command;
    }

    public static int Run(string modelPath, bool json, CliContext context)
    {
        var ml = new MLContext(0);
        // One read of the zip for the graph and ML.NET; disposing the model deletes ML.NET's temporary copy of the graph.
        var model = ModelZipFile.Load(ml, modelPath, out var savedInput, out var onnx);
        using var disposeModel = model as IDisposable;
        var input = savedInput?.GetColumnOrNull(Data.ImagePreprocessing.ImageColumn) is null ? ModelZipFile.InputSchema() : savedInput;
        var output = model.GetOutputSchema(input);
        var inputs = input.Select(c => (c.Name, Type: c.Type.ToString())).ToList();
        var outputs = output.Where(c => !c.IsHidden).Select(c => (c.Name, Type: c.Type.ToString())).ToList();
        // Learned parameters only: the weights dictionary also carries BatchNorm running statistics.
        long parameters = onnx.Weights.Where(w => !w.Key.EndsWith(".running_mean", StringComparison.Ordinal) && !w.Key.EndsWith(".running_var", StringComparison.Ordinal))
            .Sum(w => (long)w.Value.Data.Length);
        bool flipAverage = onnx.ExportOptions?.FlipAverage ?? false;
        bool shiftAverage = onnx.ExportOptions?.ShiftAverage ?? false;
        float scale = onnx.ExportOptions?.PixelScale ?? 1f / 255f;

        if (json)
        {
            context.Out.WriteLine(CliJson.Serialize(new
            {
                model = Path.GetFullPath(modelPath),
                bytes = new FileInfo(modelPath).Length,
                input = inputs.Select(c => new { name = c.Name, type = c.Type }),
                output = outputs.Select(c => new { name = c.Name, type = c.Type }),
                classes = onnx.ClassNames,
                architecture = ArchitectureJson(onnx.Config),
                parameters,
                pixelScale = scale,
                flipAverage,
                shiftAverage,
            }));
            return ExitCodes.Ok;
        }

        var inv = CultureInfo.InvariantCulture;
        var c = onnx.Config;
        var o = context.Out;
        o.WriteLine($"model    {modelPath} ({new FileInfo(modelPath).Length / 1024.0:F0} KiB)");
        string[] results = ["PredictedLabel", "Score"];
        o.WriteLine("input    " + string.Join(", ", inputs.Select(x => $"{x.Name}: {x.Type}")) + $" (MLImage of any size, resized to {c.ImageWidth}x{c.ImageHeight})");
        o.WriteLine("output   " + string.Join(", ", outputs.Where(x => results.Contains(x.Name)).Select(x => $"{x.Name}: {x.Type}")));
        o.WriteLine("         (intermediate: " + string.Join(", ", outputs.Where(x => !results.Contains(x.Name)).Select(x => $"{x.Name}: {x.Type}")) + ")");
        o.WriteLine($"classes  {c.NumClasses}: {string.Join(", ", onnx.ClassNames)}");
        o.WriteLine(string.Format(inv, "network  ViT '{0}': {1}x{2}x{3} input, patch {4}, dim {5}, depth {6}, heads {7}x{8}, MLP ratio {9}, {10} pooling{11}",
            c.Name, c.Channels, c.ImageHeight, c.ImageWidth, c.PatchSize, c.Dim, c.Depth, c.Heads, c.DimHead, c.MlpRatio,
            c.Pooling.ToString().ToLowerInvariant(), c.DistillationToken ? ", distillation token" : "")
            + (c.Stem == ViTStem.Conv ? $", conv stem ({c.StemChannels} channels{(c.StemBatchNorm ? ", BatchNorm" : "")}{(c.StemConvsPerStage > 1 ? $", {c.StemConvsPerStage} convs per stage" : "")}{(c.StemAntiAlias ? ", anti-aliased" : "")})" : "")
            + (c.Stem == ViTStem.PatchConv ? ", convolutional patch embedding" : "") + (c.Stem == ViTStem.ResNet18 ? ", hybrid: ResNet18 stem" : "") + (c.QkvBias ? ", qkv bias" : "") + (c.FinalNorm ? ", final norm" : "")
            + (c.ConvFeedForward ? ", depthwise-conv feed-forward" : "")
            + (c.FeedForwardBatchNorm ? ", BatchNorm feed-forward" : "")
            + (c.LocalitySelfAttention ? ", locality self-attention" : "")
            + (flipAverage ? ", flip-averaged scoring" : "")
            + (shiftAverage ? ", shift-averaged scoring" : ""));
        o.WriteLine(string.Format(inv, "params   {0:N0}", parameters));
        o.WriteLine(string.Format(inv, "pixels   x {0:G6}, mean [{1}], std [{2}]", scale,
            string.Join(", ", c.Mean.Select(v => v.ToString("G4", inv))), string.Join(", ", c.Std.Select(v => v.ToString("G4", inv)))));
        return ExitCodes.Ok;
    }

    /// <summary>The architecture fields a user cares about, as JSON.</summary>
    public static object ArchitectureJson(ViTConfig c) => new
    {
        name = c.Name,
        channels = c.Channels,
        imageHeight = c.ImageHeight,
        imageWidth = c.ImageWidth,
        patchSize = c.PatchSize,
        dim = c.Dim,
        depth = c.Depth,
        heads = c.Heads,
        dimHead = c.DimHead,
        mlpRatio = c.MlpRatio,
        pooling = c.Pooling.ToString(),
        stem = c.Stem.ToString(),
        stemBatchNorm = c.StemBatchNorm,
        stemConvsPerStage = c.StemConvsPerStage,
        stemAntiAlias = c.StemAntiAlias,
        convFeedForward = c.ConvFeedForward,
        feedForwardBatchNorm = c.FeedForwardBatchNorm,
        localitySelfAttention = c.LocalitySelfAttention,
        distillationToken = c.DistillationToken,
        numClasses = c.NumClasses,
        mean = c.Mean,
        std = c.Std,
    };
}
