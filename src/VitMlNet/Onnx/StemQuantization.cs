using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VitMlNet.Modeling;

namespace VitMlNet.Onnx;

/// <summary>
/// Static int8 quantization of a ResNet18 stem's convolutions (<see cref="ViTOnnxExportOptions.StemActivationRanges"/>):
/// the per-channel weight quantization, the activation scale and zero point of a calibrated range, and the calibration
/// pass itself, which runs the float graph in ONNX Runtime on sample images and records the range of each tensor the
/// int8 graph quantizes.
/// </summary>
/// <remarks>
/// ONNX Runtime's CPU <c>ConvInteger</c> (dynamic quantization) has no optimized kernel; static quantization in the QDQ
/// form (QuantizeLinear → DequantizeLinear around each Conv, int8 weights per output channel, uint8 activations with
/// calibrated scales) is what its graph optimizer fuses into <c>QLinearConv</c>, <c>QLinearAdd</c> and a uint8 MaxPool.
/// </remarks>
internal static class StemQuantization
{
    /// <summary>Images of the training set (a stratified sample, the fit's seed) that the calibration runs through the float graph.</summary>
    public const int CalibrationImages = 64;

    /// <summary>
    /// Share of each calibrated tensor's values, per sign, that its range covers: the rest (the largest magnitudes)
    /// saturate. 1 would be MinMax; the high percentile ignores the rare outliers that would otherwise widen a step.
    /// </summary>
    public const double RangeQuantile = 0.9999;

    /// <summary>
    /// The largest magnitude of every int8 weight VitMlNet writes, the stem's and the encoder's: 63, 7-bit values
    /// (see <see cref="ViTOnnxWriter.QuantizeColumns"/> for why not 127).
    /// </summary>
    public const float WeightBound = 63f;

    /// <summary>The key of the normalized image, the first quantized tensor.</summary>
    public const string InputKey = "stem.backbone.input";

    /// <summary>Symmetric int8 quantization with one scale per output channel (axis 0) of a convolution weight [out, ...].</summary>
    public static (sbyte[] Values, float[] Scales) QuantizePerChannel(float[] weight, int outChannels)
    {
        int per = weight.Length / outChannels;
        var scales = new float[outChannels];
        var values = new sbyte[weight.Length];
        for (int o = 0; o < outChannels; o++)
        {
            float max = 0;
            for (int i = 0; i < per; i++) max = Math.Max(max, Math.Abs(weight[o * per + i]));
            float scale = max > 0 ? max / WeightBound : 1f;
            scales[o] = scale;
            for (int i = 0; i < per; i++) values[o * per + i] = (sbyte)Math.Clamp(MathF.Round(weight[o * per + i] / scale), -WeightBound, WeightBound);
        }
        return (values, scales);
    }

    /// <summary>The inverse of <see cref="QuantizePerChannel"/>: each value × its output channel's scale.</summary>
    public static float[] DequantizePerChannel(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales)
    {
        int per = values.Length / scales.Length;
        var data = new float[values.Length];
        for (int i = 0; i < data.Length; i++) data[i] = values[i] * scales[i / per];
        return data;
    }

    /// <summary>
    /// The uint8 scale and zero point of a range [min, max], widened to hold 0 (so that zero padding and ReLU's zero are
    /// exact): scale = (max − min) / 255, zero point = round(−min / scale).
    /// </summary>
    public static (float Scale, byte ZeroPoint) ActivationParameters(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        float scale = (max - min) / 255f;
        if (!(scale > 0) || !float.IsFinite(scale)) return (1f, 0);
        return (scale, (byte)Math.Clamp(MathF.Round(-min / scale), 0f, 255f));
    }

