using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.ModelZip;
using VitMlNet.Modeling;

namespace VitMlNet.Tests;

public sealed class PipelineFixture : IDisposable
{
    public PipelineFixture()
    {
        Train = new ImageFolderFixture(240, 21);
        Test = new ImageFolderFixture(60, 22);
        Ml = new MLContext(seed: 1);
        Pipeline = PipelineWith(Options());
        TrainData = Ml.Data.LoadFromEnumerable(Train.Rows);
        TestData = Ml.Data.LoadFromEnumerable(Test.Rows);
        Model = Pipeline.Fit(TrainData);
    }

    public MLContext Ml { get; }
    public ImageFolderFixture Train { get; }
    public ImageFolderFixture Test { get; }
    public IEstimator<ITransformer> Pipeline { get; }
    public IDataView TrainData { get; }
    public IDataView TestData { get; }
    public ITransformer Model { get; }

    /// <summary>The fixture's trainer options (tiny ViT, 10 epochs, seed 3); tests change one field to fit a variant.</summary>
    public static VisionTransformerOptions Options() => new()
    {
        Architecture = ViTConfig.Tiny,
        Epochs = 10,
        BatchSize = 16,
        LearningRate = 2e-3,
        Optimizer = VisionTransformerOptimizer.AdamW,
        Schedule = VisionTransformerLearningRateSchedule.WarmupCosine,
        WarmupEpochs = 1,
        EmbeddingColumnName = "Embedding",
        Seed = 3,
    };

