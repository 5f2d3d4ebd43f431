using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.Modeling;

namespace VitMlNet.Tests;

public class SchemaErrorTests
{
    private sealed class Row
    {
        [VectorType(3 * 16 * 16)]
        public float[] Pixels { get; set; } = new float[3 * 16 * 16];
        public string Label { get; set; } = "";
    }

    private sealed class ByteRow
    {
        [VectorType(3 * 16 * 16)]
        public byte[] Pixels { get; set; } = new byte[3 * 16 * 16];
        public string Label { get; set; } = "";
    }

    private static readonly MLContext Ml = new(seed: 1);

    private static VisionTransformerOptions Options() => new() { Architecture = ViTConfig.Tiny, Epochs = 1, BatchSize = 4, Channels = 3, ImageHeight = 16, ImageWidth = 16 };

    private static IDataView Rows(params string[] labels)
    {
        var (pixels, _) = SyntheticImages.Make(labels.Length, 1);
        var rows = labels.Select((l, i) => new Row { Pixels = pixels.Skip(i * 768).Take(768).Select(b => (float)b).ToArray(), Label = l });
        return Ml.Data.LoadFromEnumerable(rows);
    }

    private static Exception FitError(IDataView data, VisionTransformerOptions? options = null) => Assert.ThrowsAny<Exception>(() =>
        Ml.Transforms.Conversion.MapValueToKey("Label").Append(Ml.MulticlassClassification.Trainers.VisionTransformer(options ?? Options())).Fit(data));

    [Fact]
    public void MissingFeatureColumnIsNamed()
    {
        var options = Options();
        options.FeatureColumnName = "Image";
        var e = FitError(Rows("a", "b"), options);
        Assert.Contains("feature column 'Image' was not found", e.Message);
        Assert.Contains("Pixels", e.Message);
    }

    [Fact]
    public void FeatureOfTheWrongItemTypeNamesExpectedAndActual()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new ByteRow { Label = "a" }, new ByteRow { Label = "b" } });
        var e = FitError(data);
        Assert.Contains("feature column 'Pixels'", e.Message);
        Assert.Contains("expected known-size vector of Single", e.Message);
        Assert.Contains("actual Vector<Byte", e.Message);
    }

    [Fact]
    public void LabelThatIsNotAKeyIsRejectedByGetOutputSchemaAndFit()
    {
        var trainer = Ml.MulticlassClassification.Trainers.VisionTransformer(Options());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(Rows("a", "b")));
        Assert.Contains("label column 'Label': expected a key type (use MapValueToKey), actual String", e.Message);

        var shape = new SchemaShape(new[]
        {
            SchemaChecks.MakeColumn("Pixels", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false),
            SchemaChecks.MakeColumn("Label", SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
        });
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(shape));
        Assert.Contains("label column 'Label': expected a key type (use MapValueToKey), actual String", e2.Message);
    }

    [Fact]
    public void GetOutputSchemaAddsScorePredictedLabelAndEmbedding()
    {
        var options = Options();
        options.EmbeddingColumnName = "Embedding";
        var shape = new SchemaShape(new[]
        {
            SchemaChecks.MakeColumn("Pixels", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false),
            SchemaChecks.MakeColumn("Label", SchemaShape.Column.VectorKind.Scalar, new KeyDataViewType(typeof(uint), 3), true),
        });
        var output = Ml.MulticlassClassification.Trainers.VisionTransformer(options).GetOutputSchema(shape);
        var names = output.Select(c => c.Name).ToArray();
        Assert.Equal(new[] { "Pixels", "Label", "Score", "PredictedLabel", "Embedding" }, names);
        var predicted = output.Single(c => c.Name == "PredictedLabel");
        Assert.True(predicted.IsKey);
        Assert.Contains(predicted.Annotations, a => a.Name == "KeyValues");
    }

    [Fact]
    public void VectorSizeThatDoesNotMatchTheOptionsStatesBoth()
    {
        var options = Options();
        options.ImageHeight = 20;
        var e = FitError(Rows("a", "b"), options);
        Assert.Contains("expected vector of size 960 (3x20x16 from the options)", e.Message);
        Assert.Contains("actual Vector<Single, 768>", e.Message);
    }

    [Fact]
    public void ScoringAnImageOfTheWrongSizeStatesExpectedAndActual()
    {
        var model = Ml.Transforms.Conversion.MapValueToKey("Label").Append(Ml.MulticlassClassification.Trainers.VisionTransformer(Options())).Fit(Rows("a", "b", "a", "b"));
        var vit = ((IEnumerable<ITransformer>)model).OfType<VisionTransformerTransformer>().Single();
        var small = Ml.Data.LoadFromEnumerable(new[] { new SmallRow() });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => vit.Transform(small));
        Assert.Contains("expected vector of Single of size 768 (the model's C×H×W)", e.Message);
        Assert.Contains("actual Vector<Single, 12>", e.Message);
    }

    private sealed class SmallRow
    {
        [VectorType(12)]
        public float[] Pixels { get; set; } = new float[12];
    }

    [Fact]
    public void EmptyDataIsRejected()
    {
        var data = Ml.Data.FilterByCustomPredicate<Row>(Rows("a", "b"), _ => true);
        var e = FitError(data);
        Assert.Contains("The training data is empty", e.Message);
        Assert.Contains("actual 0 rows", e.Message);
    }

    [Fact]
    public void ASingleClassIsRejectedWithItsName()
    {
        var e = FitError(Rows("cat", "cat", "cat"));
        Assert.Contains("Label column 'Label' holds a single class ('cat') in all 3 rows", e.Message);
    }

    [Fact]
    public void UnreadableImageNamesTheFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vit-bad-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string bad = Path.Combine(dir, "broken.png");
            File.WriteAllText(bad, "not an image");
            var data = Ml.Data.LoadFromEnumerable(new[] { new ImageRow { ImagePath = bad, Label = "a" }, new ImageRow { ImagePath = bad, Label = "b" } });
            var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(Ml.Transforms.LoadImages("Image", null, "ImagePath"))
                .Append(Ml.Transforms.ResizeImages("Image", 16, 16))
                .Append(Ml.Transforms.ExtractPixels("Pixels", "Image"))
                .Append(Ml.MulticlassClassification.Trainers.VisionTransformer(Options()));
            var e = Assert.ThrowsAny<Exception>(() => pipeline.Fit(data));
            Assert.Contains("broken.png", e.Message);
            Assert.Contains("row 0", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
