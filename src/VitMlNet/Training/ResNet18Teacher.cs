using TorchSharp;
using VitMlNet.Checkpoints;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// The teacher of <see cref="VisionTransformerTeacher.ResNet18"/>: ML.NET's pretrained ResNet18, global average pooling,
/// and a linear softmax head fitted on the training images' pooled features (what ML.NET's <c>DnnFeaturizeImage</c> +
/// <c>LbfgsMaximumEntropy</c> pipeline fits). Its backbone is its own frozen copy of the network, or none when the
/// student's stem is that whole frozen network on the same pixels, whose feature maps it then shares.
/// </summary>
internal sealed class ResNet18Teacher : IDisposable
{
    /// <summary>Shortest side the teacher's network sees: smaller images are enlarged to it (the network's native 224).</summary>
    public const int MinSide = 224;

    private readonly VisionTransformer? network;
    private readonly Tensor? fromStudent;
    private readonly Tensor? toTeacherMean;
    private Tensor? weight;
    private Tensor? bias;

    private ResNet18Teacher(VisionTransformer? network, Tensor? fromStudent, Tensor? toTeacherMean)
    {
        this.network = network;
        this.fromStudent = fromStudent;
        this.toTeacherMean = toTeacherMean;
    }

    /// <summary>Whether the teacher reads the student's cached stem feature maps instead of running its own network.</summary>
    public bool SharesStudentStem => network is null;

    /// <summary>
    /// Whether a student's frozen stem computes exactly the teacher's feature maps: the whole ResNet18 (patch 32, no
    /// block left out) on pixels normalized as the network expects.
    /// </summary>
    public static bool StemIsTeacher(ViTConfig student, bool frozen) =>
        frozen && student.Stem == ViTStem.ResNet18 && student.PatchSize == 32 && student.StemSkipLastBlocks == 0 && student.Channels == 3
        && student.ImageHeight >= MinSide && student.ImageWidth >= MinSide
        && student.Mean.SequenceEqual(ResNet18Weights.Mean) && student.Std.SequenceEqual(ResNet18Weights.Std);

    /// <summary>A teacher that reads the student's stem feature maps (<see cref="StemIsTeacher"/>); fit it before use.</summary>
    public static ResNet18Teacher SharingStem() => new(null, null, null);

    /// <summary>
    /// A teacher with its own copy of the pretrained network (from <paramref name="onnxPath"/>) for a student whose
    /// images are normalized with <paramref name="student"/>'s mean and std; fit it before use.
    /// </summary>
    public static ResNet18Teacher WithOwnNetwork(ViTConfig student, string onnxPath, Device device)
    {
        var (height, width) = InputSize(student.ImageHeight, student.ImageWidth);
        var network = new VisionTransformer(ViTConfig.HybridResNet18.WithInput(3, height, width, student.NumClasses));
        try
        {
            ResNet18Weights.LoadInto(network, onnxPath);
            network.to(device);
            network.eval();
            foreach (var p in network.parameters()) p.requires_grad = false;
            // Student-normalized x → the network's normalization: (x·std_s + mean_s − mean_t) / std_t = x·a + b.
            float[] a = new float[3], b = new float[3];
            for (int c = 0; c < 3; c++)
            {
                int sc = student.Channels == 3 ? c : 0;
                a[c] = student.Std[sc] / ResNet18Weights.Std[c];
                b[c] = (student.Mean[sc] - ResNet18Weights.Mean[c]) / ResNet18Weights.Std[c];
            }
            return new ResNet18Teacher(network, torch.tensor(a, device: device).reshape(1, 3, 1, 1).DetachFromDisposeScope(),
                torch.tensor(b, device: device).reshape(1, 3, 1, 1).DetachFromDisposeScope());
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The size the teacher's network sees a student's H×W images at: enlarged so that the shorter side is at least <see cref="MinSide"/>.</summary>
    public static (int Height, int Width) InputSize(int height, int width)
    {
        if (Math.Min(height, width) >= MinSide) return (height, width);
        double s = (double)MinSide / Math.Min(height, width);
        return ((int)Math.Round(height * s), (int)Math.Round(width * s));
    }

    /// <summary>
    /// Pooled features [N, 512] of student-normalized images [N, C, H, W] through the teacher's own network (grey images
    /// repeated to RGB, images under <see cref="MinSide"/> on a side enlarged bilinearly), 8 images at a time, no gradients.
    /// </summary>
    public Tensor Features(Tensor images)
    {
        if (network is null) throw new InvalidOperationException("This teacher shares the student's stem; pool its feature maps with Pool.");
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = images.shape[1] == 1 ? images.expand(-1, 3, -1, -1) : images;
        x = x.mul(fromStudent!).add_(toTeacherMean!);
        var (h, w) = InputSize((int)x.shape[2], (int)x.shape[3]);
        if (h != x.shape[2] || w != x.shape[3]) x = nn.functional.interpolate(x, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
        return torch.cat(x.split(8).Select(part => Pool(network.StemFeatures(part))).ToList(), 0).MoveToOuterDisposeScope();
    }

    /// <summary>Global average pooling of feature maps [N, 512, h, w] → [N, 512].</summary>
    public static Tensor Pool(Tensor maps) => maps.mean([2, 3]);

    /// <summary>
    /// Fits the head: softmax regression on <paramref name="features"/> [N, 512] and <paramref name="labels"/> [N], mean
    /// cross-entropy plus (1/N)·½‖W‖² (ML.NET's <c>LbfgsMaximumEntropy</c> default L2 of 1 on the summed loss),
    /// full-batch Adam from zero weights, deterministic. Returns the head's accuracy on the images it was fitted on.
    /// </summary>
    public double Fit(Tensor features, Tensor labels, int classes)
    {
        weight?.Dispose();
        bias?.Dispose();
        using var scope = torch.NewDisposeScope();
        var f = features.detach().to(ScalarType.Float32);
        var y = labels.to(ScalarType.Int64).to(f.device);
        double l2 = 1.0 / f.shape[0];
        var w = new TorchSharp.Modules.Parameter(torch.zeros(classes, f.shape[1], device: f.device));
        var b = new TorchSharp.Modules.Parameter(torch.zeros(classes, device: f.device));
        using (var optimizer = torch.optim.Adam([w, b], 0.01))
        {
            for (int step = 0; step < 500; step++)
            {
                using var stepScope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(torch.nn.functional.linear(f, w, b), y).add(w.square().sum().mul(0.5 * l2));
                loss.backward();
                optimizer.step();
            }
        }
        weight = w.detach().clone().DetachFromDisposeScope();
        bias = b.detach().clone().DetachFromDisposeScope();
        using var noGrad = torch.no_grad();
        return Logits(f).argmax(1).eq(y).to(ScalarType.Float32).mean().item<float>();
    }

    /// <summary>The head's logits [N, K] for pooled features [N, 512].</summary>
    public Tensor Logits(Tensor features)
    {
        if (weight is null || bias is null) throw new InvalidOperationException("The teacher's head is not fitted yet.");
        using var noGrad = torch.no_grad();
        return nn.functional.linear(features, weight, bias);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        network?.Dispose();
        fromStudent?.Dispose();
        toTeacherMean?.Dispose();
        weight?.Dispose();
        bias?.Dispose();
    }
}
