using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Experiments;
using VitMlNet.Modeling;

namespace VitMlNet.Tests.Experiments;

/// <summary>In-memory 3×16×16 pixel rows of the synthetic task, with string labels.</summary>
public sealed class PixelRow
{
    [VectorType(3, 16, 16)]
    public float[] Pixels { get; set; } = Array.Empty<float>();

    public string Label { get; set; } = "";
}

public sealed class PixelPrediction
{
    public float[] Score { get; set; } = Array.Empty<float>();

    public uint PredictedLabel { get; set; }
}

internal static class ExperimentTestData
{
    public static IDataView Rows(MLContext ml, int count, int seed)
    {
        var (pixels, labels) = SyntheticImages.Make(count, seed);
        const int per = 3 * 16 * 16;
        var rows = Enumerable.Range(0, count).Select(i => new PixelRow
        {
            Pixels = pixels.AsSpan(i * per, per).ToArray().Select(b => (float)b).ToArray(),
            Label = SyntheticImages.ClassNames[labels[i]],
        }).ToList();
        return ml.Data.LoadFromEnumerable(rows);
    }

    /// <summary>Tiny, fast options: 16×16 tiny preset, batch 16, no intra-epoch progress.</summary>
    public static VisionTransformerOptions BaseOptions(int epochs) => new()
    {
        Architecture = ViTConfig.Tiny,
        Epochs = epochs,
        BatchSize = 16,
        LearningRate = 2e-3,
        Seed = 5,
        ProgressEverySteps = 0,
        Threads = 1,
    };

    /// <summary>A small space of tiny architectures.</summary>
    public static SearchSpace Space() => new SearchSpace()
        .Add(SearchParameterNames.LearningRate, SearchDimension.LogUniform(5e-4, 5e-3))
        .Add(SearchParameterNames.Depth, SearchDimension.Choice(1, 2))
        .Add(SearchParameterNames.Dim, SearchDimension.Choice(16, 32))
        .Add(SearchParameterNames.PatchSize, SearchDimension.DivisorsOfImageSize(4, 8))
        .Add(SearchParameterNames.Dropout, SearchDimension.Uniform(0, 0.1));
}
