using TorchSharp;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// Applies <see cref="AugmentationOptions"/> to whole batches: random crop with padding, horizontal flip and
/// random erasing per image; Mixup or CutMix per batch (which also mixes the soft targets).
/// Randomness comes from the given generator and <see cref="Random"/>, so a seed reproduces a run.
/// </summary>
public sealed class BatchAugmenter
{
    private readonly AugmentationOptions options;

    /// <summary>Creates an augmenter.</summary>
    public BatchAugmenter(AugmentationOptions options) => this.options = options;

    /// <summary>
    /// Augments <paramref name="images"/> ([B, C, H, W], values in [0, 1]) in the current dispose scope.
    /// <paramref name="targets"/> ([B, K] soft labels) are mixed along with the images when Mixup/CutMix fires.
    /// </summary>
    public (Tensor Images, Tensor Targets) Apply(Tensor images, Tensor targets, Generator generator, Random random)
    {
        var x = images;
        if (options.RandomCropPadding > 0) x = RandomCrop(x, options.RandomCropPadding, random);
        if (options.HorizontalFlip)
        {
            var flip = torch.rand(new long[] { x.shape[0] }, generator: generator).lt(0.5).reshape(-1, 1, 1, 1);
            x = torch.where(flip, x.flip(3), x);
        }
        if (options.RandomErasingProbability > 0) x = RandomErase(x, options.RandomErasingProbability, generator);
        bool mixOn = options.MixupAlpha > 0 || options.CutMixAlpha > 0;
        if (mixOn && x.shape[0] > 1 && random.NextDouble() < options.MixProbability)
        {
            bool cutmix = options.CutMixAlpha > 0 && (options.MixupAlpha <= 0 || random.NextDouble() < options.CutMixSwitchProbability);
            var perm = torch.randperm(x.shape[0], generator: generator);
            var other = x.index_select(0, perm);
            var otherTargets = targets.index_select(0, perm);
            double lam;
            if (cutmix)
            {
                lam = SampleBeta(options.CutMixAlpha, random);
                long h = x.shape[2], w = x.shape[3];
                double cut = Math.Sqrt(1 - lam);
                long ch = (long)(h * cut), cw = (long)(w * cut);
                long cy = random.NextInt64(h), cx = random.NextInt64(w);
                long y0 = Math.Clamp(cy - ch / 2, 0, h), y1 = Math.Clamp(cy + ch / 2, 0, h);
                long x0 = Math.Clamp(cx - cw / 2, 0, w), x1 = Math.Clamp(cx + cw / 2, 0, w);
                var mask = torch.zeros(1, 1, h, w, dtype: x.dtype);
                mask[.., .., (int)y0..(int)y1, (int)x0..(int)x1] = torch.ones(1, dtype: x.dtype);
                x = x * (1 - mask) + other * mask;
                lam = 1 - (double)((y1 - y0) * (x1 - x0)) / (h * w);
            }
            else
            {
                lam = SampleBeta(options.MixupAlpha, random);
                x = x * lam + other * (1 - lam);
            }
            targets = targets * lam + otherTargets * (1 - lam);
        }
        return (x, targets);
    }

    private static Tensor RandomCrop(Tensor x, int pad, Random random)
    {
        long b = x.shape[0], h = x.shape[2], w = x.shape[3];
        var padded = torch.nn.functional.pad(x, new long[] { pad, pad, pad, pad });
        var crops = new Tensor[b];
        for (long i = 0; i < b; i++)
        {
            int dy = random.Next(2 * pad + 1), dx = random.Next(2 * pad + 1);
            crops[i] = padded[i].narrow(1, dy, h).narrow(2, dx, w);
        }
        return torch.stack(crops);
    }

    private static Tensor RandomErase(Tensor x, double probability, Generator generator)
    {
        long b = x.shape[0], h = x.shape[2], w = x.shape[3];
        // Per image: erase or not, area in [2%, 33%], log-uniform aspect in [0.3, 3.3], random position.
        var apply = torch.rand(new long[] { b }, generator: generator).lt(probability);
        var area = torch.rand(new long[] { b }, generator: generator).mul(0.33 - 0.02).add(0.02).mul(h * w);
        var logRatio = torch.rand(new long[] { b }, generator: generator).mul(Math.Log(3.3) - Math.Log(0.3)).add(Math.Log(0.3));
        var ratio = logRatio.exp();
        var eh = area.mul(ratio).sqrt().clamp(1, h).floor();
        var ew = area.div(ratio).sqrt().clamp(1, w).floor();
        var y0 = torch.rand(new long[] { b }, generator: generator).mul(h - eh + 1).floor();
        var x0 = torch.rand(new long[] { b }, generator: generator).mul(w - ew + 1).floor();
        var rows = torch.arange(h, dtype: ScalarType.Float32).reshape(1, h, 1);
        var cols = torch.arange(w, dtype: ScalarType.Float32).reshape(1, 1, w);
        var inRows = rows.ge(y0.reshape(-1, 1, 1)).logical_and(rows.lt((y0 + eh).reshape(-1, 1, 1)));
        var inCols = cols.ge(x0.reshape(-1, 1, 1)).logical_and(cols.lt((x0 + ew).reshape(-1, 1, 1)));
        var mask = inRows.logical_and(inCols).logical_and(apply.reshape(-1, 1, 1)).unsqueeze(1);
        var noise = torch.rand(x.shape, dtype: x.dtype, generator: generator);
        return torch.where(mask, noise, x);
    }

    /// <summary>Draws from Beta(α, α) via two Gamma(α) draws (Marsaglia–Tsang).</summary>
    internal static double SampleBeta(double alpha, Random random)
    {
        double a = SampleGamma(alpha, random), b = SampleGamma(alpha, random);
        return a + b == 0 ? 0.5 : a / (a + b);
    }

    private static double SampleGamma(double shape, Random random)
    {
        if (shape < 1) return SampleGamma(shape + 1, random) * Math.Pow(random.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do
            {
                double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
                z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                v = 1 + c * z;
            }
            while (v <= 0);
            v = v * v * v;
            double u = random.NextDouble();
            if (u < 1 - 0.0331 * z * z * z * z || Math.Log(u) < 0.5 * z * z + d * (1 - v + Math.Log(v))) return d * v;
        }
    }
}
