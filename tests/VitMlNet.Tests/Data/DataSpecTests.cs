using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class DataSpecTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("fashion-mnist", DataSourceKind.FashionMnist, true)]
    [InlineData("Fashion-MNIST:test", DataSourceKind.FashionMnist, false)]
    [InlineData("cifar10:/data/cifar", DataSourceKind.Cifar10, true)]
    [InlineData("cifar10:/data/cifar:test", DataSourceKind.Cifar10, false)]
    [InlineData("idx:a.gz,b.gz", DataSourceKind.Idx, true)]
    [InlineData("some/list.csv", DataSourceKind.ImageList, true)]
    [InlineData("some/list.TSV", DataSourceKind.ImageList, true)]
    public void Parse_RecognisesForms(string spec, object kind, bool train)   // object: DataSourceKind is internal
    {
        var parsed = DataSpec.Parse(spec);

        Assert.Equal((DataSourceKind)kind, parsed.Kind);
        Assert.Equal(train, parsed.Train);
        Assert.Equal(spec, parsed.ToString());
    }

    [Fact]
    public void Parse_SplitsPaths()
    {
        Assert.Equal("/data/cifar", DataSpec.Parse("cifar10:/data/cifar:test").Path);
        var idx = DataSpec.Parse("idx:imgs.gz, lbls.gz");
        Assert.Equal(("imgs.gz", "lbls.gz"), (idx.Path, idx.LabelsPath));
        Assert.Equal(DatasetReaders.FashionMnistFolder, DataSpec.Parse("fashion-mnist").Path);
        Assert.Equal(DataSourceKind.ImageFolder, DataSpec.Parse(_dir.Path).Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fashion-mnist:validation")]
    [InlineData("cifar10:")]
    [InlineData("idx:only-one-file")]
    [InlineData("/no/such/folder")]
    public void Parse_Unrecognised_ListsTheForms(string spec)
    {
        var e = Assert.Throws<DatasetException>(() => DataSpec.Parse(spec));

        Assert.Contains(DataSpec.Syntax, e.Message);
    }

    [Fact]
    public void LoadDataset_Idx_ResizesOnRequest()
    {
        string images = _dir.Write("i.gz", DataTestFiles.Gzip(DataTestFiles.Idx3(2, 2, 2, [9, 9, 9, 9, 7, 7, 7, 7])));
        string labels = _dir.Write("l", DataTestFiles.Idx1([1, 0]));
        var spec = DataSpec.Parse($"idx:{images},{labels}");

        var native = spec.LoadDataset();
        var resized = spec.LoadDataset(4, 4, 3);

        Assert.Equal((1, 2, 2), (native.Channels, native.Height, native.Width));
        Assert.Equal((3, 4, 4), (resized.Channels, resized.Height, resized.Width));
        Assert.All(resized.GetPixels(1).ToArray(), v => Assert.Equal(7, v));
        Assert.Equal(2, spec.LoadDataView(new MLContext(1)).GetColumn<string>("Label").Count());
    }

    [Fact]
    public void LoadDataset_Folder_NeedsSize()
    {
        _dir.Write("a/x.png", DataTestFiles.Png(3, 3, (_, _) => (5, 6, 7)));
        var spec = DataSpec.Parse(_dir.Path);

        Assert.Throws<ArgumentException>(() => spec.LoadDataset());
        var data = spec.LoadDataset(2, 2);
        var view = spec.LoadDataView(new MLContext(1));

        Assert.Equal([5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7], data.Pixels);
        Assert.NotNull(view.Schema.GetColumnOrNull("ImagePath"));
    }
}
