using System.Collections;
using System.IO.Compression;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;
using VitMlNet.Modeling;

namespace VitMlNet.Checkpoints;

/// <summary>
/// Reads a PyTorch state dict saved with <c>torch.save</c> (the zip format of PyTorch 1.6 and later: <c>.pt</c>,
/// <c>.pth</c>, <c>.bin</c>), as float32 arrays by name, without Python.
/// </summary>
/// <remarks>
/// The pickle is parsed by Razorvine.Pickle (TorchSharp.PyBridge's own unpickler). Unlike PyBridge 1.4.4's
/// <c>load_py</c>, which loads into a module whose names match the file's, this returns the raw dictionary (the names
/// are mapped afterwards), honours storage offsets and strides (tensors that share a storage), and unwraps the
/// <c>{"model": state_dict}</c> / <c>{"state_dict": ...}</c> containers training scripts save.
/// </remarks>
internal static class TorchStateDictFile
{
    private static readonly object RegistrationLock = new();

    /// <summary>Whether <paramref name="path"/> is a zip archive (the torch.save format).</summary>
    public static bool Looks(string path)
    {
        using var stream = IO.SafeFile.OpenRead(path, "checkpoint");
        Span<byte> head = stackalloc byte[4];
        return stream.Read(head) == 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04;
    }

