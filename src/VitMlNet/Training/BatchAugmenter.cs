using TorchSharp;
using static TorchSharp.torch;

namespace VitMlNet.Training;

/// <summary>
/// Applies <see cref="AugmentationOptions"/> to whole batches: random crop with padding, horizontal flip and
/// random erasing per image; Mixup or CutMix per batch (which also mixes the soft targets).
/// Randomness comes from the given generator and <see cref="Random"/>, so a seed reproduces a run.
/// </summary>
internal sealed class BatchAugmenter(AugmentationOptions options)
{
    /// <summary>
    /// Augments <paramref name="images"/> ([B, C, H, W], values in [0, 1]) in the current dispose scope.
    /// <paramref name="targets"/> ([B, K] soft labels) are mixed along with the images when Mixup/CutMix fires.
    /// </summary>
    public (Tensor Images, Tensor Targets) Apply(Tensor images, Tensor targets, Generator generator, Random random)
    {
        var x = images;
        if (options.TrivialAugment) x = TrivialAugment(x, random);
        if (options.RandomResizedCropScale > 0) x = RandomResizedCrop(x, options.RandomResizedCropScale, random);
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

    /// <summary>
    /// One random box per image (area fraction in [<paramref name="minScale"/>, 1], aspect ratio log-uniform in [3/4, 4/3],
    /// inside the image), stretched back to the image's size by one batched bilinear resampling.
    /// </summary>
    internal static Tensor RandomResizedCrop(Tensor x, double minScale, Random random)
    {
        long b = x.shape[0];
        var theta = new float[b * 6];
        for (int i = 0; i < b; i++)
        {
            double area = minScale + (1 - minScale) * random.NextDouble();
            double ratio = Math.Exp(Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * random.NextDouble());
            double sx = Math.Min(1, Math.Sqrt(area * ratio)), sy = Math.Min(1, Math.Sqrt(area / ratio));
            // Output coordinates in [-1, 1] map to sx·u + tx: a box of width sx (of the full 2) centred at tx, inside the image.
            theta[i * 6] = (float)sx;
            theta[i * 6 + 2] = (float)((1 - sx) * (2 * random.NextDouble() - 1));
            theta[i * 6 + 4] = (float)sy;
            theta[i * 6 + 5] = (float)((1 - sy) * (2 * random.NextDouble() - 1));
        }
        var grid = torch.nn.functional.affine_grid(torch.tensor(theta, new long[] { b, 2, 3 }, device: x.device), x.shape, false);
        return torch.nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, false);
    }

    private enum TrivialOp { Identity, Brightness, Contrast, Solarize, Posterize, AutoContrast, Rotate, ShearX, ShearY, TranslateX, TranslateY }

    /// <summary>One TrivialAugment operation per image: geometric ones in a single affine resampling, photometric ones as per-image parameters.</summary>
    internal static Tensor TrivialAugment(Tensor x, Random random)
    {
        long b = x.shape[0];
        var theta = new float[b * 6];
        var brightness = new float[b];
        var contrast = new float[b];
        var solarize = new float[b];
        var posterize = new float[b];
        var autocontrast = new bool[b];
        bool geometric = false;
        for (int i = 0; i < b; i++)
        {
            var op = (TrivialOp)random.Next(Enum.GetValues<TrivialOp>().Length);
            double m = random.NextDouble();
            double sign = random.Next(2) == 0 ? -1 : 1;
            theta[i * 6] = 1;
            theta[i * 6 + 4] = 1;
            brightness[i] = 1;
            contrast[i] = 1;
            solarize[i] = 2;   // above every pixel: no-op
            posterize[i] = 1;  // quantization step of 1/255: no-op
            switch (op)
            {
                case TrivialOp.Brightness: brightness[i] = (float)(1 + sign * 0.9 * m); break;
                case TrivialOp.Contrast: contrast[i] = (float)(1 + sign * 0.9 * m); break;
                case TrivialOp.Solarize: solarize[i] = (float)(1 - m); break;
                case TrivialOp.Posterize: posterize[i] = MathF.Pow(2, (int)Math.Round(m * 6)); break;   // keep 8 - k bits
                case TrivialOp.AutoContrast: autocontrast[i] = true; break;
                case TrivialOp.Rotate:
                {
                    double a = sign * m * Math.PI / 6;
                    theta[i * 6] = (float)Math.Cos(a);
                    theta[i * 6 + 1] = (float)-Math.Sin(a);
                    theta[i * 6 + 3] = (float)Math.Sin(a);
                    theta[i * 6 + 4] = (float)Math.Cos(a);
                    geometric = true;
                    break;
                }
                case TrivialOp.ShearX: theta[i * 6 + 1] = (float)(sign * 0.3 * m); geometric = true; break;
                case TrivialOp.ShearY: theta[i * 6 + 3] = (float)(sign * 0.3 * m); geometric = true; break;
                case TrivialOp.TranslateX: theta[i * 6 + 2] = (float)(sign * 0.6 * m); geometric = true; break;   // ±30% of the width
                case TrivialOp.TranslateY: theta[i * 6 + 5] = (float)(sign * 0.6 * m); geometric = true; break;
            }
        }
        if (geometric)
        {
            var grid = torch.nn.functional.affine_grid(torch.tensor(theta, new long[] { b, 2, 3 }, device: x.device), x.shape, false);
            x = torch.nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, false);
        }
        Tensor PerImage(float[] values) => torch.tensor(values, new long[] { b, 1, 1, 1 }, device: x.device);
        Tensor Selected(Func<int, bool> pick) => torch.tensor(Enumerable.Range(0, (int)b).Select(pick).ToArray(), new long[] { b, 1, 1, 1 }, device: x.device);
        // Each photometric op touches only the images that drew it, so the others stay bit-identical.
        if (brightness.Any(v => v != 1)) x = torch.where(Selected(i => brightness[i] != 1), x.mul(PerImage(brightness)).clamp_(0, 1), x);
        if (contrast.Any(v => v != 1))
        {
            var mean = x.mean(new long[] { 1, 2, 3 }, keepdim: true);
            x = torch.where(Selected(i => contrast[i] != 1), x.sub(mean).mul_(PerImage(contrast)).add_(mean).clamp_(0, 1), x);
        }
        if (solarize.Any(v => v <= 1)) x = torch.where(x.ge(PerImage(solarize)), x.neg().add_(1), x);
        if (posterize.Any(v => v != 1))
        {
            // Quantize to multiples of 2^k/255 (keeping 8 - k bits); the small offset keeps exact k/255 values on their level.
            var step = PerImage(posterize);
            var quantized = x.mul(255).div_(step).add_(1e-3).floor_().mul_(step).div_(255);
            x = torch.where(Selected(i => posterize[i] != 1), quantized, x);
        }
        if (autocontrast.Any(a => a))
        {
            var low = x.amin(new long[] { 2, 3 }, keepdim: true);
            var high = x.amax(new long[] { 2, 3 }, keepdim: true);
            var stretched = x.sub(low).div_(high.sub(low).clamp_min_(1e-3f)).clamp_(0, 1);
            x = torch.where(Selected(i => autocontrast[i]), stretched, x);
        }
        return x;
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
