using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using VitMlNet.Modeling;
using VitMlNet.Scoring;

namespace VitMlNet.Onnx;

/// <summary>What <see cref="ViTOnnxReader"/> recovers from an ONNX model written by <see cref="ViTOnnxWriter"/>.</summary>
/// <param name="Config">The architecture.</param>
/// <param name="ClassNames">Class names in class-index order.</param>
/// <param name="Weights">Every parameter by state-dict name with its PyTorch shape (Linear weights [out, in]), bit-exact.</param>
/// <param name="ExportOptions">The options the graph was written with, or null when the model does not record them.</param>
internal sealed record ViTOnnxModel(
    ViTConfig Config,
    IReadOnlyList<string> ClassNames,
    IReadOnlyDictionary<string, TensorData> Weights,
    ViTOnnxExportOptions? ExportOptions)
{
    /// <summary>Builds a TorchSharp model with these weights (in training mode; call <c>eval()</c> before scoring).</summary>
    /// <returns>A new model the caller owns.</returns>
    public VisionTransformer CreateModel() => VisionTransformerWeights.CreateModel(Config, Weights);
}

/// <summary>
/// Reads a Vision Transformer back from an ONNX model written by <see cref="ViTOnnxWriter"/>, so training can continue
/// from it. The model embedded in an ML.NET model zip is found by the zip reader, <see cref="ModelZip.ModelZipFile"/>.
/// </summary>
internal static class ViTOnnxReader
{
    /// <summary>Reads a model from a stream holding a serialized ONNX ModelProto.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The data is not an ONNX model written by VitMlNet, was altered since it was
    /// written (its recorded SHA-256 differs), or its weights are incomplete.</exception>
    public static ViTOnnxModel Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > int.MaxValue) throw new InvalidDataException("The ONNX model is larger than 2 GiB, protobuf's limit.");
            buffer.Write(chunk, 0, n);
        }
        return Read(buffer.ToArray());
    }

    /// <summary>Reads a model from serialized ONNX bytes.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The data is not an ONNX model written by VitMlNet, was altered since it was
    /// written (its recorded SHA-256 differs), or its weights are incomplete.</exception>
    public static ViTOnnxModel Read(byte[] onnxBytes)
    {
        ArgumentNullException.ThrowIfNull(onnxBytes);
        var (actual, recorded) = Scoring.ModelZipLayout.ModelHash(onnxBytes);
        if (recorded is not null && !string.Equals(actual, recorded, StringComparison.Ordinal))
            throw new InvalidDataException($"The ONNX model was altered since it was written: SHA-256 {actual[..16]}..., recorded {(recorded.Length > 16 ? recorded[..16] : recorded)}...");
        return ReadHashed(onnxBytes);
    }

    /// <summary>Reads serialized ONNX bytes whose SHA-256 the caller has already checked.</summary>
    internal static ViTOnnxModel ReadHashed(byte[] onnxBytes) => Read(Parse(() => ModelProto.Parser.ParseFrom(onnxBytes)));

    /// <summary>Reads a model from an <c>.onnx</c> file.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The file is not a regular file holding an ONNX model written by VitMlNet,
    /// was altered, or its weights are incomplete.</exception>
    public static ViTOnnxModel Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = IO.SafeFile.OpenRead(path, "ONNX model");
        try
        {
            return Read(file);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>Reads a model from a parsed ONNX ModelProto.</summary>
    /// <returns>The configuration, class names and weights.</returns>
    /// <exception cref="InvalidDataException">The model was not written by VitMlNet, or its weights are incomplete.</exception>
    public static ViTOnnxModel Read(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var meta = model.MetadataProps.ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);
        if (!meta.TryGetValue(ModelZipKeys.Config, out var configJson))
            throw new InvalidDataException($"The ONNX model has no '{ModelZipKeys.Config}' metadata: it was not written by VitMlNet.");
        if (meta.TryGetValue(ModelZipKeys.Format, out var format) && format != ViTOnnxMetadata.FormatVersion)
            throw new InvalidDataException($"The ONNX model uses VitMlNet weight format '{format}'; this version reads format '{ViTOnnxMetadata.FormatVersion}'.");
        var config = ViTOnnxMetadata.DeserializeConfig(configJson);
        var configErrors = config.GetErrors();
        if (configErrors.Count > 0) throw new InvalidDataException($"The stored ViT configuration is invalid: {string.Join("; ", configErrors)}.");
        var classes = meta.TryGetValue(ModelZipKeys.Classes, out var classesJson)
            ? ViTOnnxMetadata.DeserializeClasses(classesJson)
            : Enumerable.Range(0, config.NumClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (classes.Length != config.NumClasses)
            throw new InvalidDataException($"The model stores {classes.Length} class names for {config.NumClasses} classes.");

        if (model.Graph is null) throw new InvalidDataException("The ONNX model has no graph.");
        CheckSelfContained(model.Graph);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer)
        {
            if (!initializers.TryAdd(t.Name, t)) throw new InvalidDataException($"The ONNX graph has two initializers named '{t.Name}'.");
        }
        var weights = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var missing = new List<string>();
        // A stored weight is a float initializer, or (int8 export) an int8 initializer with per-column scales.
        bool Has(string stored) => initializers.ContainsKey(stored)
            || (initializers.ContainsKey(stored + ViTOnnxMetadata.Int8Suffix) && initializers.ContainsKey(stored + ViTOnnxMetadata.ScaleSuffix));
        float[] Get(string stored, long[] shape)
        {
            if (initializers.TryGetValue(stored, out var plain)) return ReadFloats(plain, shape);
            var values = ReadInt8s(initializers[stored + ViTOnnxMetadata.Int8Suffix], shape);
            var scaleShape = shape.ToArray();
            scaleShape[^2] = 1;
            return ViTOnnxWriter.DequantizeColumns(values, ReadFloats(initializers[stored + ViTOnnxMetadata.ScaleSuffix], scaleShape), shape);
        }
        foreach (var (name, shape) in ViTParameterLayout.For(config))
        {
            if (initializers.TryGetValue(name, out var plain))
            {
                weights[name] = new(ReadFloats(plain, shape), shape);
            }
            else if (name.EndsWith(".to_qkv.weight", StringComparison.Ordinal) && ViTOnnxMetadata.QkvSuffixes.All(suffix => Has(name + suffix)))
            {
                var data = new float[ViTParameterLayout.Numel(shape)];
                long[] headShape = [config.Heads, config.Dim, config.DimHead];
                for (int part = 0; part < 3; part++)
                    ViTOnnxWriter.FromHeads(Get(name + ViTOnnxMetadata.QkvSuffixes[part], headShape), config, part, data);
                weights[name] = new(data, shape);
            }
            else if (name.EndsWith(".to_qkv.bias", StringComparison.Ordinal) && ViTOnnxMetadata.QkvBiasSuffixes.All(suffix => initializers.ContainsKey(name + suffix)))
            {
                long[] partShape = [config.Heads, 1, config.DimHead];
                weights[name] = new(ViTOnnxMetadata.QkvBiasSuffixes.SelectMany(suffix => ReadFloats(initializers[name + suffix], partShape)).ToArray(), shape);
            }
            else if (shape.Length == 2 && Has(name + ViTOnnxMetadata.TransposedSuffix))
            {
                var data = Get(name + ViTOnnxMetadata.TransposedSuffix, [shape[1], shape[0]]);
                weights[name] = new(ViTOnnxWriter.Transpose(data, (int)shape[1], (int)shape[0]), shape);
            }
            else if (shape.Length == 4 && initializers.ContainsKey(name + ViTOnnxMetadata.Int8Suffix) && initializers.ContainsKey(name + ViTOnnxMetadata.ScaleSuffix))
            {
                // A static int8 stem convolution's weight: int8 values with one scale per output channel.
                weights[name] = new(StemQuantization.DequantizePerChannel(ReadInt8s(initializers[name + ViTOnnxMetadata.Int8Suffix], shape),
                    ReadFloats(initializers[name + ViTOnnxMetadata.ScaleSuffix], [shape[0]])), shape);
            }
            else if (shape.Length == 1 && initializers.ContainsKey(name + ViTOnnxMetadata.Int32Suffix) && initializers.ContainsKey(name + ViTOnnxMetadata.ScaleSuffix))
            {
                // Its bias: int32 values with one scale per output channel.
                var values = ReadInt32s(initializers[name + ViTOnnxMetadata.Int32Suffix], shape);
                var scales = ReadFloats(initializers[name + ViTOnnxMetadata.ScaleSuffix], shape);
                weights[name] = new(values.Select((v, i) => (float)(v * (double)scales[i])).ToArray(), shape);
            }
            else
            {
                missing.Add(name);
            }
        }
        if (missing.Count > 0) throw new InvalidDataException($"The ONNX model lacks the weights {string.Join(", ", missing)}.");
        foreach (var (name, (data, _)) in weights)
        {
            int bad = Array.FindIndex(data, v => !float.IsFinite(v));
            if (bad >= 0)
                throw new InvalidDataException($"Weight '{name}' holds a non-finite value ({data[bad]} at index {bad}): the model is broken (a diverged training?).");
        }
        CheckGraphShapes(model.Graph, config);
        return new ViTOnnxModel(config, classes, weights, ViTOnnxMetadata.DeserializeExport(meta.GetValueOrDefault(ModelZipKeys.Export)));
    }

    /// <summary>
    /// Refuses what a VitMlNet graph never holds and ONNX Runtime would follow outside the model: tensors with external
    /// data (ONNX Runtime reads them from files named in the model), sparse initializers, and subgraphs.
    /// </summary>
    private static void CheckSelfContained(GraphProto graph)
    {
        static bool External(TensorProto t) => t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0;
        foreach (var t in graph.Initializer)
        {
            if (External(t)) throw new InvalidDataException($"The ONNX graph's initializer '{t.Name}' has external data (a file outside the model): refused.");
        }
        if (graph.SparseInitializer.Count > 0) throw new InvalidDataException("The ONNX graph has sparse initializers, which VitMlNet never writes: refused.");
        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if ((a.T is not null && External(a.T)) || a.Tensors.Any(External))
                    throw new InvalidDataException($"The ONNX graph's node '{node.Name}' has a tensor with external data (a file outside the model): refused.");
                if (a.G is not null || a.Graphs.Count > 0)
                    throw new InvalidDataException($"The ONNX graph's node '{node.Name}' has a subgraph, which VitMlNet never writes: refused.");
            }
        }
    }

    /// <summary>
    /// Checks the graph's image input and class outputs against the stored configuration: a graph whose input takes
    /// another channel count or size than its configuration says is not one VitMlNet wrote.
    /// </summary>
    private static void CheckGraphShapes(GraphProto graph, ViTConfig config)
    {
        long expected = (long)config.Channels * config.ImageHeight * config.ImageWidth;
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializerNames.Contains(i.Name)).ToList();
        if (inputs.Count != 1)
            throw new InvalidDataException($"The ONNX graph has {inputs.Count} image inputs, expected 1.");
        var dims = inputs[0].Type?.TensorType?.Shape?.Dim;
        if (dims is not null)
        {
            long product = 1;
            foreach (var d in dims)
            {
                if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0) product *= d.DimValue;
            }
            if (product != expected)
            {
                throw new InvalidDataException(
                    $"The ONNX graph's input '{inputs[0].Name}' takes {product} values per image, but its stored configuration is {config.Channels}x{config.ImageHeight}x{config.ImageWidth} ({expected} values).");
            }
        }
        foreach (var output in graph.Output)
        {
            var last = output.Type?.TensorType?.Shape?.Dim.LastOrDefault();
            if (last is not null && last.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && last.DimValue > 0
                && last.DimValue != config.NumClasses && last.DimValue != config.Dim)
            {
                throw new InvalidDataException(
                    $"The ONNX graph's output '{output.Name}' has {last.DimValue} values per image, but its stored configuration has {config.NumClasses} classes.");
            }
        }
    }

    /// <summary>Whether <paramref name="model"/> carries VitMlNet's configuration metadata.</summary>
    /// <returns>True for models written by <see cref="ViTOnnxWriter"/>.</returns>
    public static bool IsViTOnnxModel(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.MetadataProps.Any(m => m.Key == ModelZipKeys.Config);
    }

    private static ModelProto Parse(Func<ModelProto> parse)
    {
        try
        {
            return parse();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"The data is not an ONNX model: {e.Message}", e);
        }
    }

    /// <summary>Checks an initializer's element type and shape; returns its element count.</summary>
    private static long CheckTensor(TensorProto t, TensorProto.Types.DataType type, long[] expectedShape)
    {
        if (t.DataType != (int)type)
            throw new InvalidDataException($"Initializer '{t.Name}' has ONNX data type {t.DataType}, expected {type.ToString().ToUpperInvariant()} ({(int)type}).");
        if (!t.Dims.SequenceEqual(expectedShape))
            throw new InvalidDataException($"Initializer '{t.Name}' has shape [{ViTParameterLayout.Format(t.Dims)}], expected [{ViTParameterLayout.Format(expectedShape)}].");
        return ViTParameterLayout.Numel(expectedShape);
    }

    private static sbyte[] ReadInt8s(TensorProto t, long[] expectedShape) =>
        ReadValues(t, TensorProto.Types.DataType.Int8, expectedShape, t.Int32Data, v => (sbyte)v);

    private static int[] ReadInt32s(TensorProto t, long[] expectedShape) =>
        ReadValues(t, TensorProto.Types.DataType.Int32, expectedShape, t.Int32Data, v => v);

    /// <summary>A float initializer's values (raw or typed data), checked against <paramref name="expectedShape"/>.</summary>
    internal static float[] ReadFloats(TensorProto t, long[] expectedShape) =>
        ReadValues(t, TensorProto.Types.DataType.Float, expectedShape, t.FloatData, v => v);

    /// <summary>
    /// An initializer's values of element type <typeparamref name="T"/>: its little-endian raw data, or else its typed
    /// field (<paramref name="typed"/>, ONNX's storage for that type, converted by <paramref name="convert"/>), checked
    /// against <paramref name="type"/> and <paramref name="expectedShape"/>.
    /// </summary>
    private static T[] ReadValues<T, TTyped>(TensorProto t, TensorProto.Types.DataType type, long[] expectedShape, IReadOnlyList<TTyped> typed, Func<TTyped, T> convert)
        where T : unmanaged
    {
        long count = CheckTensor(t, type, expectedShape);
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != count * size)
                throw new InvalidDataException($"Initializer '{t.Name}' has {t.RawData.Length} bytes of data, expected {count * size}.");
            if (size > 1 && !BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; big-endian hosts are not supported.");
            return MemoryMarshal.Cast<byte, T>(t.RawData.Span).ToArray();
        }
        if (typed.Count != count)
            throw new InvalidDataException($"Initializer '{t.Name}' has {typed.Count} values, expected {count}.");
        return typed.Select(convert).ToArray();
    }
}
