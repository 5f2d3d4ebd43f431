using System.CommandLine;
using SkiaSharp;
using VitMlNet.Data;

namespace VitMlNet.Cli;

/// <summary>
/// <c>vit export-images --data SPEC --count N -o DIR</c>: writes the first N images of a dataset as PNG files
/// named <c>index-class.png</c> (e.g. Fashion-MNIST test images to try <c>vit predict</c> on).
/// </summary>
internal static class ExportImagesCommand
{
    public static Command Build(CliContext context)
    {
        var data = new Option<string>("--data") { HelpName = "SPEC", Description = "Dataset: " + DataSpec.Syntax, Required = true };
        var count = new Option<int>("--count") { HelpName = "N", Description = "How many images, from the first", DefaultValueFactory = _ => 10 };
        var output = CliOptions.Output("DIR", "Folder to write the PNG files into");
        var size = new Option<int?>("--image-size") { HelpName = "N", Description = "Square size for image folders and lists (default: 32; IDX and CIFAR keep their own)" };
        var command = new Command("export-images", "Write the first images of a dataset as PNG files.") { data, output, count, size };
        command.SetAction(parse => Guard.Run("export-images", context.Error, () => Run(parse.GetValue(data)!, parse.GetValue(count), parse.GetValue(output)!, parse.GetValue(size), context)));
        return command;
    }

    public static int Run(string spec, int count, string folder, int? size, CliContext context)
    {
        if (count <= 0) throw new UsageException($"--count must be positive (got {count}).");
        OutputChecks.CheckFolder(folder, "--output");
        OutputChecks.CheckNotInput(folder, "--output", (spec, "--data"));
        OutputChecks.CheckOutsideInputs(folder, "--output", (spec, "--data"));
        var parsed = DataSpec.Parse(spec);
        int? side = size ?? (parsed.HasNativeSize ? null : 32);
        var dataset = parsed.LoadDataset(side, side).Take(count);
        Directory.CreateDirectory(folder);
        for (int i = 0; i < dataset.Count; i++)
        {
            string name = string.Concat(dataset.ClassNames[dataset.Labels[i]].Split(Path.GetInvalidFileNameChars().Append('/').Append(' ').ToArray()));
            string path = Path.Combine(folder, $"{i:D4}-{name}.png");
            WritePng(path, dataset.GetPixels(i), dataset.Channels, dataset.Height, dataset.Width);
            context.Out.WriteLine(path);
        }
        return ExitCodes.Ok;
    }

    /// <summary>Writes planar gray or RGB pixels as a PNG.</summary>
    public static void WritePng(string path, ReadOnlySpan<byte> pixels, int channels, int height, int width)
    {
        using var bitmap = Reporting.ChartImages.Render(pixels.ToArray(), channels, width, height, width, height);
        using var image = SKImage.FromBitmap(bitmap);
        using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
        VitMlNet.IO.AtomicFile.Write(path, stream => encoded.SaveTo(stream));
    }
}