    /// <summary>Reads the float tensors of the state dict in <paramref name="path"/>.</summary>
    public static Dictionary<string, TensorData> Read(string path)
    {
        if (!Looks(path))
        {
            throw new InvalidDataException(
                $"'{path}' is not a zip-format torch.save file (PyTorch 1.6+). Re-save it in Python with torch.save(state_dict, path), or as safetensors.");
        }
        using var archive = ZipFile.OpenRead(path);
        if (archive.Entries.Count > MaxEntries)
            throw new InvalidDataException($"'{path}' has {archive.Entries.Count} zip entries; a torch.save state dict has at most {MaxEntries}.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in archive.Entries)
        {
            if (!names.Add(e.FullName)) throw new InvalidDataException($"'{path}' lists the zip entry '{e.FullName}' twice.");
        }
        var pickles = archive.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
        if (pickles.Count != 1)
            throw new InvalidDataException(pickles.Count == 0 ? $"'{path}' has no data.pkl: not a torch.save file." : $"'{path}' has {pickles.Count} data.pkl entries; a torch.save file has one.");
        var pickle = pickles[0];
        if (pickle.Length > MaxPickleBytes)
            throw new InvalidDataException($"'{path}': data.pkl declares {pickle.Length} bytes; a state dict's pickle has at most {MaxPickleBytes}.");
        byte[] pickleBytes = ReadEntry(pickle, path);
        string prefix = pickle.FullName[..^"data.pkl".Length];
        object root;
        lock (RegistrationLock)
        {
            // Razorvine's constructor registry is global: (re)register ours for the duration of this load.
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor", new RebuildTensor(path));
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor(path));
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameter());
            Unpickler.registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
            using var unpickler = new StorageUnpickler(archive, prefix, path);
            try
            {
                root = unpickler.loads(pickleBytes);
            }
            catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
            {
                // Razorvine's refusals (unknown opcodes or classes, a truncated pickle) and malformed tensor arguments.
                throw new InvalidDataException($"'{path}': its pickle (data.pkl) is not a PyTorch state dict VitMlNet reads: {string.Join(" ", e.Message.Split(new[] { "\r", "\n" }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}", e);
            }
        }
        var dict = root as IDictionary ?? throw new InvalidDataException($"'{path}' holds a {root?.GetType().Name ?? "null"}, not a state dict.");
        // Training scripts wrap the state dict: {"model": ...} (DeiT, timm's train.py), {"state_dict": ...}, {"model_ema": ...}.
        foreach (var key in new[] { "model", "state_dict", "model_state_dict", "module" })
        {
            if (dict.Contains(key) && dict[key] is IDictionary inner && inner.Values.OfType<TensorData>().Any())
            {
                dict = inner;
                break;
            }
        }
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in dict)
        {
            if (entry.Value is TensorData t && entry.Key is string name) result[name] = t;
        }
        if (result.Count == 0) throw new InvalidDataException($"'{path}' holds no tensors.");
        return result;
    }

    /// <summary>Most zip entries of a torch.save file (one per storage, plus a few).</summary>
    private const int MaxEntries = 100_000;

    /// <summary>Most bytes of the pickle (names, shapes and strides only: the tensors' data are separate entries).</summary>
    private const long MaxPickleBytes = 64L << 20;

    /// <summary>Largest inflated/compressed ratio of a storage entry over 1 MiB (torch.save stores entries uncompressed).</summary>
    private const int MaxCompressionRatio = 20;

    /// <summary>Reads a zip entry whole, refusing one that inflates to another size than it declares.</summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, string path)
    {
        if (entry.Length > int.MaxValue) throw new InvalidDataException($"'{path}': zip entry '{entry.FullName}' declares {entry.Length} bytes; at most 2 GiB are read.");
        if (entry.Length > (1L << 20) && entry.Length > (long)MaxCompressionRatio * Math.Max(entry.CompressedLength, 1))
            throw new InvalidDataException($"'{path}': zip entry '{entry.FullName}' declares {entry.Length} bytes from {entry.CompressedLength} compressed: refused (a zip bomb?).");
        return Scoring.ModelZipLayout.ReadEntry(entry, path);
    }

    /// <summary>A storage of the archive: its float32 values.</summary>
    private sealed record Storage(float[] Values);

    private sealed class StorageUnpickler(ZipArchive archive, string prefix, string path) : Unpickler
    {
        private readonly Dictionary<string, Storage> storages = new(StringComparer.Ordinal);

        protected override object persistentLoad(object pid)
        {
            // ("storage", storage_type, key, location, numel)
            if (pid is not object[] { Length: >= 5 } tuple || tuple[0] as string != "storage")
                throw new InvalidDataException($"'{path}': unknown persistent id in the pickle.");
            string type = (tuple[1] as ClassDictConstructor)?.name ?? tuple[1]?.ToString() ?? "";
            string key = tuple[2]?.ToString() ?? "";
            long count = Convert.ToInt64(tuple[4], System.Globalization.CultureInfo.InvariantCulture);
            if (storages.TryGetValue(key, out var known)) return known;
            if (count < 0) throw new InvalidDataException($"'{path}': storage {key} declares {count} elements.");
            string dtype = type switch
            {
                "FloatStorage" => "F32",
                "HalfStorage" => "F16",
                "BFloat16Storage" => "BF16",
                "DoubleStorage" => "F64",
                _ => "",
            };
            var entry = archive.GetEntry(prefix + "data/" + key) ?? throw new InvalidDataException($"'{path}' lacks the storage data/{key}.");
            Storage storage;
            if (dtype.Length == 0)
            {
                storage = new Storage([]); // integer and boolean storages (e.g. BatchNorm's num_batches_tracked) are skipped
            }
            else
            {
                // The declared sizes agree before anything is inflated or allocated.
                long size = dtype switch { "F32" => 4, "F64" => 8, _ => 2 };
                if (count > int.MaxValue / size || entry.Length != count * size)
                    throw new InvalidDataException($"'{path}': storage {key} declares {count} {dtype} values but its zip entry holds {entry.Length} bytes.");
                storage = new Storage(SafetensorsFile.Decode(ReadEntry(entry, path), dtype, count, $"'{path}': storage {key}"));
            }
            storages[key] = storage;
            return storage;
        }
    }

    private sealed class RebuildTensor(string path) : IObjectConstructor
    {
        public object construct(object[] args)
        {
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
            if (args.Length < 4 || args[0] is not Storage storage || args[2] is not object[] sizes || args[3] is not object[] strides)
                throw new InvalidDataException($"'{path}': a tensor in the pickle is not (storage, offset, size, stride).");
            if (storage.Values.Length == 0) return new object();
            long offset = Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture);
            long[] shape = sizes.Select(d => Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            long[] stride = strides.Select(d => Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            string described = $"size [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}], offset {offset}";
            if (shape.Length != stride.Length || offset < 0 || shape.Any(d => d < 0) || stride.Any(d => d < 0))
                throw new InvalidDataException($"'{path}': a tensor has {described}: not a valid view.");
            // Checked against the storage before anything is allocated: a state dict's tensor has at most as many
            // elements as its storage (a stride of 0 that repeats one value a billion times is refused), and its last
            // element lies inside the storage.
            long count = 1, last = offset;
            foreach (var (d, st) in shape.Zip(stride))
            {
                count = d == 0 || count == 0 ? 0 : count <= storage.Values.Length / d ? count * d : long.MaxValue;
                if (d > 0) last = st <= (long.MaxValue - last) / Math.Max(d - 1, 1) ? last + (d - 1) * st : long.MaxValue;
            }
            if (count > storage.Values.Length)
                throw new InvalidDataException($"'{path}': a tensor with {described} has more elements than its storage's {storage.Values.Length}: refused.");
            if (count > 0 && last >= storage.Values.Length)
                throw new InvalidDataException($"'{path}': a tensor with {described} reaches past its storage's {storage.Values.Length} elements.");
            var data = new float[count];
            var index = new long[shape.Length];
            for (long i = 0; i < count; i++)
            {
                long at = offset;
                for (int d = 0; d < shape.Length; d++) at += index[d] * stride[d];
                data[i] = storage.Values[at];
                for (int d = shape.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < shape[d]) break;
                    index[d] = 0;
                }
            }
            return new TensorData(data, shape);
        }
    }

    private sealed class RebuildParameter : IObjectConstructor
    {
        // _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself.
        public object construct(object[] args) => args[0];
    }

    /// <summary>A state dict (an OrderedDict with a <c>_metadata</c> attribute, which is dropped).</summary>
    private sealed class OrderedDict : Hashtable
    {
        // Called by the unpickler's BUILD with the OrderedDict's attributes; a state dict's are metadata only.
#pragma warning disable IDE1006, CA1822 // the name and instance method are the unpickler's protocol
        public void __setstate__(Hashtable state) { }
#pragma warning restore IDE1006, CA1822
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new OrderedDict();
    }
}
