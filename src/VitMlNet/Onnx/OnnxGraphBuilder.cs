using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace VitMlNet.Onnx;

/// <summary>A small helper that appends nodes and initializers to an ONNX graph with unique value names.</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly Dictionary<string, int> counters = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params AttributeProto[] attributes)
        => Nodes(opType, inputs, [output ?? Unique(opType)], attributes)[0];

    /// <summary>Adds a node with the given outputs and returns their names.</summary>
    public string[] Nodes(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Unique(opType + "_node") };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    /// <summary>A fresh value name with the given prefix.</summary>
    public string Unique(string prefix)
    {
        counters.TryGetValue(prefix, out int n);
        counters[prefix] = n + 1;
        return $"{prefix}_{n}";
    }

    /// <summary>Adds a float initializer (raw little-endian data) and returns its name.</summary>
    public string Floats(string name, ReadOnlySpan<float> data, params long[] dims) =>
        Initializer(name, TensorProto.Types.DataType.Float, ToRaw(data), dims);

    /// <summary>Adds an int8 initializer and returns its name.</summary>
    public string Int8s(string name, ReadOnlySpan<sbyte> data, params long[] dims) =>
        Initializer(name, TensorProto.Types.DataType.Int8, ToRaw(data), dims);

    /// <summary>Adds an int32 initializer and returns its name.</summary>
    public string Int32s(string name, ReadOnlySpan<int> data, params long[] dims) =>
        Initializer(name, TensorProto.Types.DataType.Int32, ToRaw(data), dims);

    /// <summary>Adds a scalar (rank 0) uint8 initializer, e.g. a QuantizeLinear zero point.</summary>
    public string UInt8Scalar(string name, byte value) =>
        Initializer(name, TensorProto.Types.DataType.Uint8, ToRaw<byte>([value]));

    /// <summary>Adds a scalar float initializer.</summary>
    public string Scalar(string name, float value) => Floats(name, [value]);

    /// <summary>Adds a 1-D int64 initializer (shapes, axes, split sizes).</summary>
    public string Int64s(string name, params long[] values) =>
        Initializer(name, TensorProto.Types.DataType.Int64, ToRaw<long>(values), values.Length);

    /// <summary>Adds a scalar (rank 0) int64 initializer, for Gather indices that drop the axis.</summary>
    public string Int64Scalar(string name, long value) =>
        Initializer(name, TensorProto.Types.DataType.Int64, ToRaw<long>([value]));

    /// <summary>Adds an initializer of raw little-endian data with the given shape (none: a scalar) and returns its name.</summary>
    private string Initializer(string name, TensorProto.Types.DataType type, ByteString raw, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = raw };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>Adds a 1-D string initializer (UTF-8).</summary>
    public string Strings(string name, IReadOnlyList<string> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.String };
        t.Dims.Add(values.Count);
        t.StringData.AddRange(values.Select(ByteString.CopyFromUtf8));
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>Declares a float or integer tensor input/output whose first dimension is the symbolic batch.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params long[] dimsAfterBatch)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (long d in dimsAfterBatch) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static ByteString ToRaw<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; big-endian hosts are not supported.");
        return ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
    }
}
