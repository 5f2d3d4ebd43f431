using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class FashionMnistTests
{
    [Fact]
    public void Test_WhenInstalled_Has10000ImagesOf10Classes()
    {
        if (!Directory.Exists(DatasetReaders.FashionMnistFolder))
        {
            return; // Package dataset-fashion-mnist not installed on this machine.
        }

        var test = DatasetReaders.ReadFashionMnist(train: false);

        Assert.Equal(10000, test.Count);
        Assert.Equal((1, 28, 28), (test.Channels, test.Height, test.Width));
        Assert.Equal(DatasetReaders.FashionMnistClassNames, test.ClassNames);
        Assert.All(test.CountPerClass(), n => Assert.Equal(1000, n));
    }

    [Fact]
    public void Load_MissingFolder_SaysHowToInstall()
    {
        string folder = Path.Combine(Path.GetTempPath(), "vitmlnet-no-such-fashion-mnist");

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadFashionMnist(folder));

        Assert.Contains(folder, e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.False(DatasetReaders.IsFashionMnistAvailable(folder));
    }
}
