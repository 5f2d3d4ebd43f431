using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using VitMlNet.Scoring;

namespace VitMlNet.Samples.WebApp;

/// <summary>
/// Holds the served model and replaces it when its zip is replaced on disk, as Microsoft.Extensions.ML's
/// <c>PredictionEnginePool</c> does with <c>watchForChanges</c>: the new zip is loaded beside the old one, swapped in
/// atomically, and the old one is disposed once the requests that hold it have finished.
/// </summary>
/// <remarks>
/// A request takes a <see cref="ServedModel.Lease"/> (<see cref="Acquire"/>) and scores through it; a reload never
/// waits for requests and a request never waits for a reload. A zip that fails to load (a half-written copy, a file
/// that is not a model) leaves the current model serving and is logged; the next change is tried again.
/// </remarks>
public sealed class ModelHost : IHostedService, IDisposable
{
    private readonly WebAppOptions options;
    private readonly ILogger<ModelHost> log;
    private readonly object reloadGate = new();
    private ServedModel? current;
    private FileSystemWatcher? watcher;
    private Timer? debounce;
    private bool disposed;

    /// <summary>Creates the host; the model is loaded by <see cref="StartAsync"/>.</summary>
    /// <param name="options">The app's options (the zip's path, the engines' threads).</param>
    /// <param name="log">Where reloads and failed loads are reported.</param>
    public ModelHost(IOptions<WebAppOptions> options, ILogger<ModelHost> log)
    {
        this.options = options.Value;
        this.log = log;
    }

    /// <summary>The model now served, or null before the first successful load.</summary>
    public ServedModel? Current => Volatile.Read(ref current);

