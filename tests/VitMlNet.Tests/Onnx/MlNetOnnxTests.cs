using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.ModelZip;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using Xunit.Abstractions;
using static VitMlNet.Tests.Onnx.OnnxTestSupport;

namespace VitMlNet.Tests.Onnx;

/// <summary>
/// How ML.NET 6.0.0's OnnxTransformer (<c>ApplyOnnxModel(outputs, inputs, Stream)</c>) treats our graph: input
/// column types, output column types, save/load. These pin down ML.NET behavior the trainer relies on.
/// </summary>
public class MlNetOnnxTests(ITestOutputHelper output)
{
    private const int Size = 3 * 16 * 16;
    private static readonly ViTConfig Config = ViTConfig.Tiny;

    private sealed class PixelRow
    {
        [VectorType(Size)]
        public float[] Pixels { get; set; } = [];
    }

    private sealed class Prediction
    {
        [ColumnName("probabilities")]
        public float[] Probabilities { get; set; } = [];

        [ColumnName("predicted_index")]
        public long[] PredictedIndex { get; set; } = [];

        [ColumnName("predicted_label")]
        public string[] PredictedLabel { get; set; } = [];
    }

    private sealed class ProbabilitiesOnly
    {
        [ColumnName("probabilities")]
        public float[] Probabilities { get; set; } = [];
    }

    private static readonly string[] ClassNames = Enumerable.Range(0, 10).Select(i => $"c{i}").ToArray();

    private static ViTOnnxExportOptions AllOutputs(ViTOnnxInputLayout layout = ViTOnnxInputLayout.Flat) => new()
    {
        InputLayout = layout, InputName = "Pixels", FeaturesOutputName = "features",
        PredictedIndexOutputName = "predicted_index", PredictedLabelOutputName = "predicted_label",
    };

    private static readonly string[] OutputNames = ["logits", "probabilities", "features", "predicted_index", "predicted_label"];

    private static (MLContext Ml, IDataView Data, float[][] Rows) Data(int rows = 4)
    {
        var ml = new MLContext(seed: 1);
        var pixels = Enumerable.Range(0, rows).Select(i => RandomPixels(Config, 1, 100 + i)).ToArray();
        return (ml, ml.Data.LoadFromEnumerable(pixels.Select(p => new PixelRow { Pixels = p })), pixels);
    }

    private static byte[] Onnx(ViTOnnxExportOptions options, int seed = 21)
    {
        using var model = RandomModel(Config, seed);
        return ViTOnnxWriter.ToByteArray(ViTOnnxWriter.Build(model, ClassNames, options));
    }

