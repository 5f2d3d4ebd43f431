using System.Collections.Concurrent;
using Microsoft.ML;

namespace VitMlNet;

/// <summary>
/// Thread-safe predictions over one model. ML.NET's <see cref="PredictionEngine{TSrc, TDst}"/> is not
/// thread-safe; this pool hands each caller its own engine and keeps a few for reuse (the role of
/// Microsoft.Extensions.ML's PredictionEnginePool, without the dependency injection).
/// </summary>
/// <remarks>
/// Engines created from one in-memory model share its OnnxTransformer, and ML.NET 6.0.0 crashes the process
/// (a native double free) when such engines run at once on several threads. So every engine here gets its own
/// copy of the model, loaded from the model's saved bytes, with its own ONNX Runtime session.
/// <para>
/// By default each session uses every core (ONNX Runtime's default), which gives one caller the lowest latency.
/// When several threads predict at once, those sessions compete for the same cores; pass
/// <c>threadsPerEngine</c> (cores divided by concurrent callers, e.g. 1) so that they run side by side instead.
/// docs/benchmarks.md has the measured throughput of both settings.
/// </para>
/// </remarks>
/// <typeparam name="TInput">Input class, e.g. one with an <c>MLImage Image</c> property.</typeparam>
/// <typeparam name="TOutput">Output class, e.g. with <c>string PredictedLabel</c> and <c>float[] Score</c>.</typeparam>
public sealed class PredictionEnginePool<TInput, TOutput> : IDisposable
    where TInput : class
    where TOutput : class, new()
{
    private readonly MLContext loader;
    private readonly byte[] modelBytes;
    private readonly ConcurrentBag<PredictionEngine<TInput, TOutput>> idle = new();
    private readonly int maxIdle;
    private int idleCount;
    private bool disposed;

    /// <summary>Creates a pool over an in-memory model (saved once to memory; each engine loads its own copy).</summary>
    /// <param name="ml">The context that loaded or trained the model.</param>
    /// <param name="model">The model, e.g. a fitted pipeline.</param>
    /// <param name="inputSchema">Schema of the data the model was fitted on, as for <c>Model.Save</c>; null for none.</param>
    /// <param name="maxIdle">Engines kept for reuse; the default is twice the processor count.</param>
    /// <param name="threadsPerEngine">ONNX Runtime threads of each engine's session; null keeps ONNX Runtime's
    /// default (every core). With a value, engines are loaded in a dedicated <see cref="MLContext"/> whose ONNX
    /// session options carry it (so components registered only on <paramref name="ml"/> are not seen there).</param>
    public PredictionEnginePool(MLContext ml, ITransformer model, DataViewSchema? inputSchema = null, int? maxIdle = null, int? threadsPerEngine = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        loader = Loader(ml, threadsPerEngine);
        using (var stream = new MemoryStream())
        {
            ml.Model.Save(model, inputSchema, stream);
            modelBytes = stream.ToArray();
        }
        this.maxIdle = maxIdle ?? 2 * Environment.ProcessorCount;
        if (this.maxIdle < 1) throw new ArgumentOutOfRangeException(nameof(maxIdle), maxIdle, "Keep at least one engine.");
        // Creating the first engine checks the input/output classes against the model up front.
        Return(Create());
    }

    /// <summary>Creates a pool over a model zip.</summary>
    /// <param name="modelZip">Path of a zip saved with <c>mlContext.Model.Save</c>.</param>
    /// <param name="ml">The context to load with; null creates one.</param>
    /// <param name="maxIdle">Engines kept for reuse; the default is twice the processor count.</param>
    /// <param name="threadsPerEngine">ONNX Runtime threads of each engine's session; null keeps ONNX Runtime's
    /// default (every core). With a value, engines are loaded in a dedicated <see cref="MLContext"/> whose ONNX
    /// session options carry it.</param>
    public PredictionEnginePool(string modelZip, MLContext? ml = null, int? maxIdle = null, int? threadsPerEngine = null)
    {
        loader = Loader(ml ?? new MLContext(), threadsPerEngine);
        modelBytes = File.ReadAllBytes(modelZip);
        this.maxIdle = maxIdle ?? 2 * Environment.ProcessorCount;
        if (this.maxIdle < 1) throw new ArgumentOutOfRangeException(nameof(maxIdle), maxIdle, "Keep at least one engine.");
        Return(Create());
    }

    /// <summary>Predicts one example; safe to call from many threads at once.</summary>
    public TOutput Predict(TInput example)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var engine = Rent();
        try
        {
            return engine.Predict(example);
        }
        finally
        {
            Return(engine);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        disposed = true;
        while (idle.TryTake(out var engine)) engine.Dispose();
    }

    private PredictionEngine<TInput, TOutput> Rent()
    {
        if (idle.TryTake(out var engine))
        {
            Interlocked.Decrement(ref idleCount);
            return engine;
        }
        return Create();
    }

    private void Return(PredictionEngine<TInput, TOutput> engine)
    {
        if (!disposed && Interlocked.Increment(ref idleCount) <= maxIdle)
        {
            idle.Add(engine);
            return;
        }
        Interlocked.Decrement(ref idleCount);
        engine.Dispose();
    }

    private static MLContext Loader(MLContext ml, int? threadsPerEngine)
    {
        if (threadsPerEngine is null) return ml;
        if (threadsPerEngine < 1)
            throw new ArgumentOutOfRangeException(nameof(threadsPerEngine), threadsPerEngine, "Give each engine at least one thread (or null for ONNX Runtime's default).");
        var loader = new MLContext();
        Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.SetOnnxSessionOption(loader, new Microsoft.ML.Transforms.Onnx.OnnxSessionOptions
        {
            IntraOpNumThreads = threadsPerEngine.Value,
            InterOpNumThreads = 1,
            PerSessionThreads = true,
        });
        return loader;
    }

    private PredictionEngine<TInput, TOutput> Create()
    {
        using var stream = new MemoryStream(modelBytes, writable: false);
        var copy = loader.Model.Load(stream, out _);
        // The engine owns its model copy: disposing the engine disposes the copy's ONNX session.
        return loader.Model.CreatePredictionEngine<TInput, TOutput>(copy, new PredictionEngineOptions { OwnsTransformer = true });
    }
}
