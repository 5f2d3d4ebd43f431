using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class Cifar10ReaderTests : IDisposable
{
    private static readonly string[] MetaNames = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadCifar10_Folder_ReadsTrainAndTestWithMetaNames()
    {
        for (int b = 1; b <= 5; b++)
        {
            _dir.Write($"data_batch_{b}.bin", DataTestFiles.Concat(
                DataTestFiles.CifarRecord((byte)b, seed: b * 10), DataTestFiles.CifarRecord((byte)(b + 4), seed: (b * 10) + 1)));
        }

        _dir.Write("test_batch.bin", DataTestFiles.Concat(DataTestFiles.CifarRecord(9, 3), DataTestFiles.CifarRecord(0, 4), DataTestFiles.CifarRecord(7, 5)));
        File.WriteAllLines(_dir.File("batches.meta.txt"), [.. MetaNames, ""]);

        var train = DatasetReaders.ReadCifar10(_dir.Path, train: true);
        var test = DatasetReaders.ReadCifar10(_dir.Path, train: false);

        Assert.Equal(10, train.Count);
        Assert.Equal((3, 32, 32), (train.Channels, train.Height, train.Width));
        Assert.Equal([1, 5, 2, 6, 3, 7, 4, 8, 5, 9], train.Labels);
        Assert.Equal(MetaNames, train.ClassNames);
        Assert.Equal(DataTestFiles.CifarRecord(2, 20)[1..], train.GetPixels(2).ToArray());
        Assert.Equal([9, 0, 7], test.Labels);
        Assert.Equal(DataTestFiles.CifarRecord(7, 5)[1..], test.GetPixels(2).ToArray());
        var pixel = test.GetPixels(0);
        Assert.Equal((byte)3, pixel[0]); // R plane, pixel (0,0)
        Assert.Equal((byte)(3 + 7), pixel[1024]); // G plane
        Assert.Equal((byte)(3 + 14 + 33), pixel[2048 + 33]); // B plane, row 1, column 1
    }

    [Fact]
    public void ReadCifar10Batch_WithoutMeta_UsesCifar10Names()
    {
        string file = _dir.Write("one.bin", DataTestFiles.CifarRecord(3, 0));

        var data = DatasetReaders.ReadCifar10Batch(file);

        Assert.Equal(DatasetReaders.Cifar10ClassNames, data.ClassNames);
        Assert.Equal("cat", data.ClassNames[data.Labels[0]]);
    }

    [Fact]
    public void ReadCifar10_FindsNestedBatchesFolder()
    {
        _dir.Write("cifar-10-batches-bin/test_batch.bin", DataTestFiles.CifarRecord(1, 0));

        var data = DatasetReaders.ReadCifar10(_dir.Path, train: false);

        Assert.Equal(1, data.Count);
    }

    [Fact]
    public void ReadCifar10Batch_SizeNotMultipleOfRecord_SaysSizes()
    {
        string file = _dir.Write("bad.bin", DataTestFiles.Concat(DataTestFiles.CifarRecord(1, 0), DataTestFiles.CifarRecord(2, 0), [1, 2, 3, 4, 5]));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadCifar10Batch(file));

        Assert.Contains($"'{file}' is 6151 bytes, not a multiple of the 3073-byte record", e.Message);
        Assert.Contains("2 whole records and 5 extra bytes", e.Message);
    }

    [Fact]
    public void ReadCifar10Batch_Cifar100Sized_Hints()
    {
        string file = _dir.Write("c100.bin", new byte[3074 * 2]);

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadCifar10Batch(file));

        Assert.Contains("CIFAR-100", e.Message);
    }

    [Fact]
    public void ReadCifar10Batch_EmptyFile_Throws()
    {
        string file = _dir.Write("empty.bin", []);

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadCifar10Batch(file));

        Assert.Contains($"'{file}' is empty", e.Message);
    }

    [Fact]
    public void ReadCifar10Batch_LabelOutOfRange_NamesRecord()
    {
        string file = _dir.Write("lbl.bin", DataTestFiles.Concat(DataTestFiles.CifarRecord(1, 0), DataTestFiles.CifarRecord(10, 0)));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadCifar10Batch(file));

        Assert.Contains("record 1 has label 10, but there are only 10 class names", e.Message);
    }

    [Fact]
    public void ReadCifar10_MissingBatches_ListsThem()
    {
        _dir.Write("data_batch_1.bin", DataTestFiles.CifarRecord(1, 0));
        _dir.Write("data_batch_2.bin", DataTestFiles.CifarRecord(1, 0));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadCifar10(_dir.Path, train: true));
        var missingFolder = Assert.Throws<DatasetException>(() => DatasetReaders.ReadCifar10(_dir.File("none")));

        Assert.Contains("lacks data_batch_3.bin, data_batch_4.bin, data_batch_5.bin", e.Message);
        Assert.Contains("does not exist", missingFolder.Message);
    }
}