    [Fact]
    public void FlatVectorColumnIsAcceptedAndEveryOutputIsAVectorColumn()
    {
        var (ml, data, rows) = Data();
        var onnx = Onnx(AllOutputs());
        var transformer = ml.Transforms.ApplyOnnxModel(OutputNames, ["Pixels"], new MemoryStream(onnx)).Fit(data);
        var scored = transformer.Transform(data);
        foreach (var column in scored.Schema) output.WriteLine($"{column.Name}: {column.Type}");

        // [N, K] outputs: the symbolic batch becomes 1, so a 2-D known-size vector [1, K] (Size K).
        AssertVector(scored.Schema["logits"].Type, NumberDataViewType.Single, 1, 10);
        AssertVector(scored.Schema["probabilities"].Type, NumberDataViewType.Single, 1, 10);
        AssertVector(scored.Schema["features"].Type, NumberDataViewType.Single, 1, Config.Dim);
        // [N] outputs: not scalars but vectors of size 1.
        AssertVector(scored.Schema["predicted_index"].Type, NumberDataViewType.Int64, 1);
        AssertVector(scored.Schema["predicted_label"].Type, TextDataViewType.Instance, 1);

        // Values equal ONNX Runtime's on the same rows.
        using var session = Session(onnx);
        var logits = scored.GetColumn<float[]>("logits").ToArray();
        var index = scored.GetColumn<long[]>("predicted_index").ToArray();
        var label = scored.GetColumn<string[]>("predicted_label").ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            var expected = Run(session, "Pixels", rows[i], [1, Size])["logits"].Floats!;
            Assert.True(MaxAbsDiff(expected, logits[i]) <= 1e-6f);
            Assert.Equal(Array.IndexOf(expected, expected.Max()), index[i].Single());
            Assert.Equal(ClassNames[index[i][0]], label[i].Single());
        }
    }

    [Fact]
    public void UInt32IndexIsAlsoAVectorOfSizeOneNotAKey()
    {
        var (ml, data, _) = Data();
        var options = AllOutputs();
        options.PredictedIndexType = ViTOnnxIndexType.UInt32;
        var scored = ml.Transforms.ApplyOnnxModel(["predicted_index"], ["Pixels"], new MemoryStream(Onnx(options))).Fit(data).Transform(data);
        var type = scored.Schema["predicted_index"].Type;
        AssertVector(type, NumberDataViewType.UInt32, 1);
        Assert.IsNotType<KeyDataViewType>(((VectorDataViewType)type).ItemType);
        Assert.All(scored.GetColumn<uint[]>("predicted_index"), v => Assert.InRange(v.Single(), 0u, 9u));
    }

    [Fact]
    public void RankZeroOutputBecomesAScalarColumnThatMlNetCannotRead()
    {
        // Declaring the [N] output with an empty shape makes ML.NET 6.0.0 type the column as a scalar, but its
        // scalar getter (MakeObjectGetter) only handles sequences/maps and throws on a tensor: not usable.
        var (ml, data, _) = Data();
        using var model = RandomModel(Config, 21);
        var options = AllOutputs();
        options.PredictedIndexType = ViTOnnxIndexType.UInt32;
        var proto = ViTOnnxWriter.Build(model, ClassNames, options);
        proto.Graph.Output.Single(o => o.Name == "predicted_index").Type.TensorType.Shape.Dim.Clear();
        var scored = ml.Transforms.ApplyOnnxModel(["predicted_index"], ["Pixels"], new MemoryStream(ViTOnnxWriter.ToByteArray(proto)))
            .Fit(data).Transform(data);
        Assert.Equal(NumberDataViewType.UInt32, scored.Schema["predicted_index"].Type);
        var e = Assert.ThrowsAny<Exception>(() => scored.GetColumn<uint>("predicted_index").ToArray());
        Assert.IsType<ArgumentNullException>(e.GetBaseException());
    }

    [Fact]
    public void NchwGraphAlsoAcceptsTheFlatVectorColumn()
    {
        // ML.NET reshapes a vector column into the ONNX input shape when the sizes divide, so [N, C, H, W] works too.
        var (ml, data, _) = Data();
        var flat = ml.Transforms.ApplyOnnxModel(["logits"], ["Pixels"], new MemoryStream(Onnx(AllOutputs()))).Fit(data).Transform(data);
        var nchw = ml.Transforms.ApplyOnnxModel(["logits"], ["Pixels"], new MemoryStream(Onnx(AllOutputs(ViTOnnxInputLayout.Nchw)))).Fit(data).Transform(data);
        AssertVector(nchw.Schema["logits"].Type, NumberDataViewType.Single, 1, 10);
        var a = flat.GetColumn<float[]>("logits").ToArray();
        var b = nchw.GetColumn<float[]>("logits").ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(MaxAbsDiff(a[i], b[i]) <= 1e-5f, $"row {i}: {MaxAbsDiff(a[i], b[i])}");
    }

    [Fact]
    public void WrongVectorSizeIsRejectedWhenFitting()
    {
        var ml = new MLContext(seed: 1);
        var schema = SchemaDefinition.Create(typeof(WrongRow));
        schema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 100);
        var data = ml.Data.LoadFromEnumerable(new[] { new WrongRow { Pixels = new float[100] } }, schema);
        var e = Assert.ThrowsAny<Exception>(() => ml.Transforms.ApplyOnnxModel(["logits"], ["Pixels"], new MemoryStream(Onnx(AllOutputs()))).Fit(data));
        output.WriteLine(e.GetType().Name + ": " + e.Message);
    }

    private sealed class WrongRow
    {
        public float[] Pixels { get; set; } = [];
    }

    [Fact]
    public void SaveAndLoadEmbedTheOnnxBytesInTheZip()
    {
        var (ml, data, rows) = Data();
        var onnx = Onnx(AllOutputs());
        var pipeline = ml.Transforms.ApplyOnnxModel(OutputNames, ["Pixels"], new MemoryStream(onnx))
            .Append(ml.Transforms.CopyColumns("Score", "probabilities"));
        var transformer = pipeline.Fit(data);
        var path = Path.Combine(Path.GetTempPath(), $"vitmlnet-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(transformer, data.Schema, path);
            using (var zip = ZipFile.OpenRead(path))
            {
                foreach (var entry in zip.Entries) output.WriteLine($"{entry.FullName}: {entry.Length} bytes");
                // The chain's first transform stores the model as a length-prefixed byte array (int32 + bytes).
                var entryWithModel = zip.GetEntry("TransformerChain/Transform_000/OnnxModel");
                Assert.NotNull(entryWithModel);
                Assert.Equal(onnx.Length + 4, entryWithModel!.Length);
            }

            using (var file = File.OpenRead(path))
                Assert.Equal(onnx, ModelZipFile.FindModelBytesInZip(file));
            var read = ModelZipFile.ReadFromZip(path);
            Assert.Equal(ClassNames, read.ClassNames);

            // A fresh context loads and scores without any VitMlNet type: identical scores.
            var ml2 = new MLContext();
            var loaded = ml2.Model.Load(path, out var inputSchema);
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, Size), inputSchema["Pixels"].Type);
            var before = transformer.Transform(data).GetColumn<float[]>("Score").ToArray();
            var after = loaded.Transform(data).GetColumn<float[]>("Score").ToArray();
            for (int i = 0; i < before.Length; i++) Assert.True(MaxAbsDiff(before[i], after[i]) <= 1e-6f, $"row {i}: {MaxAbsDiff(before[i], after[i])}");

            using var engine = ml2.Model.CreatePredictionEngine<PixelRow, Prediction>(loaded);
            var prediction = engine.Predict(new PixelRow { Pixels = rows[0] });
            Assert.True(MaxAbsDiff(before[0], prediction.Probabilities) <= 1e-6f);
            Assert.Equal(ClassNames[prediction.PredictedIndex.Single()], prediction.PredictedLabel.Single());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DisposingAPredictionEngineDisposesTheOnnxTransformersSession()
    {
        // ML.NET 6.0.0: a PredictionEngine shares the OnnxTransformer's InferenceSession and its Dispose disposes it,
        // after which the transformer fails (NullReferenceException inside InferenceSession.Run). Callers must not
        // dispose an engine over a transformer they keep using (or must build a fresh transformer).
        var (ml, data, rows) = Data(rows: 64);
        var scorer = ml.Transforms.ApplyOnnxModel(["probabilities"], ["Pixels"], new MemoryStream(Onnx(AllOutputs()))).Fit(data);
        var engine = ml.Model.CreatePredictionEngine<PixelRow, ProbabilitiesOnly>(scorer);
        engine.Predict(new PixelRow { Pixels = rows[0] });
        Assert.Equal(64, scorer.Transform(data).GetColumn<float[]>("probabilities").Count());
        engine.Dispose();
        var e = Assert.ThrowsAny<Exception>(() => scorer.Transform(data).GetColumn<float[]>("probabilities").Count());
        Assert.IsType<NullReferenceException>(e.GetBaseException());
    }

    private static void AssertVector(DataViewType type, PrimitiveDataViewType item, params int[] dims)
    {
        var vector = Assert.IsType<VectorDataViewType>(type);
        Assert.Equal(item, vector.ItemType);
        Assert.Equal(dims, vector.Dimensions.ToArray());
        Assert.Equal(dims.Aggregate(1, (a, b) => a * b), vector.Size);
    }
}
