using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private static readonly byte[] Pixels = Enumerable.Range(0, 18).Select(i => (byte)(i * 10)).ToArray(); // 3 images of 2x3
    private static readonly byte[] LabelBytes = [2, 0, 1];
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadIdx_RawFiles_RoundTrips()
    {
        string images = _dir.Write("images-idx3-ubyte", DataTestFiles.Idx3(3, 2, 3, Pixels));
        string labels = _dir.Write("labels-idx1-ubyte", DataTestFiles.Idx1(LabelBytes));

        var data = DatasetReaders.ReadIdx(images, labels, ["a", "b", "c"]);

        Assert.Equal(3, data.Count);
        Assert.Equal((1, 2, 3), (data.Channels, data.Height, data.Width));
        Assert.Equal(Pixels, data.Pixels);
        Assert.Equal([2, 0, 1], data.Labels);
        Assert.Equal(["a", "b", "c"], data.ClassNames);
        Assert.Equal(Pixels.AsSpan(6, 6).ToArray(), data.GetPixels(1).ToArray());
        Assert.Empty(data.SkippedFiles);
    }

    [Fact]
    public void ReadIdx_GzipFiles_RoundTripAndNameClassesByIndex()
    {
        string images = _dir.Write("images-idx3-ubyte.gz", DataTestFiles.Gzip(DataTestFiles.Idx3(3, 2, 3, Pixels)));
        string labels = _dir.Write("labels-idx1-ubyte.gz", DataTestFiles.Gzip(DataTestFiles.Idx1(LabelBytes)));

        var data = DatasetReaders.ReadIdx(images, labels);

        Assert.Equal(Pixels, data.Pixels);
        Assert.Equal([2, 0, 1], data.Labels);
        Assert.Equal(["0", "1", "2"], data.ClassNames);
    }

    [Fact]
    public void ReadIdx_TruncatedImages_SaysHeaderVersusFile()
    {
        string images = _dir.Write("img", DataTestFiles.Idx3(3, 2, 3, Pixels)[..^5]);
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains(images, e.Message);
        Assert.Contains("header says 3 images of 2x3 pixels (18 bytes)", e.Message);
        Assert.Contains("holds 13 bytes of pixels", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Equal(images, e.Path);
    }

    [Fact]
    public void ReadIdx_TrailingImageBytes_Throws()
    {
        string images = _dir.Write("img", DataTestFiles.Concat(DataTestFiles.Idx3(3, 2, 3, Pixels), [1, 2]));
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains("holds 20 bytes of pixels: 2 unexpected trailing bytes", e.Message);
    }

    [Fact]
    public void ReadIdx_TruncatedLabels_SaysHeaderVersusFile()
    {
        string images = _dir.Write("img", DataTestFiles.Idx3(3, 2, 3, Pixels));
        string labels = _dir.Write("lbl", DataTestFiles.Idx1([2, 0], count: 3));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains($"IDX labels file '{labels}': header says 3 items but the file holds 2 bytes of labels", e.Message);
    }

    [Fact]
    public void ReadIdx_TruncatedGzip_Throws()
    {
        byte[] gz = DataTestFiles.Gzip(DataTestFiles.Idx3(3, 2, 3, Pixels));
        string images = _dir.Write("img.gz", gz[..(gz.Length / 2)]);
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains($"'{images}' is gzip-compressed but truncated or corrupt", e.Message);
    }

    [Fact]
    public void ReadIdx_CorruptGzip_Throws()
    {
        string images = _dir.Write("img.gz", [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5]);
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains($"'{images}' is gzip-compressed but", e.Message);
    }

    [Fact]
    public void ReadIdx_SwappedFiles_ReportsMagicNumbers()
    {
        string images = _dir.Write("img", DataTestFiles.Idx3(3, 2, 3, Pixels));
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(labels, images));

        Assert.Contains(labels, e.Message);
        Assert.Contains("magic number is 0x00000801, expected 0x00000803", e.Message);
        Assert.Contains("swapped", e.Message);
    }

    [Fact]
    public void ReadIdx_WrongLabelMagic_ReportsExpectedAndActual()
    {
        string images = _dir.Write("img", DataTestFiles.Idx3(3, 2, 3, Pixels));
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes, magic: 0x12345678));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains("magic number is 0x12345678, expected 0x00000801", e.Message);
        Assert.Contains("not an IDX file", e.Message);
    }

    [Fact]
    public void ReadIdx_CountMismatch_NamesBothCounts()
    {
        string images = _dir.Write("img", DataTestFiles.Idx3(3, 2, 3, Pixels));
        string labels = _dir.Write("lbl", DataTestFiles.Idx1([1, 0]));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));

        Assert.Contains($"'{images}' holds 3 images", e.Message);
        Assert.Contains($"'{labels}' holds 2 labels", e.Message);
    }

    [Fact]
    public void ReadIdx_LabelWithoutClassName_Throws()
    {
        string images = _dir.Write("img", DataTestFiles.Idx3(3, 2, 3, Pixels));
        string labels = _dir.Write("lbl", DataTestFiles.Idx1([0, 5, 1]));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels, ["a", "b", "c"]));

        Assert.Contains("label 5 at index 1 is out of range for the 3 class names", e.Message);
    }

    [Fact]
    public void ReadIdx_ShortOrMissingFile_Throws()
    {
        string images = _dir.Write("img", [0, 0, 8, 3, 0]);
        string labels = _dir.Write("lbl", DataTestFiles.Idx1(LabelBytes));

        var shortFile = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(images, labels));
        var missing = Assert.Throws<DatasetException>(() => DatasetReaders.ReadIdx(_dir.File("nope"), labels));

        Assert.Contains("is 5 bytes long, shorter than the 16-byte IDX header", shortFile.Message);
        Assert.Contains($"'{_dir.File("nope")}' does not exist", missing.Message);
    }
}
