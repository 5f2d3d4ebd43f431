using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using VitMlNet.Cli;

namespace VitMlNet.Tests.Cli;

/// <summary>The conventions of the dotnet CLI. <c>-o|--output</c> (with <c>--out</c> kept),
/// <c>-v|--verbosity</c>, the commands in workflow order, plain <c>vit</c> prints the usage, and every usage line names
/// the arguments as its Arguments section does.</summary>
public partial class CliTests
{
    private static readonly string[] Commands =
        ["train", "evaluate", "predict", "info", "export-onnx", "export-safetensors", "sweep", "export-images", "bench", "bench-scoring"];

    [Fact]
    public void PlainVitPrintsTheUsageOnStdoutAndExitsWithTheUsageCode()
    {
        // As `dotnet` alone: the usage on stdout, nothing on stderr, and a failing exit code (dotnet: 129; vit: 2, its
        // code for bad usage) so that a script that lost its arguments notices.
        var r = Vit.Run();
        Assert.True(r.Code == 2, r.ToString());
        Assert.Equal("", r.Err);
        Assert.Contains("Usage:", r.Out);
        Assert.Contains($"{RootCommand.ExecutableName} [command] [options]", r.Out);
        Assert.Equal(Vit.Run("--help").Out, r.Out);
        Assert.Equal(0, Vit.Run("--help").Code);
    }

