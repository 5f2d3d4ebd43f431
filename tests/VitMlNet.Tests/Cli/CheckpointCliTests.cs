using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VitMlNet.Checkpoints;
using VitMlNet.Tests.Checkpoints;
using static VitMlNet.Tests.Checkpoints.CheckpointFixtures;

namespace VitMlNet.Tests.Cli;

public class CheckpointCliTests
{
    [Fact]
    public void InfoDescribesACheckpoint()
    {
        var r = Vit.Run("info", PathOf("torchvision_vit.pth"), "--heads", "2", "--json");
        Assert.True(r.Code == 0, r.ToString());
        var json = r.Json();
        Assert.Equal("TorchVision", json.GetProperty("family").GetString());
        Assert.Equal(2, json.GetProperty("architecture").GetProperty("depth").GetInt32());
        Assert.Equal("PatchConv", json.GetProperty("architecture").GetProperty("stem").GetString());
        Assert.Equal(0.485, json.GetProperty("architecture").GetProperty("mean")[0].GetDouble(), 5);

        var text = Vit.Run("info", PathOf("hf_vit"));
        Assert.True(text.Code == 0, text.ToString());
        Assert.Contains("HuggingFace names", text.Out, StringComparison.Ordinal);
        Assert.Contains("class0", text.Out, StringComparison.Ordinal);

        var bad = Vit.Run("info", PathOf("timm_vit.safetensors"));
        Assert.Equal(2, bad.Code);
        Assert.Contains("--heads", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOnnxOfACheckpointTakesRawPixelsWithTheFamilysMeanAndStdInside()
    {
        string dir = Directory.CreateTempSubdirectory("vit-ckpt-cli-").FullName;
        try
        {
            string onnx = Path.Combine(dir, "deit.onnx");
            var r = Vit.Run("export-onnx", PathOf("timm_deit_distilled.pth"), onnx, "--heads", "2");
            Assert.True(r.Code == 0, r.ToString());
            using var session = new InferenceSession(onnx);
            var input = new DenseTensor<float>(Pixels(32), [2, 3, 32, 32]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("pixels", input)]);
            var logits = results.Single(x => x.Name == "logits").AsEnumerable<float>().ToArray();
            Assert.True(Onnx.OnnxTestSupport.MaxAbsDiff(Logits("timm_deit_distilled.pth"), logits) <= 1e-4);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TrainFromACheckpointFineTunesAndExportsBackToTimmNames()
    {
        using var train = new ImageFolderFixture(32, 51);
        string dir = Directory.CreateTempSubdirectory("vit-ckpt-cli-").FullName;
        try
        {
            string zip = Path.Combine(dir, "model.zip");
            var r = Vit.Run("train", "--data", train.Root, "--from", PathOf("hf_vit"), "--epochs", "1", "--batch", "16",
                "--layer-decay", "0.75", "--out", zip, "--json");
            Assert.True(r.Code == 0, r.ToString());
            var info = Vit.Run("info", zip, "--json").Json().GetProperty("architecture");
            Assert.Equal(32, info.GetProperty("imageHeight").GetInt32()); // the checkpoint's size for an image folder
            Assert.Equal(3, info.GetProperty("numClasses").GetInt32());
            Assert.Equal(0.229, info.GetProperty("std")[0].GetDouble(), 5);
            Assert.Contains("5.0e-05", Vit.Run("train", "--data", train.Root, "--from", PathOf("hf_vit"), "--epochs", "1", "--batch", "16", "--limit", "16",
                "--out", Path.Combine(dir, "again.zip")).Out, StringComparison.Ordinal);

            string back = Path.Combine(dir, "back.safetensors");
            var e = Vit.Run("export-safetensors", zip, back);
            Assert.True(e.Code == 0, e.ToString());
            var checkpoint = ViTCheckpoint.Load(back);
            Assert.Equal(CheckpointFamily.Timm, checkpoint.Family);
            Assert.Equal(3, checkpoint.Config.NumClasses);
            Assert.Equal(["diagonal", "left", "top"], checkpoint.ClassNames.Order());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
