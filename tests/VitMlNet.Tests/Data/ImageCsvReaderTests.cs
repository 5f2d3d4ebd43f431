using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class ImageCsvReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadImageCsv_HeaderAndRelativePaths_RoundTrips()
    {
        _dir.Write("img/one.png", DataTestFiles.Png(2, 2, (_, _) => (10, 20, 30)));
        string two = _dir.Write("img/two, with comma.png", DataTestFiles.Png(2, 2, (_, _) => (40, 50, 60)));
        File.WriteAllText(_dir.File("list.csv"), $"path,label\nimg/one.png,zebra\n\n\"{two}\",ant\n");

        var data = DatasetReaders.ReadImageCsv(_dir.File("list.csv"), 2, 2);

        Assert.Equal(["ant", "zebra"], data.ClassNames);
        Assert.Equal([1, 0], data.Labels);
        Assert.Equal([10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30], data.GetPixels(0).ToArray());
        Assert.Equal(40, data.GetPixels(1)[0]);
    }

    [Fact]
    public void ListImageCsv_TsvWithoutHeader_ResolvesAgainstListFolder()
    {
        _dir.Write("sub/a.png", DataTestFiles.Png(1, 1, (_, _) => (1, 1, 1)));
        _dir.Write("sub/b.png", DataTestFiles.Png(1, 1, (_, _) => (2, 2, 2)));
        File.WriteAllText(_dir.File("sub", "list.tsv"), "a.png\tx\nb.png\ty\n");

        var files = DatasetReaders.ListImageCsv(_dir.File("sub", "list.tsv"));

        Assert.Equal([_dir.File("sub", "a.png"), _dir.File("sub", "b.png")], files.Paths);
        Assert.Equal(["x", "y"], files.ClassNames);
    }

    [Fact]
    public void ListImageCsv_MissingFile_NamesLine_OrSkipsWhenAsked()
    {
        _dir.Write("a.png", DataTestFiles.Png(1, 1, (_, _) => (1, 1, 1)));
        File.WriteAllText(_dir.File("list.csv"), "file,class\na.png,x\nmissing.png,y\n");

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageCsv(_dir.File("list.csv")));
        var files = DatasetReaders.ListImageCsv(_dir.File("list.csv"), skipBadImages: true);

        Assert.Contains("line 3", e.Message);
        Assert.Contains($"'{_dir.File("missing.png")}'", e.Message);
        Assert.Contains("does not exist", e.Message);
        Assert.Equal(1, files.Count);
        Assert.Equal(_dir.File("missing.png"), Assert.Single(files.SkippedFiles).Path);
    }

    [Fact]
    public void ListImageCsv_WrongFieldCount_Throws()
    {
        File.WriteAllText(_dir.File("list.csv"), "a.png,x,extra\n");

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageCsv(_dir.File("list.csv")));

        Assert.Contains("line 1: expected 2 fields (path,label) but found 3", e.Message);
    }

    [Fact]
    public void ListImageCsv_NoRowsOrNoFile_Throws()
    {
        File.WriteAllText(_dir.File("list.csv"), "path,label\n\n");

        var empty = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageCsv(_dir.File("list.csv")));
        var missing = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageCsv(_dir.File("none.csv")));

        Assert.Contains("holds no rows", empty.Message);
        Assert.Contains("does not exist", missing.Message);
    }
}