    /// <summary>Label to key → load → resize to 16×16 → pixels → VisionTransformer(<paramref name="options"/>) → key to label.</summary>
    public IEstimator<ITransformer> PipelineWith(VisionTransformerOptions options) =>
        Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(Ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(Ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(Ml.MulticlassClassification.Trainers.VisionTransformer(options))
            .Append(Ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}

public class VisionTransformerPipelineTests : IClassFixture<PipelineFixture>
{
    private readonly PipelineFixture f;

    public VisionTransformerPipelineTests(PipelineFixture fixture) => f = fixture;

    private sealed class PathInput
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    private sealed class Prediction
    {
        public string PredictedLabel { get; set; } = "";
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    [Fact]
    public void TrainedPipelineEvaluatesAboveNinetyPercentWithMlNetsEvaluator()
    {
        var scored = f.Model.Transform(f.TestData);
        var metrics = f.Ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy >= 0.9, $"accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F3}");
        Assert.True(metrics.LogLoss < 0.5, $"log-loss {metrics.LogLoss:F3}");
    }

    [Fact]
    public void OutputColumnsFollowMlNetConventions()
    {
        var schema = f.Model.GetOutputSchema(f.TestData.Schema);
        var score = schema["Score"];
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        score.GetSlotNames(ref slotNames);
        Assert.Equal(new[] { "top", "left", "diagonal" }.OrderBy(x => x), slotNames.DenseValues().Select(v => v.ToString()).OrderBy(x => x));
        Assert.Equal(TextDataViewType.Instance, schema["PredictedLabel"].Type);
        // ONNX outputs keep their [1, dim] shape in ML.NET; the vector size is what downstream trainers use.
        var embedding = Assert.IsType<VectorDataViewType>(schema["Embedding"].Type);
        Assert.Equal(NumberDataViewType.Single, embedding.ItemType);
        Assert.Equal(ViTConfig.Tiny.Dim, embedding.Size);
    }

    [Fact]
    public void Int8ScoringPrecisionKeepsThePredictionsAndSavesAQuantizedGraph()
    {
        var options = PipelineFixture.Options();
        options.ScoringPrecision = VitMlNet.Onnx.ViTOnnxWeightPrecision.DynamicInt8;
        var model = f.PipelineWith(options).Fit(f.TrainData);
        var metrics = f.Ml.MulticlassClassification.Evaluate(model.Transform(f.TestData));
        Assert.True(metrics.MicroAccuracy >= 0.9, $"int8 accuracy {metrics.MicroAccuracy:F3}");
        var int8 = ScoresOf(model.Transform(f.TestData));
        var float32 = ScoresOf(f.Model.Transform(f.TestData));
        int agree = int8.Zip(float32, (a, b) => a.Label == b.Label ? 1 : 0).Sum();
        Assert.True(agree >= float32.Count - 2, $"int8 and float labels agree on {agree} of {float32.Count} images");

        WithSavedZip(model, (proto, loaded) =>
        {
            Assert.Contains(proto.Graph.Node, n => n.OpType == "MatMulInteger");
            Assert.Equal(int8.Select(r => r.Label), ScoresOf(loaded.Transform(f.TestData)).Select(r => r.Label));
        });
    }

    [Fact]
    public void ScoringFlipAverageWritesTheMirrorIntoTheZip()
    {
        var options = PipelineFixture.Options();
        options.ScoringFlipAverage = true;
        var model = f.PipelineWith(options).Fit(f.TrainData);
        var vit = ((IEnumerable<ITransformer>)model).OfType<VisionTransformerTransformer>().Single();
        Assert.True(vit.ScoringFlipAverage);
        // Same seed and data as the fixture, so the same weights: the mirror is averaged in, so the scores move. (These
        // synthetic classes are not mirror-symmetric, so accuracy is not asserted: flip averaging is for data where a
        // mirrored image keeps its class, as with HorizontalFlip augmentation; the writer tests check the arithmetic.)
        var flipped = ScoresOf(model.Transform(f.TestData));
        var plain = ScoresOf(f.Model.Transform(f.TestData));
        Assert.NotEqual(plain.Select(r => r.Score[0]), flipped.Select(r => r.Score[0]));

        WithSavedZip(model, (proto, loaded) =>
        {
            Assert.Contains(proto.Graph.Initializer, t => t.Name == "const.flip_steps");
            Assert.Equal(flipped.Select(r => r.Score), ScoresOf(loaded.Transform(f.TestData)).Select(r => r.Score));
        });
    }

    [Fact]
    public void SavedZipLoadsInAFreshContextAndScoresIdentically()
    {
        string zip = Path.Combine(Path.GetTempPath(), "vit-pipeline-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            f.Ml.Model.Save(f.Model, f.TrainData.Schema, zip);
            var fresh = new MLContext(seed: 5);
            var loaded = fresh.Model.Load(zip, out var inputSchema);
            Assert.NotNull(inputSchema.GetColumnOrNull("ImagePath"));
            var before = ScoresOf(f.Model.Transform(f.TestData));
            var after = ScoresOf(loaded.Transform(fresh.Data.LoadFromEnumerable(f.Test.Rows)));
            Assert.Equal(before.Count, after.Count);
            for (int i = 0; i < before.Count; i++)
            {
                Assert.Equal(before[i].Label, after[i].Label);
                Assert.Equal(before[i].Score, after[i].Score);
            }

            var engine = fresh.Model.CreatePredictionEngine<PathInput, Prediction>(loaded);
            for (int i = 0; i < 10; i++)
            {
                var p = engine.Predict(new PathInput { ImagePath = f.Test.Rows[i].ImagePath });
                Assert.Equal(before[i].Label, p.PredictedLabel);
                Assert.Equal(before[i].Score, p.Score);
            }
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void PredictionEnginePoolGivesSerialResultsFromEightThreads()
    {
        using var pool = new PredictionEnginePool<PathInput, Prediction>(f.Ml, f.Model, f.TrainData.Schema);
        var inputs = f.Test.Rows.Select(r => new PathInput { ImagePath = r.ImagePath }).ToArray();
        var serial = inputs.Select(i => pool.Predict(i)).ToArray();
        var results = new Prediction[8, 200];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            for (int i = 0; i < 200; i++) results[t, i] = pool.Predict(inputs[(i + t) % inputs.Length]);
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        for (int t = 0; t < 8; t++)
        {
            for (int i = 0; i < 200; i++)
            {
                var expected = serial[(i + t) % inputs.Length];
                Assert.Equal(expected.PredictedLabel, results[t, i].PredictedLabel);
                Assert.Equal(expected.Score, results[t, i].Score);
            }
        }
    }

    [Fact]
    public void PredictionEnginePoolWithOneThreadPerEngineGivesTheDefaultPoolsResults()
    {
        using var defaults = new PredictionEnginePool<PathInput, Prediction>(f.Ml, f.Model, f.TrainData.Schema);
        using var pool = new PredictionEnginePool<PathInput, Prediction>(f.Ml, f.Model, f.TrainData.Schema, threadsPerEngine: 1);
        var inputs = f.Test.Rows.Select(r => new PathInput { ImagePath = r.ImagePath }).ToArray();
        var expected = inputs.Select(i => defaults.Predict(i)).ToArray();
        var results = new Prediction[4, 50];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            for (int i = 0; i < 50; i++) results[t, i] = pool.Predict(inputs[(i + t) % inputs.Length]);
        });
        for (int t = 0; t < 4; t++)
        {
            for (int i = 0; i < 50; i++)
            {
                var e = expected[(i + t) % inputs.Length];
                Assert.Equal(e.PredictedLabel, results[t, i].PredictedLabel);
                Assert.Equal(e.Score.Length, results[t, i].Score.Length);
                for (int k = 0; k < e.Score.Length; k++) Assert.Equal(e.Score[k], results[t, i].Score[k], 5);
            }
        }
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new PredictionEnginePool<PathInput, Prediction>(f.Ml, f.Model, f.TrainData.Schema, threadsPerEngine: 0));
        Assert.Equal("threadsPerEngine", bad.ParamName);
    }

    [Theory]
    [InlineData(null, 2, 1, 2)]
    [InlineData(null, 16, 1, 16)]
    [InlineData(2, 2, 2, 1)]
    [InlineData(4, 16, 4, 4)]
    [InlineData(3, 8, 3, 2)]
    [InlineData(4, 2, 4, 1)]
    public void PredictionEnginePoolSizesEnginesTimesThreadsToTheCores(int? threadsPerEngine, int cores, int threads, int engines)
    {
        Assert.Equal((threads, engines), PredictionEnginePool<PathInput, Prediction>.Size(threadsPerEngine, cores));
    }

    [Fact]
    public void DisposingPredictionEnginePoolDeletesTheTemporaryGraphCopiesOfItsEngines()
    {
        string temp = Path.Combine(Path.GetTempPath(), "vit-pool-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            var ml = new MLContext(1) { TempFilePath = temp };
            var pool = new PredictionEnginePool<PathInput, Prediction>(ml, f.Model, f.TrainData.Schema, threadsPerEngine: 1);
            Assert.Equal(Environment.ProcessorCount, pool.Engines);
            var inputs = f.Test.Rows.Select(r => new PathInput { ImagePath = r.ImagePath }).ToArray();
            Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
            {
                for (int i = 0; i < 10; i++) pool.Predict(inputs[(i + t) % inputs.Length]);
            });
            // Each engine's OnnxTransformer keeps its own copy of the graph in the context's temporary folder.
            Assert.NotEmpty(Directory.GetFiles(temp));
            pool.Dispose();
            Assert.Empty(Directory.GetFiles(temp));
            Assert.Throws<ObjectDisposedException>(() => pool.Predict(inputs[0]));
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [Fact]
    public void ExportedOnnxGivesTheSameProbabilitiesInOnnxRuntime()
    {
        var vit = ((IEnumerable<ITransformer>)f.Model).OfType<VisionTransformerTransformer>().Single();
        using var stream = new MemoryStream();
        vit.ExportOnnx(stream);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(stream.ToArray());
        var features = f.Model.Transform(f.TestData);
        var pixels = features.GetColumn<float[]>("Pixels").Take(5).ToArray();
        var scores = features.GetColumn<float[]>("Score").Take(5).ToArray();
        for (int i = 0; i < pixels.Length; i++)
        {
            var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels[i], new[] { 1, 3, 16, 16 });
            using var results = session.Run(new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("pixels", input) });
            var probabilities = results.Single(r => r.Name == "probabilities").AsEnumerable<float>().ToArray();
            for (int k = 0; k < 3; k++) Assert.Equal(scores[i][k], probabilities[k], 5);
        }
        Assert.Equal(new[] { "diagonal", "left", "top" }, vit.ClassNames.OrderBy(x => x));
    }

    [Fact]
    public void ContinuedTrainingStartsFromTheSavedWeightsAndResetsTheHeadForNewClasses()
    {
        string zip = Path.Combine(Path.GetTempPath(), "vit-initial-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            f.Ml.Model.Save(f.Model, f.TrainData.Schema, zip);
            var options = new VisionTransformerOptions
            {
                Architecture = ViTConfig.Tiny, Epochs = 1, BatchSize = 16, LearningRate = 1e-5, InitialModel = zip, Seed = 9,
            };
            var pipeline = f.Ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(f.Ml.Transforms.LoadImages("Image", null, "ImagePath"))
                .Append(f.Ml.Transforms.ResizeImages("Image", 16, 16))
                .Append(f.Ml.Transforms.ExtractPixels("Pixels", "Image"))
                .Append(f.Ml.MulticlassClassification.Trainers.VisionTransformer(options));
            // One epoch at a tiny learning rate keeps the accuracy of the weights it started from.
            var metrics = f.Ml.MulticlassClassification.Evaluate(pipeline.Fit(f.TrainData).Transform(f.TestData));
            Assert.True(metrics.MicroAccuracy >= 0.9, $"accuracy {metrics.MicroAccuracy}");

            // Two classes only: the head is reset to two outputs and training still runs.
            var twoClasses = f.Ml.Data.LoadFromEnumerable(f.Train.Rows.Where(r => r.Label != "diagonal"));
            var model = pipeline.Fit(twoClasses);
            var vit = ((IEnumerable<ITransformer>)model).OfType<VisionTransformerTransformer>().Single();
            Assert.Equal(2, vit.Architecture.NumClasses);
            Assert.Equal(2, vit.ClassNames.Count);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    /// <summary>Saves <paramref name="model"/> to a temporary zip and checks its ONNX graph and the zip loaded in a fresh context.</summary>
    private void WithSavedZip(ITransformer model, Action<global::Onnx.ModelProto, ITransformer> check)
    {
        string zip = Path.Combine(Path.GetTempPath(), "vit-variant-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            f.Ml.Model.Save(model, f.TrainData.Schema, zip);
            byte[] bytes;
            using (var stream = File.OpenRead(zip)) bytes = ModelZipFile.FindModelBytesInZip(stream)!;
            check(global::Onnx.ModelProto.Parser.ParseFrom(bytes), new MLContext(seed: 5).Model.Load(zip, out _));
        }
        finally
        {
            File.Delete(zip);
        }
    }

    private static List<(string Label, float[] Score)> ScoresOf(IDataView scored)
    {
        var rows = new List<(string, float[])>();
        using var cursor = scored.GetRowCursor(new[] { scored.Schema["PredictedLabel"], scored.Schema["Score"] });
        var label = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["PredictedLabel"]);
        var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        while (cursor.MoveNext())
        {
            ReadOnlyMemory<char> l = default;
            VBuffer<float> s = default;
            label(ref l);
            score(ref s);
            rows.Add((l.ToString(), s.DenseValues().ToArray()));
        }
        return rows;
    }
}