    [Fact]
    public void TheHelpListsTheWorkflowCommandsFirst()
    {
        var r = Vit.Run("--help");
        Assert.Equal(0, r.Code);
        string commands = r.Out[r.Out.IndexOf("Commands:", StringComparison.Ordinal)..];
        var listed = commands.Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]).ToArray();
        Assert.Equal(Commands, listed);
    }

    [Theory]
    [InlineData("train", "vit train [options]")]
    [InlineData("evaluate", "vit evaluate <model.zip> [options]")]
    [InlineData("predict", "vit predict <model.zip> <images>... [options]")]
    [InlineData("info", "vit info <model.zip> [options]")]
    [InlineData("export-onnx", "vit export-onnx <model.zip> [<model.onnx>] [options]")]
    [InlineData("sweep", "vit sweep [options]")]
    [InlineData("export-images", "vit export-images [options]")]
    [InlineData("bench", "vit bench [options]")]
    [InlineData("bench-scoring", "vit bench-scoring [options]")]
    public void TheUsageLineNamesTheArgumentsAsTheArgumentsSectionAndTheCommandListDo(string command, string usage)
    {
        var r = Vit.Run(command, "--help");
        Assert.Equal(0, r.Code);
        var lines = r.Out.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        // The program's name: vit, or testhost in this test run.
        Assert.Equal(usage, "vit" + lines[lines.IndexOf("Usage:") + 1].Trim()[RootCommand.ExecutableName.Length..]);

        var inUsage = Regex.Matches(usage, "<([^>]+)>").Select(m => m.Groups[1].Value).ToList();
        int section = lines.IndexOf("Arguments:");
        var inSection = section < 0 ? [] : lines.Skip(section + 1).TakeWhile(l => l.Length > 0)
            .Select(l => Regex.Match(l, "^\\s+<([^>]+)>").Groups[1].Value).ToList();
        Assert.Equal(inUsage, inSection);

        // The command list of `vit --help` shows the same names.
        string root = Vit.Run("--help").Out;
        var listed = root.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith(command + " ", StringComparison.Ordinal) || l == command);
        Assert.Equal(inUsage, Regex.Matches(listed, "<([^>]+)>").Select(m => m.Groups[1].Value).ToList());
        // Every option that takes a value names it in capitals or as its choices, never by the option's own name.
        Assert.DoesNotMatch("--([a-z-]+) <\\1>", r.Out);
    }

    [Theory]
    [InlineData("-o")]
    [InlineData("--output")]
    [InlineData("--out")]
    public void ExportImagesWritesIntoTheOutputFolderUnderEveryName(string name)
    {
        string dir = f.NewPath("images" + name.Replace("-", ""));
        var r = Vit.Run("export-images", "--data", f.Test.Root, "--count", "2", name, dir);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal(2, Directory.GetFiles(dir, "*.png").Length);
    }

    [Theory]
    [InlineData("train", "-o")]
    [InlineData("train", "--output")]
    [InlineData("train", "--out")]
    [InlineData("sweep", "-o")]
    [InlineData("sweep", "--output")]
    [InlineData("sweep", "--out")]
    public void AnOutputErrorNamesTheOptionAsTyped(string command, string name)
    {
        // The output is a folder: refused before the (missing) data is read, naming the option as the user wrote it.
        string[] args = command == "train"
            ? ["train", "--data", "/nonexistent-vit-data", "--preset", "tiny", name, f.Work]
            : ["sweep", "--data", "/nonexistent-vit-data", "--time-budget", "10", name, f.Work];
        var r = Vit.Run(args);
        Assert.True(r.Code == 2, r.ToString());
        AssertOneLineError(r);
        Assert.Contains($"{name} '{f.Work}' is a folder", r.Err);
    }

    [Fact]
    public void AMissingOutputIsReportedByItsCanonicalName()
    {
        var r = Vit.Run("train", "--data", f.Train.Root);
        Assert.True(r.Code == 2, r.ToString());
        AssertOneLineError(r);
        Assert.Contains("'--output' is required", r.Err);
    }

    [Fact]
    public void ExportOnnxTakesItsOutputAsTheSecondArgumentOrWithDashO()
    {
        string onnx = f.NewPath("dash-o.onnx");
        var r = Vit.Run("export-onnx", f.Model, "-o", onnx);
        Assert.True(r.Code == 0, r.ToString());
        Assert.True(File.Exists(onnx));

        var both = Vit.Run("export-onnx", f.Model, f.NewPath("a.onnx"), "--output", f.NewPath("b.onnx"));
        Assert.True(both.Code == 2, both.ToString());
        AssertOneLineError(both);
        Assert.Contains("not both", both.Err);

        var neither = Vit.Run("export-onnx", f.Model);
        Assert.True(neither.Code == 2, neither.ToString());
        AssertOneLineError(neither);
        Assert.Contains("name the .onnx file", neither.Err);
    }

    [Theory]
    [InlineData("q", "Quiet")]
    [InlineData("quiet", "Quiet")]
    [InlineData("m", "Minimal")]
    [InlineData("minimal", "Minimal")]
    [InlineData("n", "Normal")]
    [InlineData("Normal", "Normal")]
    [InlineData("d", "Detailed")]
    [InlineData("detailed", "Detailed")]
    [InlineData("diag", "Diagnostic")]
    [InlineData("DIAGNOSTIC", "Diagnostic")]
    public void VerbosityLevelsAreReadAsDotnetReadsThem(string text, string expected)
    {
        Assert.True(CliOptions.TryParseVerbosity(text, out var level));
        Assert.Equal(expected, level.ToString());
    }

    [Theory]
    [InlineData("loud")]
    [InlineData("0")]
    [InlineData("")]
    public void AnUnknownVerbosityIsBadUsage(string level)
    {
        var r = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "-v", level);
        Assert.True(r.Code == 2, r.ToString());
        AssertOneLineError(r);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void QuietTrainingPrintsOnlyTheTestMetricsWhereNormalPrintsProgress()
    {
        string[] args = ["train", "--data", f.Train.Root, "--test-fraction", "0.25", "--preset", "tiny", "--epochs", "2", "--batch", "16"];
        var quiet = Vit.Run([.. args, "-o", f.NewPath("quiet.zip"), "-v", "q"]);
        Assert.True(quiet.Code == 0, quiet.ToString());
        var line = Assert.Single(quiet.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("test accuracy ", line);

        var minimal = Vit.Run([.. args, "--output", f.NewPath("minimal.zip"), "--verbosity", "minimal"]);
        Assert.True(minimal.Code == 0, minimal.ToString());
        Assert.DoesNotContain("epoch 1/2", minimal.Out);
        Assert.DoesNotContain("train: ", minimal.Out);
        Assert.Contains("saved ", minimal.Out);
        Assert.Contains("test accuracy ", minimal.Out);

        var normal = Vit.Run([.. args, "--out", f.NewPath("normal.zip"), "-v", "n"]);
        Assert.True(normal.Code == 0, normal.ToString());
        Assert.Contains("train: 45 image files", normal.Out);
        Assert.Contains("epoch 2/2 loss ", normal.Out);
        Assert.Contains("saved ", normal.Out);
        Assert.Contains("test accuracy ", normal.Out);
        Assert.DoesNotContain("options: ", normal.Out);
        // The same seed, data and options: the same model, whatever is printed.
        Assert.Equal(line, normal.Out.Split('\n').Single(l => l.StartsWith("test accuracy ", StringComparison.Ordinal)));
    }

    [Fact]
    public void DetailedTrainingAlsoPrintsTheResolvedOptionsEpochTimesAndPhases()
    {
        var r = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "2", "--batch", "16", "--limit", "30",
            "-o", f.NewPath("detailed.zip"), "-v", "d");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("options: epochs 2, batch 16, lr ", r.Out);
        Assert.Matches(@"epoch 1/2 loss .* \(epoch \d+\.\d s, \d+ steps, ETA [\d:]+\)", r.Out);
        Assert.Matches(@"epoch 2/2 loss .* \(epoch \d+\.\d s, \d+ steps, ETA done\)", r.Out);
        Assert.Matches(@"time: \d+\.\d s in all", r.Out);
        Assert.DoesNotContain("environment:", r.Out);
    }

    [Fact]
    public void QuietTrainingWithJsonPrintsTheJsonAndNothingOnStderr()
    {
        var r = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "1", "--batch", "16", "--limit", "30",
            "-o", f.NewPath("quiet-json.zip"), "--json", "-v", "quiet");
        Assert.True(r.Code == 0, r.ToString());
        // Warnings (here: one epoch has not beaten a uniform guess) still print; progress does not.
        Assert.All(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("vit train: warning: ", l));
        Assert.DoesNotContain("epoch 1/1", r.Err);
        Assert.Equal(1, r.Json().GetProperty("epochsRun").GetInt32());

        var normal = Vit.Run("train", "--data", f.Train.Root, "--preset", "tiny", "--epochs", "1", "--batch", "16", "--limit", "30",
            "-o", f.NewPath("normal-json.zip"), "--json");
        Assert.True(normal.Code == 0, normal.ToString());
        Assert.Contains("epoch 1/1 loss ", normal.Err);
    }

    [Fact]
    public void QuietSweepPrintsOnlyTheBestTrial()
    {
        string model = f.NewPath("sweep.zip");
        var r = Vit.Run("sweep", "--data", f.Train.Root, "--time-budget", "300", "--trials", "1", "--strategy", "random", "--epochs", "1",
            "--preset", "tiny", "--batch", "16", "--limit", "24", "--output", model, "-v", "quiet");
        Assert.True(r.Code == 0, r.ToString());
        var line = Assert.Single(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("best: trial 1, accuracy ", line);
        Assert.True(File.Exists(model));
    }

    [Fact]
    public void QuietEvaluationPrintsTheMetricsWithoutTheReportLine()
    {
        var normal = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "--report", f.NewPath("eval-normal"));
        var quiet = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "--report", f.NewPath("eval-quiet"), "-v", "q");
        Assert.True(normal.Code == 0, normal.ToString());
        Assert.True(quiet.Code == 0, quiet.ToString());
        Assert.Contains("report: ", normal.Out);
        Assert.DoesNotContain("report: ", quiet.Out);
        Assert.Contains("confusion matrix", quiet.Out);
        Assert.Equal(normal.Out[..normal.Out.IndexOf("report: ", StringComparison.Ordinal)], quiet.Out);

        var detailed = Vit.Run("evaluate", f.Model, "--data", f.Test.Root, "--json", "-v", "detailed");
        Assert.True(detailed.Code == 0, detailed.ToString());
        Assert.Equal(30, detailed.Json().GetProperty("count").GetInt32());
        Assert.Contains("scored 30 images of ", detailed.Err);
    }

    [Fact]
    public void PredictPrintsTheSameResultsAtEveryVerbosityAndTimingWhenDetailed()
    {
        string image = f.Test.Rows[0].ImagePath;
        var normal = Vit.Run("predict", f.Model, image);
        var quiet = Vit.Run("predict", f.Model, image, "-v", "q");
        Assert.True(normal.Code == 0, normal.ToString());
        Assert.Equal(normal.Out, quiet.Out);

        var detailed = Vit.Run("predict", f.Model, image, "--json", "-v", "d");
        Assert.True(detailed.Code == 0, detailed.ToString());
        Assert.Equal(JsonValueKind.Array, detailed.Json().ValueKind);
        Assert.Contains("predicted 1 of 1 images in ", detailed.Err);
    }

    [Fact]
    public void DiagnosticVerbosityAddsTheStackTraceToAnError()
    {
        var r = Vit.Run("evaluate", "/no/such/model.zip", "--data", f.Test.Root, "-v", "diag");
        Assert.True(r.Code == 2, r.ToString());
        Assert.StartsWith("vit evaluate: error: ", r.Err);
        Assert.Contains("   at ", r.Err);
    }
}