    /// <summary>Why the last load failed, or null when it succeeded.</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// Takes a lease on the current model for one request; dispose it when done. Returns null while no model is loaded.
    /// </summary>
    /// <returns>A lease that keeps its model alive (even across a reload) until disposed, or null.</returns>
    public ServedModel.Lease? Acquire()
    {
        while (true)
        {
            var model = Volatile.Read(ref current);
            if (model is null) return null;
            var lease = model.TryAcquire();
            if (lease is not null) return lease;
            // Swapped out and drained between the read and the lease: read the new one.
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        string path = Path.GetFullPath(options.Model!);
        string folder = Path.GetDirectoryName(path)!;
        // Watch the folder, not the file: an atomic replace (write a temporary file, rename it over the zip) is a
        // rename in the folder, and the watched file's own handle would keep pointing at the old inode.
        watcher = new FileSystemWatcher(folder, Path.GetFileName(path))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        watcher.Changed += (_, _) => ScheduleReload();
        watcher.Created += (_, _) => ScheduleReload();
        watcher.Renamed += (_, e) =>
        {
            if (string.Equals(e.FullPath, path, StringComparison.Ordinal)) ScheduleReload();
        };
        debounce = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        watcher.EnableRaisingEvents = true;
        // The first load runs in the background: /health answers at once, /ready when the model is in.
        _ = Task.Run(Reload, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (watcher is not null) watcher.EnableRaisingEvents = false;
        return Task.CompletedTask;
    }

    /// <summary>Loads the zip now and swaps it in (what a file change triggers after a short quiet period).</summary>
    /// <returns>True when the zip loaded and is now served.</returns>
    public bool Reload()
    {
        lock (reloadGate)
        {
            if (disposed) return false;
            string path = Path.GetFullPath(options.Model!);
            ServedModel loaded;
            try
            {
                loaded = ServedModel.Load(path, options.ThreadsPerEngine == 0 ? null : options.ThreadsPerEngine);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException
                or ArgumentException or FormatException or NotSupportedException)
            {
                LastError = $"cannot load '{path}': {e.Message.ReplaceLineEndings(" ")}";
                log.LogError("{Error} (still serving {Current})", LastError, Current?.Version ?? "nothing");
                return false;
            }

            if (Current is { } same && same.Version == loaded.Version)
            {
                // A touch or a copy of the same bytes: keep the warm model.
                loaded.Retire();
                return true;
            }

            var old = Interlocked.Exchange(ref current, loaded);
            LastError = null;
            log.LogInformation("serving {Name} version {Version} ({Classes} classes){Replaced}", loaded.Name, loaded.Version,
                loaded.ClassNames.Count, old is null ? "" : $"; {old.Version} retires when its requests finish");
            old?.Retire();
            return true;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (reloadGate)
        {
            disposed = true;
            watcher?.Dispose();
            debounce?.Dispose();
            Interlocked.Exchange(ref current, null)?.Retire();
        }
    }

    private void ScheduleReload()
    {
        // Writers raise several events per replacement (create, writes, rename): load once they have been quiet.
        try
        {
            debounce?.Change(options.ReloadDelayMs, Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
            // Shutting down.
        }
    }
}

/// <summary>
/// One loaded model zip: a thread-safe <see cref="PredictionEnginePool{TInput, TOutput}"/>, its class names and
/// identity. Reference-counted: the host holds one reference while it serves the model, each request one more; the
/// pool is disposed when the last is released.
/// </summary>
public sealed class ServedModel
{
    private readonly PredictionEnginePool<ModelInput, ModelOutput> pool;
    private int references = 1;

    private ServedModel(PredictionEnginePool<ModelInput, ModelOutput> pool, VisionTransformerModelZip info, string name, string version, string path)
    {
        this.pool = pool;
        Info = info;
        Name = name;
        Version = version;
        Path = path;
    }

    /// <summary>The zip's file name.</summary>
    public string Name { get; }

    /// <summary>The first 12 hex digits of the zip's SHA-256: changes whenever different bytes are loaded.</summary>
    public string Version { get; }

    /// <summary>The zip's full path.</summary>
    public string Path { get; }

    /// <summary>What <see cref="VisionTransformerModelZip.Inspect(Stream)"/> read from the zip.</summary>
    public VisionTransformerModelZip Info { get; }

    /// <summary>The class names in the order of the Score column.</summary>
    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>When the model was loaded (UTC).</summary>
    public DateTimeOffset LoadedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>Whether the pool has been disposed (the model was replaced and its last request finished).</summary>
    public bool IsDisposed => Volatile.Read(ref references) == 0;

    /// <summary>Reads the zip once and loads the pool and the zip's description from the same bytes.</summary>
    internal static ServedModel Load(string path, int? threadsPerEngine)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var info = VisionTransformerModelZip.Inspect(new MemoryStream(bytes, writable: false));
        var ml = new MLContext(0);
        var model = ml.Model.Load(new MemoryStream(bytes, writable: false), out var schema);
        PredictionEnginePool<ModelInput, ModelOutput> pool;
        try
        {
            pool = new PredictionEnginePool<ModelInput, ModelOutput>(ml, model, schema, threadsPerEngine: threadsPerEngine);
        }
        finally
        {
            // The pool keeps its own copies; the loaded one only served to build them.
            (model as IDisposable)?.Dispose();
        }

        string version = Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
        return new ServedModel(pool, info, System.IO.Path.GetFileName(path), version, path);
    }

    /// <summary>A lease for one request, or null when the model has already been drained.</summary>
    internal Lease? TryAcquire()
    {
        while (true)
        {
            int n = Volatile.Read(ref references);
            if (n == 0) return null;
            if (Interlocked.CompareExchange(ref references, n + 1, n) == n) return new Lease(this);
        }
    }

    /// <summary>Drops the host's reference: the pool is disposed now, or when the last request releases its lease.</summary>
    internal void Retire() => Release();

    private void Release()
    {
        if (Interlocked.Decrement(ref references) == 0) pool.Dispose();
    }

    /// <summary>One request's hold on a <see cref="ServedModel"/>: the model stays alive until the lease is disposed.</summary>
    public sealed class Lease : IDisposable
    {
        private ServedModel? model;

        internal Lease(ServedModel model) => this.model = model;

        /// <summary>The leased model.</summary>
        public ServedModel Model => model ?? throw new ObjectDisposedException(nameof(Lease));

        /// <summary>Scores one image (thread-safe; ML.NET disposes the image after use).</summary>
        /// <param name="image">The image, e.g. from <see cref="SafeImage.Load(byte[], string, long)"/>.</param>
        /// <returns>The predicted label and the probabilities.</returns>
        public ModelOutput Predict(Microsoft.ML.Data.MLImage image) => Model.pool.Predict(new ModelInput { Image = image });

        /// <inheritdoc />
        public void Dispose() => Interlocked.Exchange(ref model, null)?.Release();
    }
}
