using VitMlNet.Data;

namespace VitMlNet.Tests.Robustness;

/// <summary>Image folders do not follow links to folders (a link to another class folder would
/// relabel its images), and a dangling file link is a missing file, not an unreadable image.</summary>
public sealed class ImageFolderLinkTests : IDisposable
{
    private readonly ImageFolderFixture images = new(30, 5);

    private string Class(int k) => Path.Combine(images.Root, SyntheticImages.ClassNames.Order(StringComparer.Ordinal).ElementAt(k));

    public void Dispose() => images.Dispose();

    [Fact]
    public void ALinkToAnotherClassFolderIsRefusedNotRelabelled()
    {
        string link = Path.Combine(images.Root, "zzz-copy");
        Directory.CreateSymbolicLink(link, Class(0));
        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(images.Root));
        Assert.Contains($"'{link}' is a link to the folder '{Class(0)}'", e.Message);

        var skipped = DatasetReaders.ListImageFolder(images.Root, skipBadImages: true);
        Assert.Equal(3, skipped.ClassNames.Length);
        Assert.Contains(skipped.SkippedFiles, s => s.Path == link);
    }

    [Fact]
    public void ALinkToAFolderInsideAClassFolderIsNotFollowed()
    {
        string link = Path.Combine(Class(1), "more");
        Directory.CreateSymbolicLink(link, Class(0));
        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(images.Root));
        Assert.Contains($"'{link}' is a link to the folder", e.Message);
        // A link to the class folder's parent would loop forever if followed.
        Directory.Delete(link);
        Directory.CreateSymbolicLink(link, images.Root);
        Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(images.Root));
    }

    [Fact]
    public void ADanglingLinkIsAMissingFileNotAnUnrecognisedImage()
    {
        string link = Path.Combine(Class(2), "ghost.png");
        File.CreateSymbolicLink(link, "/nonexistent/ghost.png");
        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(images.Root));
        Assert.Contains($"Image file '{link}' is missing: a link to '/nonexistent/ghost.png', which does not exist", e.Message);
        Assert.DoesNotContain("recognised", e.Message);

        var set = DatasetReaders.ListImageFolder(images.Root, skipBadImages: true);
        Assert.Contains(set.SkippedFiles, s => s.Path == link && s.Reason.StartsWith("missing", StringComparison.Ordinal));
    }

    [Fact]
    public void AFileLinkIntoAnotherClassIsTheSameImageUnderTwoLabels()
    {
        string target = Directory.GetFiles(Class(0)).Order(StringComparer.Ordinal).First();
        string link = Path.Combine(Class(1), "borrowed.png");
        File.CreateSymbolicLink(link, target);
        var e = Assert.Throws<DatasetException>(() => DatasetReaders.ListImageFolder(images.Root));
        Assert.Contains("the same image under two labels", e.Message);

        // A link to a file outside the data set is an ordinary image.
        string outside = Path.Combine(Path.GetTempPath(), $"vit-outside-{Guid.NewGuid():N}.png");
        File.Copy(target, outside);
        try
        {
            File.Delete(link);
            File.CreateSymbolicLink(link, outside);
            var set = DatasetReaders.ListImageFolder(images.Root);
            Assert.Contains(link, set.Paths);
        }
        finally
        {
            File.Delete(outside);
        }
    }
}
