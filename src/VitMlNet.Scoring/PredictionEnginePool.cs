using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;

namespace VitMlNet;

/// <summary>
/// Thread-safe predictions over one model that use the machine's cores without oversubscribing them. ML.NET's
/// <see cref="PredictionEngine{TSrc, TDst}"/> is not thread-safe; this pool hands each caller its own engine (the role
/// of Microsoft.Extensions.ML's PredictionEnginePool, without the dependency injection).
/// </summary>
/// <remarks>
/// <para>
/// Engines created from one in-memory model share its OnnxTransformer, and ML.NET crashes the process (a native
/// double free) when such engines run at once on several threads. So every engine here gets its own copy of the
/// model, loaded from the model's saved bytes, with its own ONNX Runtime session.
/// </para>
/// <para>
/// Sizing (the knob is <c>threadsPerEngine</c>): at most <see cref="Engines"/> predictions run at once, each on an engine
/// whose ONNX Runtime session has <see cref="ThreadsPerEngine"/> intra-op threads, and
/// <see cref="Engines"/> × <see cref="ThreadsPerEngine"/> does not exceed the processor count (unless
/// <see cref="ThreadsPerEngine"/> alone does: then one engine). Callers beyond
/// <see cref="Engines"/> wait for a free engine instead of starting sessions that would fight over the same cores. The
/// default, one thread per engine and one engine per core, gives the most throughput when many threads predict
/// (a web server, a <c>Parallel.For</c> over files). An app with a single caller that wants its lowest latency passes
/// <c>threadsPerEngine: Environment.ProcessorCount</c>: one engine whose session uses every core.
/// docs/benchmarks.md ("Scoring speed") has the measured throughput of both.
/// </para>
/// <para>
/// Disposing the pool disposes every engine and the model copy it owns (its ONNX Runtime session and the temporary
/// copy of the ONNX graph that ML.NET's OnnxTransformer keeps under <see cref="MLContext.TempFilePath"/>). An engine
/// still predicting when the pool is disposed is disposed as soon as it is returned.
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
    private readonly SemaphoreSlim slots;
    private readonly int maxIdle;
    private int idleCount;
    private int disposed;

    /// <summary>Creates a pool over an in-memory model (saved once to memory; each engine loads its own copy).</summary>
    /// <param name="ml">The context that loaded or trained the model; its <see cref="MLContext.TempFilePath"/> is kept.</param>
    /// <param name="model">The model, e.g. a fitted pipeline.</param>
    /// <param name="inputSchema">Schema of the data the model was fitted on, as for <c>Model.Save</c>; null for none.</param>
    /// <param name="maxIdle">Engines kept for reuse; the default is <see cref="Engines"/>.</param>
    /// <param name="threadsPerEngine">ONNX Runtime intra-op threads of each engine's session. The default is 1 (one
    /// engine per core); the processor count gives one engine that uses every core (a single caller's lowest latency).
    /// More threads than cores give one engine with that many threads.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threadsPerEngine"/> or <paramref name="maxIdle"/> is below 1.</exception>
    public PredictionEnginePool(MLContext ml, ITransformer model, DataViewSchema? inputSchema = null, int? maxIdle = null, int? threadsPerEngine = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        (ThreadsPerEngine, Engines) = Size(threadsPerEngine, Environment.ProcessorCount);
        loader = Loader(ml, ThreadsPerEngine);
        using (var stream = new MemoryStream())
        {
            ml.Model.Save(model, inputSchema, stream);
            modelBytes = stream.ToArray();
        }
        this.maxIdle = CheckMaxIdle(maxIdle ?? Engines);
        slots = new SemaphoreSlim(Engines, Engines);
        // Creating the first engine checks the input/output classes against the model up front.
        Return(Create());
    }

    /// <summary>Creates a pool over a model zip.</summary>
    /// <param name="modelZip">Path of a zip saved with <c>mlContext.Model.Save</c>.</param>
    /// <param name="ml">The context to load with (its <see cref="MLContext.TempFilePath"/> is kept); null creates one.</param>
    /// <param name="maxIdle">Engines kept for reuse; the default is <see cref="Engines"/>.</param>
    /// <param name="threadsPerEngine">ONNX Runtime intra-op threads of each engine's session. The default is 1 (one
    /// engine per core); the processor count gives one engine that uses every core (a single caller's lowest latency).
    /// More threads than cores give one engine with that many threads.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threadsPerEngine"/> or <paramref name="maxIdle"/> is below 1.</exception>
    public PredictionEnginePool(string modelZip, MLContext? ml = null, int? maxIdle = null, int? threadsPerEngine = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelZip);
        (ThreadsPerEngine, Engines) = Size(threadsPerEngine, Environment.ProcessorCount);
        loader = Loader(ml ?? new MLContext(), ThreadsPerEngine);
        modelBytes = File.ReadAllBytes(modelZip);
        this.maxIdle = CheckMaxIdle(maxIdle ?? Engines);
        slots = new SemaphoreSlim(Engines, Engines);
        Return(Create());
    }

    /// <summary>ONNX Runtime intra-op threads of each engine's session.</summary>
    public int ThreadsPerEngine { get; }

    /// <summary>The most predictions that run at once: the processor count divided by <see cref="ThreadsPerEngine"/> (at least 1).</summary>
    public int Engines { get; }

    /// <summary>Predicts one example; safe to call from many threads at once (callers beyond <see cref="Engines"/> wait).</summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public TOutput Predict(TInput example)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        slots.Wait();
        try
        {
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
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Disposes every idle engine and the model copy it owns; engines in use are disposed when returned.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0) DisposeIdle();
    }

    /// <summary>
    /// Threads per engine and engines for <paramref name="cores"/> cores: the given threads (default 1) and as many engines
    /// as fit, so that engines × threads ≤ cores (one engine when the threads alone exceed the cores).
    /// </summary>
    internal static (int ThreadsPerEngine, int Engines) Size(int? threadsPerEngine, int cores)
    {
        int threads = threadsPerEngine ?? 1;
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threadsPerEngine), threadsPerEngine, $"threadsPerEngine must be at least 1; got {threadsPerEngine}.");
        return (threads, Math.Max(1, cores / threads));
    }

    private static int CheckMaxIdle(int maxIdle) =>
        maxIdle >= 1 ? maxIdle : throw new ArgumentOutOfRangeException(nameof(maxIdle), maxIdle, $"Keep at least one engine (maxIdle must be at least 1; got {maxIdle}).");

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
        if (Interlocked.Increment(ref idleCount) <= maxIdle && Volatile.Read(ref disposed) == 0)
        {
            idle.Add(engine);
            // A Dispose that ran between the check and the Add has already emptied the bag: empty it again.
            if (Volatile.Read(ref disposed) != 0) DisposeIdle();
            return;
        }
        Interlocked.Decrement(ref idleCount);
        engine.Dispose();
    }

    private void DisposeIdle()
    {
        while (idle.TryTake(out var engine)) engine.Dispose();
    }

    /// <summary>
    /// A context whose ONNX session options give each session <paramref name="threads"/> intra-op threads of its own
    /// (one inter-op thread: the graph runs sequentially), keeping <paramref name="ml"/>'s temporary-file folder.
    /// Components registered only on <paramref name="ml"/> are not seen there.
    /// </summary>
    internal static MLContext Loader(MLContext ml, int threads)
    {
        var loader = new MLContext { TempFilePath = ml.TempFilePath };
        loader.SetOnnxSessionOption(new OnnxSessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            PerSessionThreads = true,
        });
        return loader;
    }

    private PredictionEngine<TInput, TOutput> Create()
    {
        using var stream = new MemoryStream(modelBytes, writable: false);
        var copy = loader.Model.Load(stream, out _);
        // The engine owns its model copy: disposing the engine disposes the copy's ONNX session and its temporary graph file.
        return loader.Model.CreatePredictionEngine<TInput, TOutput>(copy, new PredictionEngineOptions { OwnsTransformer = true });
    }
}
