using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace EventMlOps.Models;

/// <summary>A small builder for ONNX graphs (opset 17) over OnnxSharp's protobuf classes: initializers from
/// trained weights, nodes, typed inputs/outputs with a symbolic batch dimension, metadata_props. The trainers write
/// their models with it.</summary>
public sealed class OnnxGraph(string name, string producer = "emo-train")
{
    public const int Opset = 17;
    private readonly GraphProto _graph = new() { Name = name };
    private int _nodes;

    public string Initializer(string name, float[] data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    public string Initializer(string name, long[] data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node; returns its output name (given, or generated from the op).</summary>
    public string Node(string op, string[] inputs, string? output = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_nodes++}" };
        node.Input.AddRange(inputs);
        output ??= $"{node.Name}_out";
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary><c>y = x·Wᵀ + b</c> with a TorchSharp Linear's weight [out, in] and bias [out].</summary>
    public string Linear(string input, string prefix, float[] weight, float[] bias, int outFeatures, int inFeatures)
    {
        var w = Initializer(prefix + ".weight", weight, outFeatures, inFeatures);
        var b = Initializer(prefix + ".bias", bias, outFeatures);
        return Node("Gemm", [input, w, b], null, Int("transB", 1));
    }

    /// <param name="dims">A string is a symbolic dimension (e.g. "N"), an int a fixed one.</param>
    public void Input(string name, TensorProto.Types.DataType type, params object[] dims) => _graph.Input.Add(Value(name, type, dims));

    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) => _graph.Output.Add(Value(name, type, dims));

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string param ? new TensorShapeProto.Types.Dimension { DimParam = param } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public ModelProto Build(IEnumerable<KeyValuePair<string, string>> metadata, string docString)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = producer,
            ProducerVersion = typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "",
            Domain = "io.eventmlops",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    public static void Save(ModelProto model, string path) => File.WriteAllBytes(path, model.ToByteArray());
}