    /// <summary>
    /// Runs the float graph of <paramref name="config"/> and <paramref name="weights"/> in ONNX Runtime on
    /// <paramref name="images"/> (raw pixels [N, C, H, W], row-major, times <paramref name="pixelScale"/> inside the graph)
    /// and returns the range [min, max] of every tensor the int8 stem quantizes (by key), each side covering
    /// <see cref="RangeQuantile"/> of that side's values.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no ResNet18 stem, or there are no images.</exception>
    public static Dictionary<string, float[]> Calibrate(ViTConfig config, IReadOnlyDictionary<string, TensorData> weights, float pixelScale,
        float[] images, int count, int batchSize = 8)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(images);
        if (config.Stem != ViTStem.ResNet18) throw new ArgumentException($"stem calibration needs a ResNet18 stem (actual {config.Stem})", nameof(config));
        if (count <= 0) throw new ArgumentException($"stem calibration needs at least one image (actual {count})", nameof(count));
        long perImage = (long)config.Channels * config.ImageHeight * config.ImageWidth;
        if (images.LongLength != perImage * count)
            throw new ArgumentException($"calibration images hold {images.LongLength} values, expected {count} x {perImage}", nameof(images));

        var export = new ViTOnnxExportOptions { PixelScale = pixelScale, ProbabilitiesOutputName = null };
        var (proto, probes) = ViTOnnxWriter.BuildCalibrationGraph(config, weights, export);
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        using var session = new InferenceSession(ViTOnnxWriter.ToByteArray(proto), sessionOptions);
        var histograms = probes.Keys.ToDictionary(k => k, _ => (Positive: new Histogram(), Negative: new Histogram()), StringComparer.Ordinal);
        var outputNames = probes.Values.Distinct(StringComparer.Ordinal).ToArray();
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var batch = new DenseTensor<float>(images.AsMemory((int)(start * perImage), (int)(n * perImage)),
                [n, config.Channels, config.ImageHeight, config.ImageWidth]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(export.InputName, batch)], outputNames);
            var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>(), StringComparer.Ordinal);
            foreach (var (key, value) in probes)
            {
                var (positive, negative) = histograms[key];
                var data = byName[value] is DenseTensor<float> dense ? dense.Buffer.Span : byName[value].ToArray();
                positive.Add(data, sign: 1f);
                negative.Add(data, sign: -1f);
            }
        }
        return histograms.ToDictionary(kv => kv.Key,
            kv => new[] { -kv.Value.Negative.Quantile(RangeQuantile), kv.Value.Positive.Quantile(RangeQuantile) }, StringComparer.Ordinal);
    }

    /// <summary>
    /// A histogram of the magnitudes of one sign's values (bins of equal width from 0 to a power-of-two multiple of the
    /// first batch's maximum, doubled by merging neighbour bins whenever a larger value arrives), for quantiles of many
    /// millions of values without storing them.
    /// </summary>
    private sealed class Histogram
    {
        private const int Bins = 4096;
        private readonly long[] counts = new long[Bins];
        private float width;
        private long total;

        public void Add(ReadOnlySpan<float> data, float sign)
        {
            float max = 0;
            foreach (float v in data)
            {
                float m = v * sign;
                if (m > max) max = m;
            }
            if (max <= 0) return;
            if (width == 0) width = max / Bins;
            while (max >= width * Bins)
            {
                for (int i = 0; i < Bins / 2; i++) counts[i] = counts[2 * i] + counts[2 * i + 1];
                Array.Clear(counts, Bins / 2, Bins / 2);
                width *= 2;
            }
            float inverse = 1f / width;
            foreach (float v in data)
            {
                float m = v * sign;
                if (m <= 0) continue;
                counts[Math.Min(Bins - 1, (int)(m * inverse))]++;
                total++;
            }
        }

        /// <summary>The upper edge of the bin where the cumulative count reaches <paramref name="q"/> of the values (0 when there are none).</summary>
        public float Quantile(double q)
        {
            if (total == 0) return 0;
            long target = (long)Math.Ceiling(q * total);
            long seen = 0;
            for (int i = 0; i < Bins; i++)
            {
                seen += counts[i];
                if (seen >= target) return (i + 1) * width;
            }
            return Bins * width;
        }
    }
}
