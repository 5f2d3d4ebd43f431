using VitMlNet.Data;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary><c>vit predict</c> over a folder lists each real image file once, whatever links it holds (a loop, a second
/// way to a folder); training data with the same image under two labels is used with a warning naming both files.</summary>
[Collection("Robustness")]
public sealed class FolderWalkTests : IDisposable
{
    private readonly CliFixture f;
    private readonly string dir = Robust.TempFolder("walk");

    public FolderWalkTests(CliFixture fixture) => f = fixture;

    public void Dispose() => Directory.Delete(dir, true);

    /// <summary>A copy of the fixture's test folder (one subfolder per class).</summary>
    private string CopyOfTest()
    {
        string root = Path.Combine(dir, "test");
        foreach (var row in f.Test.Rows)
        {
            string to = Path.Combine(root, row.Label, Path.GetFileName(row.ImagePath));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(row.ImagePath, to);
        }
        return root;
    }

    [Fact]
    public void PredictListsEachRealFileOnceInAFolderWithALinkLoop()
    {
        string root = CopyOfTest();
        string cls = Directory.GetDirectories(root).Order(StringComparer.Ordinal).First();
        Directory.CreateSymbolicLink(Path.Combine(cls, "loop"), root);                  // a loop back to the top
        Directory.CreateSymbolicLink(Path.Combine(root, "again"), cls);                 // a second way to a class folder
        File.CreateSymbolicLink(Path.Combine(root, "same.png"), Directory.GetFiles(cls).First()); // a file link
        var r = Vit.Run("predict", f.Model, root);
        Assert.True(r.Code == 0, r.ToString());
        var files = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[0]).ToList();
        Assert.Equal(f.Test.Rows.Count, files.Count);
        Assert.Equal(files.Count, files.Distinct().Count());
    }

    [Fact]
    public void TheSameImageUnderTwoClassesIsAWarning()
    {
        string root = CopyOfTest();
        var classes = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToArray();
        string original = Directory.GetFiles(classes[0]).Order(StringComparer.Ordinal).First();
        string copy = Path.Combine(classes[1], "copy-of-" + Path.GetFileName(original));
        File.Copy(original, copy);

        var set = DatasetReaders.ListImageFolder(root);
        var warning = Assert.Single(set.Warnings);
        Assert.Contains($"'{copy}' (class '{Path.GetFileName(classes[1])}') is byte-identical to '{original}' (class '{Path.GetFileName(classes[0])}')", warning);

        var r = Vit.Run("evaluate", f.Model, "--data", root);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains($"vit: warning: '{copy}' (class '{Path.GetFileName(classes[1])}') is byte-identical to", r.Err);
    }

    [Fact]
    public void APathListedTwiceWithDifferentLabelsIsAWarning()
    {
        string list = Path.Combine(dir, "list.csv");
        var rows = f.Test.Rows.Select(row => $"{row.ImagePath},{row.Label}").ToList();
        var twice = f.Test.Rows[0];
        string other = SyntheticImages.ClassNames.First(c => c != twice.Label);
        rows.Add($"{twice.ImagePath},{other}");
        rows.Add($"{f.Test.Rows[1].ImagePath},{f.Test.Rows[1].Label}"); // twice with the same label: no doubt about it
        File.WriteAllLines(list, rows);

        var set = DatasetReaders.ListImageCsv(list);
        var warning = Assert.Single(set.Warnings);
        Assert.Equal($"Image list '{list}' line {rows.Count - 1}: '{twice.ImagePath}' is listed again with the label '{other}' (line 1 gives '{twice.Label}'); " +
            "the same image trains under both labels.", warning);

        var r = Vit.Run("evaluate", f.Model, "--data", list);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains($"vit: warning: Image list '{list}' line {rows.Count - 1}:", r.Err);
    }

    [Fact]
    public void DistinctImagesGiveNoWarning()
    {
        Assert.Empty(DatasetReaders.ListImageFolder(f.Train.Root).Warnings);
    }
}
