using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace VitMlNet.Modeling;

/// <summary>
/// Inverted dropout (zero each element with probability p, scale the rest by 1/(1−p)), as <c>nn.Dropout</c>, with
/// the mask drawn by a counter-based generator in managed code on all cores. libtorch's CPU dropout draws one
/// double-precision Bernoulli per element on one thread; with the reference's dropout of 0.1 on attention weights
/// and activations that was half of the forward pass (measured in docs/benchmarks.md).
/// </summary>
/// <remarks>
/// Masks come from SplitMix64 over (seed, call, element), so they do not depend on thread scheduling:
/// <see cref="DropoutRandom.Seed"/> (the training engine calls it per epoch) makes runs reproducible.
/// Keep probability is quantized to 1/65536.
/// </remarks>
internal sealed class FastDropout : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates a dropout layer with drop probability <paramref name="p"/>.</summary>
    public FastDropout(double p) : base(nameof(FastDropout))
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout must be in [0, 1).");
        P = p;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => training && P > 0 ? input.mul(DropoutRandom.Mask(input.shape, P, input.device)) : input.alias();
}

/// <summary>The deterministic mask generator behind <see cref="FastDropout"/>.</summary>
internal static class DropoutRandom
{
    private static long seed = 0x5DEECE66DL;
    private static long calls;

    /// <summary>Restarts the mask sequence from <paramref name="value"/>.</summary>
    public static void Seed(long value)
    {
        Interlocked.Exchange(ref seed, value);
        Interlocked.Exchange(ref calls, 0);
    }

    /// <summary>A float tensor of the given shape holding 0 with probability p and 1/(1−p) otherwise.</summary>
    public static Tensor Mask(long[] shape, double p, Device device)
    {
        long n = shape.Aggregate(1L, (a, d) => a * d);
        long call = Interlocked.Increment(ref calls);
        ulong stream = Mix((ulong)Volatile.Read(ref seed) ^ Mix((ulong)call * 0x9E3779B97F4A7C15UL));
        uint threshold = (uint)Math.Round(p * 65536);
        int keepBits = BitConverter.SingleToInt32Bits((float)(1.0 / (1.0 - threshold / 65536.0)));
        var mask = torch.empty(shape, dtype: ScalarType.Float32);
        IntPtr data;
        unsafe
        {
            // A CPU tensor's bytes span covers its native storage; the pointer stays valid while the tensor lives.
            fixed (byte* raw = mask.bytes) data = (IntPtr)raw;
        }
        const int Chunk = 1 << 16;
        int chunks = (int)((n + Chunk - 1) / Chunk);
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
        {
            Span<float> span;
            unsafe
            {
                span = new Span<float>((float*)data + (long)c * Chunk, (int)Math.Min(Chunk, n - (long)c * Chunk));
            }
            Fill(span, stream + (ulong)c * (Chunk / 4), threshold, keepBits, Vector256.IsHardwareAccelerated);
        });
        return device.type == DeviceType.CPU ? mask : mask.to(device);
    }

    /// <summary>
    /// Fills <paramref name="span"/> with keep-scale or zero: element i draws 16 bits of the hash of counter + i/4. The
    /// vectorized path gives exactly the scalar path's masks (a test checks both on lengths that leave tails).
    /// </summary>
    internal static void Fill(Span<float> span, ulong counter, uint threshold, int keepBits, bool vectorized)
    {
        int i = 0;
        if (vectorized)
        {
            // 4 counters per vector, 16 masks per step (several times the scalar loop's speed): the same draws as
            // the scalar loop below, because the little-endian 16-bit pieces of each 64-bit hash are the four
            // consecutive draws it takes from that hash.
            var lanes = Vector256.Create(0UL, 1, 2, 3);
            var limit = Vector256.Create(threshold);
            var keep = Vector256.Create(keepBits).AsUInt32();
            for (; i + 16 <= span.Length; i += 16, counter += 4)
            {
                var draws = Mix(Vector256.Create(counter) + lanes).AsUInt16();
                var (low, high) = Vector256.Widen(draws);
                (Vector256.GreaterThanOrEqual(low, limit) & keep).AsSingle().StoreUnsafe(ref span[i]);
                (Vector256.GreaterThanOrEqual(high, limit) & keep).AsSingle().StoreUnsafe(ref span[i + 8]);
            }
        }
        for (; i + 4 <= span.Length; i += 4)
        {
            ulong r = Mix(counter++);
            span[i] = Pick(r & 0xFFFF, threshold, keepBits);
            span[i + 1] = Pick((r >> 16) & 0xFFFF, threshold, keepBits);
            span[i + 2] = Pick((r >> 32) & 0xFFFF, threshold, keepBits);
            span[i + 3] = Pick(r >> 48, threshold, keepBits);
        }
        ulong tail = Mix(counter);
        for (; i < span.Length; i++, tail >>= 16) span[i] = Pick(tail & 0xFFFF, threshold, keepBits);
    }

    /// <summary>Branch-free: 0f when the 16-bit draw is below the threshold, else the keep scale.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static float Pick(ulong draw, uint threshold, int keepBits) =>
        BitConverter.Int32BitsToSingle(keepBits & ~(int)(((long)draw - threshold) >> 63));

    private static Vector256<ulong> Mix(Vector256<ulong> z)
    {
        z += Vector256.Create(0x9E3779B97F4A7C15UL);
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * Vector256.Create(0x94D049BB133111EBUL);
        return z ^ Vector256.ShiftRightLogical(z, 31);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
