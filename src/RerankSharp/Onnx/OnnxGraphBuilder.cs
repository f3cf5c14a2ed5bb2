using RerankSharp.Onnx.Proto;

namespace RerankSharp.Onnx;

/// <summary>
/// Assembles an ONNX model from nodes and initializers. Architecture files (one per model type)
/// describe the network through this builder; it knows nothing about any architecture.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const string ContribDomain = "com.microsoft";

    /// <summary>RerankSharp's own CPU kernels (Inference/RerankKernels), registered with every session.</summary>
    public const string KernelDomain = "ai.rerank";

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names;
    private int _anonymous;

    public OnnxGraphBuilder(string name) : this(name, new HashSet<string>(StringComparer.Ordinal)) { }

    private OnnxGraphBuilder(string name, HashSet<string> names)
    {
        _graph = new GraphProto { Name = name };
        _names = names;
    }

    /// <summary>
    /// A branch body for <c>If</c>: its nodes read this graph's values by name, and it shares this
    /// graph's names, since ONNX forbids a subgraph value shadowing an outer one.
    /// </summary>
    public OnnxGraphBuilder Branch(string name) => new(name, _names);

    /// <summary>The graph as built so far (a branch body for <see cref="GraphAttribute"/>).</summary>
    public GraphProto Graph => _graph;

    public static AttributeProto GraphAttribute(string name, GraphProto graph) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph };

    public int NodeCount => _graph.Node.Count;

    /// <summary>A graph input of the given element type; a dimension is a symbol ("B") or a size.</summary>
    public string AddInput(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        return Claim(name);
    }

    public void AddOutput(string name, TensorProto.Types.DataType type, params object[] dims) =>
        _graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>
    /// An initializer whose bytes stay in a file beside the model (ONNX external data). ONNX Runtime
    /// maps or reads them itself, so the weights never pass through managed memory.
    /// </summary>
    public string AddExternalInitializer(string name, TensorProto.Types.DataType type, long[] dims,
        string relativeLocation, long offset, long length)
    {
        var tensor = Tensor(name, type, dims, t =>
        {
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = relativeLocation });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        });
        return AddInitializer(tensor);
    }

    /// <summary>A small constant held in the model bytes (shapes, scalars, axes).</summary>
    public string AddConstant(string name, long[] dims, params long[] values) =>
        AddInitializer(Tensor(name, TensorProto.Types.DataType.Int64, dims, t => t.Int64Data.AddRange(values)));

    public string AddConstant(string name, long[] dims, params float[] values) =>
        AddInitializer(Tensor(name, TensorProto.Types.DataType.Float, dims, t => t.FloatData.AddRange(values)));

    /// <summary>A uint8 scalar (a quantization zero point); ONNX carries it in int32_data.</summary>
    public string AddUInt8Constant(string name, byte value) =>
        AddInitializer(Tensor(name, TensorProto.Types.DataType.Uint8, [], t => t.Int32Data.Add(value)));

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, long[] dims, Action<TensorProto> fill)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        fill(tensor);
        return tensor;
    }

    private string AddInitializer(TensorProto tensor)
    {
        _graph.Initializer.Add(tensor);
        return Claim(tensor.Name);
    }

    /// <summary>Adds a node with one output named <paramref name="output"/> (or a fresh name) and returns that name.</summary>
    public string Node(string opType, string name, string[] inputs, string? output = null,
        IEnumerable<AttributeProto>? attributes = null, string domain = "")
        => Node(opType, name, inputs, [output ?? Fresh(name)], attributes, domain)[0];

    public string[] Node(string opType, string name, string[] inputs, string[] outputs,
        IEnumerable<AttributeProto>? attributes = null, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        foreach (var output in outputs) node.Output.Add(Claim(output));
        if (attributes is not null) node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputs;
    }

    public ModelProto ToModel(string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            // IR 10 is what opset 20 pairs with; ORT 1.31 reads up to IR 11.
            IrVersion = 10,
            ProducerName = "RerankSharp",
            ProducerVersion = producerVersion,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 20 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = ContribDomain, Version = 1 });
        // Declared only when used, so that a graph without our kernels stays readable by any ONNX Runtime.
        if (_graph.Node.Any(n => n.Domain == KernelDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = KernelDomain, Version = 1 });
        if (metadata is not null)
            foreach (var (key, value) in metadata)
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private string Fresh(string stem)
    {
        string name;
        do name = $"{stem}/out{(_anonymous++ == 0 ? "" : _anonymous.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
        while (_names.Contains(name));
        return name;
    }

    private string Claim(string name)
    {
        if (!_names.Add(name))
            throw new RerankException(RerankErrorKind.Internal, $"ONNX value '{name}' defined twice while building the graph. This is a bug.");
        return name;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension {dim} is neither a symbol nor a size."),
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
