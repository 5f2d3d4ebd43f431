using System.CommandLine;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VitMlNet.Onnx;

namespace VitMlNet.Cli;

/// <summary>
/// <c>vit export-onnx model.zip model.onnx</c> (or <c>-o model.onnx</c>): rewrites the ONNX graph embedded in a model zip as a standalone model
/// for any ONNX runtime: input <c>pixels</c> float [N, C, H, W] with raw 0..255 values, outputs <c>logits</c> and
/// <c>probabilities</c> [N, classes]; class names and architecture in the metadata. The result is checked with ONNX Runtime.
/// </summary>
internal static class ExportOnnxCommand
{
    public static Command Build(CliContext context)
    {
        var model = new Argument<string>("model.zip") { Description = "Model zip written by 'vit train'" };
        // The output is positional (`vit export-onnx model.zip model.onnx`) or, as in the dotnet CLI, -o|--output.
        var output = new Argument<string?>("model.onnx") { Description = "The .onnx file to write (or -o FILE)", Arity = ArgumentArity.ZeroOrOne };
        var outputOption = CliOptions.Output("FILE", "The .onnx file to write (instead of the second argument)", required: false);
        var int8 = new Option<bool>("--int8") { Description = "Quantize the encoder's Linear weights to int8 (dynamic quantization; faster on CPU), and a ResNet18 stem's convolutions when the zip was trained with --int8 (static, calibrated)" };
        var flip = new Option<bool>("--flip-average") { Description = "Score each image with its left-right mirror and average the two logits (twice the work)" };
        var shift = new Option<bool>("--shift-average") { Description = "Also score each image moved by one pixel up, down, left and right and average the views (5x the work)" };
        var heads = CheckpointCli.HeadsOption();
        var mean = CheckpointCli.MeanOption();
        var std = CheckpointCli.StdOption();
        var command = new Command("export-onnx", "Write a model zip's (or a pretrained checkpoint's) network as a standalone ONNX model (input pixels [N,C,H,W], outputs logits, probabilities).")
        {
            model, output, outputOption, int8, flip, shift, heads, mean, std,
        };
        command.Validators.Add(result =>
        {
            bool positional = result.GetValue(output) is not null, option = result.GetResult(outputOption) is { Implicit: false };
            if (positional == option) result.AddError(positional ? "give the .onnx file once: as the second argument or with -o, not both" : "name the .onnx file to write: vit export-onnx model.zip model.onnx (or -o model.onnx)");
        });
        command.SetAction(parse => Guard.Run("export-onnx", context.Error, () => Run(parse.GetValue(model)!, (parse.GetValue(output) ?? parse.GetValue(outputOption))!, context, parse.GetValue(int8), parse.GetValue(flip), parse.GetValue(shift), parse.GetValue(heads),
            CheckpointCli.ParseChannels(parse.GetValue(mean), "--mean", positive: false), CheckpointCli.ParseChannels(parse.GetValue(std), "--std", positive: true))));
        return command;
    }

    public static int Run(string modelPath, string outputPath, CliContext context, bool int8 = false, bool flipAverage = false, bool shiftAverage = false, int? heads = null,
        IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        OutputChecks.CheckNotInput(outputPath, "output", (modelPath, "model"));
        OutputChecks.CheckFile(outputPath, "output");
        // A pretrained checkpoint exports with its family's mean/std inside the graph (raw 0..255 pixels in).
        // What the import assumes (heads, mean/std, ...) is printed with the flag that overrides it.
        var source = CheckpointCli.ReadModel(modelPath, heads, context.Error, mean, std);
        var options = new ViTOnnxExportOptions
        {
            PixelScale = source.ExportOptions?.PixelScale ?? 1f / 255f,
            WeightPrecision = int8 ? ViTOnnxWeightPrecision.DynamicInt8 : ViTOnnxWeightPrecision.Float32,
            FlipAverage = flipAverage,
            ShiftAverage = shiftAverage,
            // A zip trained with --int8 carries its ResNet18 stem's calibrated activation ranges: the stem is int8 too.
            StemActivationRanges = int8 ? source.ExportOptions?.StemActivationRanges : null,
        };
        var proto = ViTOnnxWriter.Build(source.Config, source.Weights, source.ClassNames, options);
        var c = source.Config;
        // Checked in ONNX Runtime as a temporary file; only a model that passes replaces the output (atomically).
        VitMlNet.IO.AtomicFile.Write(outputPath, stream => ViTOnnxWriter.Write(proto, stream), temp => Verify(temp, options, c));
        var inv = CultureInfo.InvariantCulture;
        bool int8Stem = int8 && options.StemActivationRanges is not null && c.Stem == Modeling.ViTStem.ResNet18;
        if (int8 && !int8Stem && c.Stem == Modeling.ViTStem.ResNet18)
            context.Error.WriteLine("the ResNet18 stem stays float: the zip holds no calibrated activation ranges (train with --int8 to quantize the stem too)");
        context.Out.WriteLine($"wrote {outputPath} ({new FileInfo(outputPath).Length / 1024.0:F0} KiB, {(int8Stem ? "int8 ResNet18 stem and encoder weights" : int8 ? "int8 encoder weights" : "float32")}{(flipAverage ? ", flip averaging" : "")}{(shiftAverage ? ", shift averaging" : "")}), checked with ONNX Runtime");
        context.Out.WriteLine(string.Format(inv, "input  {0}: float [N, {1}, {2}, {3}], raw pixel values (x {4:G6} inside the graph, then mean/std)",
            options.InputName, c.Channels, c.ImageHeight, c.ImageWidth, options.PixelScale));
        context.Out.WriteLine($"output {options.LogitsOutputName}, {options.ProbabilitiesOutputName}: float [N, {c.NumClasses}]");
        context.Out.WriteLine($"classes: {string.Join(", ", source.ClassNames)}");
        return ExitCodes.Ok;
    }

    /// <summary>Loads the file in ONNX Runtime, checks the input and output names and shapes, and scores one blank image.</summary>
    private static void Verify(string path, ViTOnnxExportOptions options, Modeling.ViTConfig c)
    {
        using var session = new InferenceSession(path);
        if (!session.InputMetadata.TryGetValue(options.InputName, out var input)
            || !input.Dimensions.Skip(1).SequenceEqual(new[] { c.Channels, c.ImageHeight, c.ImageWidth }))
        {
            throw new InvalidOperationException($"the exported model's input is not '{options.InputName}' [N, {c.Channels}, {c.ImageHeight}, {c.ImageWidth}].");
        }

        var pixels = new DenseTensor<float>(new[] { 1, c.Channels, c.ImageHeight, c.ImageWidth });
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(options.InputName, pixels) });
        var probabilities = results.Single(r => r.Name == options.ProbabilitiesOutputName).AsEnumerable<float>().ToArray();
        if (probabilities.Length != c.NumClasses || probabilities.Any(p => !float.IsFinite(p)) || Math.Abs(probabilities.Sum() - 1) > 1e-3)
        {
            throw new InvalidOperationException("ONNX Runtime loads the exported model but its probabilities are not a distribution over the classes.");
        }
    }
}
