using VitMlNet;
using Xunit;

namespace VitMlNet.Tests;

/// <summary>The data-aware recipe on RGB data (<c>vit train --data</c> on a folder of colour photos).</summary>
public class AutoRecipeRgbTests
{
    [Theory]
    [InlineData(1, 28, 28)]
    [InlineData(3, 32, 32)]
    [InlineData(3, 64, 64)]
    public void ForDataGivesValidOptionsWithOneMeanAndStdPerChannel(int channels, int height, int width)
    {
        var options = VisionTransformerRecipes.ForData(150, 5, channels, height, width);
        options.Validate(); // RGB used to fail: fmnist-fast's gray mean/std were kept for 3 channels
        var config = options.ResolveArchitecture();
        Assert.Equal(channels, config.Channels);
        Assert.Equal(channels, config.Mean.Count);
        Assert.Equal(channels, config.Std.Count);
    }
}
