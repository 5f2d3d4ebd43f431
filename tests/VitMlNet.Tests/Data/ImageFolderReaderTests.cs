using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class ImageFolderReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (byte R, byte G, byte B) Pattern(int x, int y) => ((byte)(10 + x), (byte)(100 + y), (byte)(200 + x + y));

    private void WriteThreeImages()
    {
        _dir.Write("cat/a.png", DataTestFiles.Png(3, 2, Pattern));
        _dir.Write("dog/b.PNG", DataTestFiles.Png(3, 2, (_, _) => (50, 60, 70)));
        _dir.Write("dog/nested/c.png", DataTestFiles.Png(6, 4, (_, _) => (1, 2, 3)));
        _dir.Write("dog/notes.txt", "not an image"u8.ToArray());
        _dir.Write("loose.png", DataTestFiles.Png(1, 1, (_, _) => (0, 0, 0)));
    }

    [Fact]
    public void ReadImageFolder_DecodesPngsExactly()
    {
        WriteThreeImages();

        var data = DatasetReaders.ReadImageFolder(_dir.Path, height: 2, width: 3, channels: 3);

        Assert.Equal(["cat", "dog"], data.ClassNames);
        Assert.Equal([0, 1, 1], data.Labels);
        Assert.Equal((3, 2, 3), (data.Channels, data.Height, data.Width));
        var cat = data.GetPixels(0);
        for (int y = 0; y < 2; y++)
        {
            for (int x = 0; x < 3; x++)
            {
                var (r, g, b) = Pattern(x, y);
                Assert.Equal(r, cat[(y * 3) + x]);
                Assert.Equal(g, cat[6 + (y * 3) + x]);
                Assert.Equal(b, cat[12 + (y * 3) + x]);
            }
        }

        Assert.All(data.GetPixels(1)[..6].ToArray(), v => Assert.Equal(50, v));
        Assert.All(data.GetPixels(2)[12..].ToArray(), v => Assert.Equal(3, v)); // 6x4 uniform image resized to 3x2
    }

    [Fact]
    public void ReadImageFolder_Gray_UsesMlNetsGrayscale()
    {
        _dir.Write("a/x.png", DataTestFiles.Png(2, 2, (_, _) => (200, 100, 50)));
        _dir.Write("b/y.png", DataTestFiles.Png(2, 2, (_, _) => (77, 77, 77)));

        var data = DatasetReaders.ReadImageFolder(_dir.Path, 2, 2, channels: 1);

        Assert.Equal(4, data.ImageSize);
        // The zip's ConvertToGrayscale: 0.3 R + 0.59 G + 0.11 B = 124.5, rounded up by Skia.
        Assert.All(data.GetPixels(0).ToArray(), v => Assert.Equal(125, v));
        Assert.All(data.GetPixels(1).ToArray(), v => Assert.Equal(77, v));
    }

    [Fact]
    public void ReadImageFolder_Jpeg_DecodesApproximately()
    {
        _dir.Write("a/x.jpg", DataTestFiles.Jpeg(8, 8, (_, _) => (30, 120, 220)));

        var data = DatasetReaders.ReadImageFolder(_dir.Path, 8, 8);

        Assert.InRange(data.GetPixels(0)[0], 25, 35);
        Assert.InRange(data.GetPixels(0)[64], 115, 125);
        Assert.InRange(data.GetPixels(0)[128], 215, 225);
    }

    [Fact]
    public void ListImageFolder_ToDataView_HasImageLabelAndPath_AndFeedsMlNetImageTransforms()
    {
        WriteThreeImages();
        var ml = new MLContext(seed: 1);
        var files = DatasetReaders.ListImageFolder(_dir.Path);

        var view = files.ToDataView(ml);
        var pixels = ml.Transforms.ResizeImages("Image", 32, 32)
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Fit(view).Transform(view);

        Assert.Equal(3, files.Count);
        Assert.EndsWith(Path.Combine("dog", "nested", "c.png"), files.Paths[2]);
        var rows = pixels.GetColumn<float[]>("Pixels").ToArray();
        Assert.Equal(["cat", "dog", "dog"], pixels.GetColumn<string>("Label").ToArray());
        Assert.Equal(files.Paths, pixels.GetColumn<string>("ImagePath").ToArray());
        Assert.Equal(3 * 32 * 32, rows[1].Length);
        Assert.All(rows[1][..1024], v => Assert.Equal(50f, v));
        Assert.All(rows[1][1024..2048], v => Assert.Equal(60f, v));
        Assert.All(rows[1][2048..], v => Assert.Equal(70f, v));
    }

    [Fact]
    public void ReadImageFolder_UndecodableFile_NamesIt_OrSkipsWhenAsked()
    {
        WriteThreeImages();
        string bad = _dir.Write("cat/broken.png", "this is not a png"u8.ToArray());

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadImageFolder(_dir.Path, 2, 3));
        var data = DatasetReaders.ReadImageFolder(_dir.Path, 2, 3, skipBadImages: true);

        Assert.Contains($"'{bad}' cannot be decoded", e.Message);
        Assert.Contains("skipBadImages", e.Message);
        Assert.Equal(bad, e.Path);
        Assert.Equal(3, data.Count);
        Assert.Equal(bad, Assert.Single(data.SkippedFiles).Path);
    }

    [Fact]
    public void ReadImageFolder_TruncatedPng_NamesIt_OrSkipsWhenAsked()
    {
        WriteThreeImages();
        byte[] png = DataTestFiles.Png(64, 64, (x, y) => ((byte)(x * y), (byte)x, (byte)y));
        string truncated = _dir.Write("dog/truncated.png", png[..(png.Length / 2)]);

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ReadImageFolder(_dir.Path, 2, 3));
        var data = DatasetReaders.ReadImageFolder(_dir.Path, 2, 3, skipBadImages: true);

        Assert.Contains($"'{truncated}' cannot be decoded", e.Message);
        Assert.Equal(3, data.Count);
        Assert.Equal([0, 1, 1], data.Labels);
        Assert.Equal(truncated, Assert.Single(data.SkippedFiles).Path);
    }

    [Fact]
    public void ListImageFolder_EmptyRoot_Throws()
    {
        _dir.Write("loose.png", DataTestFiles.Png(1, 1, (_, _) => (0, 0, 0)));

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(_dir.Path));

        Assert.Contains($"'{_dir.Path}' has no class subfolders", e.Message);
        Assert.Contains("1 image files directly", e.Message);
    }

    [Fact]
    public void ListImageFolder_ClassWithoutImages_Throws()
    {
        _dir.Write("a/x.png", DataTestFiles.Png(1, 1, (_, _) => (0, 0, 0)));
        _dir.Write("b/readme.txt", "hi"u8.ToArray());

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(_dir.Path));

        Assert.Contains($"'{_dir.File("b")}' holds no image files", e.Message);
    }

    [Fact]
    public void ListImageFolder_ClassWithNoReadableImage_Throws()
    {
        _dir.Write("a/x.png", DataTestFiles.Png(1, 1, (_, _) => (0, 0, 0)));
        _dir.Write("b/y.png", [1, 2, 3]);
        _dir.Write("b/z.jpg", [4, 5, 6]);

        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(_dir.Path));
        var skipped = DatasetReaders.ListImageFolder(_dir.Path, skipBadImages: true);

        Assert.Contains($"'{_dir.File("b")}' holds no readable image: none of its 2 image file(s) can be decoded", e.Message);
        Assert.Equal(["a", "b"], skipped.ClassNames);
        Assert.Equal(1, skipped.Count);
        Assert.Equal(2, skipped.SkippedFiles.Count);
    }

    [Fact]
    public void ListImageFolder_MissingRoot_Throws()
    {
        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(_dir.File("missing")));

        Assert.Contains($"'{_dir.File("missing")}' does not exist", e.Message);
    }

    [Fact]
    public void ToDataView_UndecodableFileAtCursorTime_ThrowsWithPath()
    {
        _dir.Write("a/x.png", DataTestFiles.Png(2, 2, (_, _) => (0, 0, 0)));
        string bad = _dir.Write("a/y.png", [1, 2, 3]);
        var files = new ImageFileSet(_dir.Path, [_dir.File("a", "x.png"), bad], [0, 0], ["a"]);
        var ml = new MLContext(seed: 1);

        var e = Assert.Throws<DatasetException>(() => files.ToDataView(ml).GetColumn<MLImage>("Image").ToArray());

        Assert.Contains($"'{bad}' cannot be decoded: not a recognised image format", e.Message);
    }
}
