using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using VitMlNet.ModelZip;
using VitMlNet.Modeling;
using VitMlNet.Onnx;
using VitMlNet.Scoring;

namespace VitMlNet.Tests.Scoring;

/// <summary>The scoring package's zip inspection (no TorchSharp) agrees with the library's ONNX reader.</summary>
public sealed class VisionTransformerModelZipTests
{
    [Fact]
    public void InspectReadsClassesInputSizeAndArchitectureOfASavedZip()
    {
        using var images = new ImageFolderFixture(24, 7);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(images.Rows);
        var options = PipelineFixture.Options();
        options.Epochs = 1;
        options.EmbeddingColumnName = null;
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.MulticlassClassification.Trainers.VisionTransformer(options))
            .Fit(data);
        string zip = Path.Combine(Path.GetTempPath(), "vit-inspect-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            ml.Model.Save(model, data.Schema, zip);
            var info = VisionTransformerModelZip.Inspect(zip);
            var reference = ModelZipFile.ReadFromZip(zip);

            Assert.Equal(reference.ClassNames, info.ClassNames);
            VBuffer<ReadOnlyMemory<char>> slots = default;
            model.GetOutputSchema(data.Schema)["Score"].GetSlotNames(ref slots);
            Assert.Equal(slots.DenseValues().Select(s => s.ToString()), info.ClassNames);
            Assert.Equal((3, 16, 16), (info.Channels, info.ImageHeight, info.ImageWidth));
            Assert.Equal(ViTConfig.Tiny.Name, info.ArchitectureName);
            Assert.Equal(reference.Config, ViTOnnxMetadata.DeserializeConfig(info.ConfigJson));
            Assert.True(info.OnnxModelBytes > 10_000);
            Assert.Equal(info.ConfigJson, info.Metadata[VisionTransformerModelZip.ConfigKey]);
            Assert.True(VisionTransformerModelZip.IsVitModelZip(zip));
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void ZipsWithoutAVitModelAndOtherFilesAreRejected()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vit-inspect-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string plain = Path.Combine(dir, "plain.zip");
            using (var archive = ZipFile.Open(plain, ZipArchiveMode.Create))
            {
                using var entry = archive.CreateEntry("Model/Model.key").Open();
                var random = new Random(3);
                var bytes = new byte[4096];
                random.NextBytes(bytes);
                entry.Write(bytes);
            }
            string text = Path.Combine(dir, "model.txt");
            File.WriteAllText(text, "not a zip");

            Assert.Throws<InvalidDataException>(() => VisionTransformerModelZip.Inspect(plain));
            Assert.False(VisionTransformerModelZip.IsVitModelZip(plain));
            Assert.False(VisionTransformerModelZip.IsVitModelZip(text));
            Assert.False(VisionTransformerModelZip.IsVitModelZip(Path.Combine(dir, "missing.zip")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ModelInputAndOutputUseTheZipsColumnNames()
    {
        Assert.Equal("Image", ModelInput.ImageColumnName);
        Assert.Equal(("PredictedLabel", "Score"), (ModelOutput.PredictedLabelColumnName, ModelOutput.ScoreColumnName));
        Assert.DoesNotContain(typeof(ModelInput).Assembly.GetReferencedAssemblies(),
            a => a.Name!.StartsWith("TorchSharp", StringComparison.Ordinal) || a.Name == "VitMlNet");
    }
}
