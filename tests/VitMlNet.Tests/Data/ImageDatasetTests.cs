using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Data;

namespace VitMlNet.Tests.Data;

public sealed class ImageDatasetTests
{
    /// <summary>Uniform images: image i is (10+i, 100+i, 200+i) in RGB, or 10+i in gray.</summary>
    private static ImageDataset Uniform(int count, int channels, int height, int width, int classes)
    {
        int plane = height * width;
        var pixels = new byte[count * channels * plane];
        for (int i = 0; i < count; i++)
        {
            for (int c = 0; c < channels; c++)
            {
                pixels.AsSpan(((i * channels) + c) * plane, plane).Fill((byte)((c * 90) + 10 + i));
            }
        }

        return new ImageDataset(pixels, Enumerable.Range(0, count).Select(i => i % classes).ToArray(),
            Enumerable.Range(0, classes).Select(k => $"class{k}").ToArray(), channels, height, width);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void ToDataView_ResizeImagesAndExtractPixels_GiveTheDatasetPixels(int channels)
    {
        var data = Uniform(count: 4, channels, height: 5, width: 7, classes: 3);
        var ml = new MLContext(seed: 1);
        var view = data.ToDataView(ml);

        var transformed = ml.Transforms.ResizeImages("Image", 32, 32)
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Fit(view).Transform(view);
        var pixels = transformed.GetColumn<float[]>("Pixels").ToArray();
        var labels = transformed.GetColumn<string>("Label").ToArray();

        Assert.Equal(["class0", "class1", "class2", "class0"], labels);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(3 * 32 * 32, pixels[i].Length);
            for (int c = 0; c < 3; c++)
            {
                float expected = data.GetPixels(i)[channels == 3 ? c * 35 : 0];
                Assert.All(pixels[i][(c * 1024)..((c + 1) * 1024)], v => Assert.Equal(expected, v));
            }
        }
    }

    [Fact]
    public void GetImage_IsBgra32WithTheDatasetPixels()
    {
        var data = new ImageDataset([1, 2, 3, 4, 5, 6], [0], ["only"], channels: 3, height: 1, width: 2);

        using var image = data.GetImage(0);

        Assert.Equal((2, 1), (image.Width, image.Height));
        Assert.Equal([5, 3, 1, 255, 6, 4, 2, 255], image.Pixels.ToArray());
    }

    [Fact]
    public void Subset_Take_CopyImagesAndLabels()
    {
        var data = Uniform(count: 5, channels: 1, height: 2, width: 2, classes: 5);

        var subset = data.Subset([4, 1, 1]);
        var first = data.Take(2);
        var all = data.Take(100);

        Assert.Equal([4, 1, 1], subset.Labels);
        Assert.Equal(data.GetPixels(4).ToArray(), subset.GetPixels(0).ToArray());
        Assert.Equal(data.GetPixels(1).ToArray(), subset.GetPixels(2).ToArray());
        Assert.Equal(data.ClassNames, subset.ClassNames);
        Assert.Equal([0, 1], first.Labels);
        Assert.Equal(5, all.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset([5]));
    }

    [Fact]
    public void Split_IsStratifiedSeededAndDisjoint()
    {
        var data = Uniform(count: 100, channels: 1, height: 1, width: 1, classes: 10); // 10 per class, pixel = 10 + i (mod 256)

        var (train, test) = data.Split(0.2, seed: 7);
        var (train2, test2) = data.Split(0.2, seed: 7);
        var (_, test3) = data.Split(0.2, seed: 8);

        Assert.Equal(80, train.Count);
        Assert.Equal(20, test.Count);
        Assert.All(test.CountPerClass(), n => Assert.Equal(2, n));
        Assert.All(train.CountPerClass(), n => Assert.Equal(8, n));
        Assert.Equal(test.Pixels, test2.Pixels);
        Assert.Equal(train.Pixels, train2.Pixels);
        Assert.NotEqual(test.Pixels, test3.Pixels);
        Assert.Equal(data.Pixels.Order(), train.Pixels.Concat(test.Pixels).Order());
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(1.0));
    }

    [Fact]
    public void Split_KeepsATrainingImageInEveryClass()
    {
        var data = new ImageDataset([1, 2, 3], [0, 0, 1], ["a", "b"], 1, 1, 1);

        var (train, test) = data.Split(0.5, seed: 3);

        Assert.Equal([1, 1], train.CountPerClass());
        Assert.Equal([1, 0], test.CountPerClass());
    }

    [Fact]
    public void Resize_ChangesSizeAndChannels()
    {
        var gray = Uniform(count: 2, channels: 1, height: 4, width: 4, classes: 2);

        var rgb = gray.Resize(2, 3, channels: 3);
        var back = rgb.Resize(2, 3, channels: 1);

        Assert.Same(gray, gray.Resize(4, 4, 1));
        Assert.Equal((3, 2, 3), (rgb.Channels, rgb.Height, rgb.Width));
        Assert.All(rgb.GetPixels(1).ToArray(), v => Assert.Equal(11, v));
        Assert.All(back.GetPixels(0).ToArray(), v => Assert.Equal(10, v));
        Assert.Equal(gray.Labels, rgb.Labels);
    }

    [Fact]
    public void Constructor_RejectsInconsistentInput()
    {
        var size = Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[5], [0], ["a"], 1, 2, 2));
        var label = Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[4], [3], ["a", "b"], 1, 2, 2));

        Assert.Contains("need 4 pixel bytes, but 5 were given", size.Message);
        Assert.Contains("Label 3 of image 0 is out of range for 2 classes", label.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataset(new byte[8], [0], ["a"], 2, 2, 2));
    }
}
