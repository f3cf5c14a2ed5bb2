using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>
/// How one graph's encoder multiplies activations by its weight matrices, and in which number format the block's
/// arithmetic runs: fp32 (<c>FusedMatMul</c> over the stored [out, in] weight), fp16 (the same over a float16 view,
/// for the CUDA provider) or int8 by an <see cref="Int8Recipe"/> over <see cref="Int8WeightCache"/>'s matrices.
/// </summary>
/// <remarks>
/// fp16 keeps the reference's numerics where they live: the residual stream, every LayerNorm and the head stay
/// float32. A block casts its (normed) input to float16 once (<see cref="ToCompute"/>), runs projections, attention and
/// the activation in float16, and casts each projection result back (<see cref="ToFloat32"/>) before the residual add
/// and LayerNorm. MultiHeadAttention's CUDA kernels accumulate QKᵀ and softmax in float32 internally.
/// </remarks>
internal sealed class EncoderProjection
{
    private readonly OnnxGraphBuilder _g;
    private readonly CheckpointTensors _tensors;
    private readonly Int8WeightCache? _int8;
    private readonly int _layerCount;
    private readonly Dictionary<string, string> _float16 = new(StringComparer.Ordinal);

    public EncoderProjection(OnnxGraphBuilder graph, CheckpointTensors tensors, Precision precision, Int8Recipe? recipe, Int8WeightCache? int8,
        int layerCount)
    {
        if (precision == Precision.Int8 && int8 is null)
            throw new RerankException(RerankErrorKind.Internal, "int8 projections without their weight cache. This is a bug.");
        _g = graph;
        _tensors = tensors;
        Precision = precision;
        Recipe = recipe ?? Int8Recipe.Default;
        _int8 = precision == Precision.Int8 ? int8 : null;
        _layerCount = layerCount;
    }

    public Precision Precision { get; }

    public Int8Recipe Recipe { get; }

    /// <summary>SmoothQuant's s per smoothed matrix, by weight name: its cached weights are W · diag(s), so its input is divided by s.</summary>
    public IReadOnlyDictionary<string, float[]>? SmoothingFactors { get; init; }

    /// <summary>The element type of the block's arithmetic between <see cref="ToCompute"/> and <see cref="ToFloat32"/>.</summary>
    public DataType ComputeType => Precision == Precision.Fp16 ? DataType.Float16 : DataType.Float;

    /// <summary>A checkpoint tensor read inside the compute region (a bias of a fused op, an embedding table): float16 in fp16, else float32.</summary>
    public string Weight(string name) => Weight(name, 0, 1);

    /// <summary>As <see cref="Weight(string)"/>, part <paramref name="part"/> of <paramref name="parts"/> equal row ranges of the tensor.</summary>
    public string Weight(string name, int part, int parts) => Precision == Precision.Fp16 ? Weight16(name, part, parts) : _tensors.Float32(name, part, parts);

    /// <summary>
    /// Whether a merged matrix (q‖k‖v, input‖gate) is projected part by part over row ranges of the stored weight
    /// (<see cref="CheckpointTensors.Stored(string, int, int)"/>), which spares the graph a Split of the product: fp32 and
    /// fp16. int8 quantizes whole checkpoint matrices, so it projects the merged one and splits.
    /// </summary>
    public bool ProjectsParts => Precision != Precision.Int8;

    /// <summary>A float32 activation as the block computes it: cast to float16 in fp16, itself otherwise.</summary>
    public string ToCompute(string module, string value) =>
        Precision == Precision.Fp16 ? _g.Node("Cast", $"{module}/to_float16", [value], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float16)]) : value;

    /// <summary>A compute-type value back in float32 for the residual stream: cast in fp16, itself otherwise.</summary>
    public string ToFloat32(string module, string value) =>
        Precision == Precision.Fp16 ? _g.Node("Cast", $"{module}/to_float32", [value], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]) : value;

    /// <summary>
    /// x · Wᵀ without the bias (which the following fused op adds), W as stored: [out, in]. FusedMatMul with transB reads
    /// it as it is, so ONNX Runtime has nothing to transpose or concatenate at session start (a Transpose folded over
    /// 1.2 GB of weights took ~8 s of the load) and prepacks straight from the file's layout. In int8 the recipe picks
    /// the integer path per matrix, by layer and by <paramref name="kind"/> (the module's name inside its layer).
    /// </summary>
    public string Project(string module, string input, int layer, string kind) => Project(module, input, layer, kind, 0, 1);

    /// <summary>
    /// x · W[part]ᵀ over part <paramref name="part"/> of <paramref name="parts"/> equal row ranges of W (see
    /// <see cref="ProjectsParts"/>), the node named <c>{module}/{part}</c>.
    /// </summary>
    public string Project(string module, string input, int layer, string kind, int part, int parts)
    {
        if (parts > 1)
        {
            if (!ProjectsParts)
                throw new RerankException(RerankErrorKind.Internal, $"{module}: int8 projects whole matrices. This is a bug.");
            return MatMulTransposed($"{module}/{part}", input, Weight($"{module}.weight", part, parts));
        }
        if (_int8 is null || Recipe.KeepsFp32(layer, _layerCount, kind))
            return MatMulTransposed(module, input, Weight($"{module}.weight"));
        if (SmoothingFactors is not null && SmoothingFactors.TryGetValue($"{module}.weight", out var s))
        {
            // x / s as a product by 1/s: one elementwise pass over the input, before its quantization.
            var inverse = _g.AddConstant($"{module}.smoothing", [s.Length], s.Select(v => 1f / v).ToArray());
            input = _g.Node("Mul", $"{module}/smooth", [input, inverse]);
        }
        if (Recipe.Activations == Int8Activations.WeightsOnlyBlock32)
            return MatMulTransposed(module, input, _int8.RoundedWeight(_g, $"{module}.weight"));
        if (Recipe.Activations == Int8Activations.Block32)
            return BlockInt8MatMul(module, input, $"{module}.weight");
        var (b, bScale, bZeroPoint) = _int8.IntegerWeight(_g, $"{module}.weight");
        if (Recipe.Activations == Int8Activations.PerTensor)
            return _g.Node("DynamicQuantizeMatMul", module, bZeroPoint is null ? [input, b, bScale] : [input, b, bScale, bZeroPoint],
                domain: OnnxGraphBuilder.ContribDomain);
        return PerRowInt8MatMul(module, input, b, bScale, bZeroPoint);
    }

    private string MatMulTransposed(string module, string input, string weight) =>
        _g.Node("FusedMatMul", module, [input, weight],
            attributes: [OnnxGraphBuilder.Int("transB", 1), OnnxGraphBuilder.Float("alpha", 1f)], domain: OnnxGraphBuilder.ContribDomain);

    // MatMulNBits over q8_0 blocks. accuracy_level 4 quantizes A to int8 per block of 32 along K (per token) and
    // multiplies in integers, as llama.cpp's q8_0 × q8_0 dot product does; lower levels would dequantize B to float.
    private string BlockInt8MatMul(string module, string input, string weightName)
    {
        var (b, scales) = _int8!.BlockWeight(_g, weightName);
        var (outFeatures, inFeatures) = _tensors.Shape2(weightName);
        return _g.Node("MatMulNBits", module, [input, b, scales], domain: OnnxGraphBuilder.ContribDomain, attributes:
        [
            OnnxGraphBuilder.Int("K", inFeatures), OnnxGraphBuilder.Int("N", outFeatures), OnnxGraphBuilder.Int("bits", 8),
            OnnxGraphBuilder.Int("block_size", 32), OnnxGraphBuilder.Int("accuracy_level", 4),
        ]);
    }

    // Symmetric int8 per token row: s = max|x_row| / 127, q = round(x / s) carried as uint8 with zero
    // point 128 (MLAS's integer GEMM takes uint8 activations), then y = (q − 128)·B · s_row · s_col.
    private string PerRowInt8MatMul(string module, string input, string b, string bScale, string? bZeroPoint)
    {
        var m = $"{module}/per_row";
        var axes = _g.AddConstant($"{m}/axes", [1], -1L);
        var rowMax = _g.Node("ReduceMax", $"{m}/row_max", [_g.Node("Abs", $"{m}/abs", [input]), axes], attributes: [OnnxGraphBuilder.Int("keepdims", 1)]); // [B, T, 1]
        var tiny = _g.AddConstant($"{m}/tiny", [], 1e-30f);
        var levels = _g.AddConstant($"{m}/levels", [], 127f);
        var rowScale = _g.Node("Div", $"{m}/scale", [_g.Node("Max", $"{m}/nonzero", [rowMax, tiny]), levels]);                            // [B, T, 1]
        var q = _g.Node("Round", $"{m}/round", [_g.Node("Div", $"{m}/divide", [input, rowScale])]);
        var offset = _g.AddConstant($"{m}/offset", [], 128f);
        var quantized = _g.Node("Cast", $"{m}/to_uint8", [_g.Node("Add", $"{m}/shift", [q, offset])], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Uint8)]);
        var zeroPoint = _g.AddUInt8Constant($"{m}/zero_point", 128);
        var product = _g.Node("MatMulInteger", $"{m}/matmul", bZeroPoint is null ? [quantized, b, zeroPoint] : [quantized, b, zeroPoint, bZeroPoint]); // [B, T, out] int32
        var asFloat = _g.Node("Cast", $"{m}/to_float", [product], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
        return _g.Node("Mul", module, [_g.Node("Mul", $"{m}/row_rescale", [asFloat, rowScale]), bScale]);
    }

    // A float16 view of a checkpoint tensor: the Cast sits on the float32 view (for F16 checkpoints a Cast pair that
    // is exact both ways), and ORT folds it into a float16 constant at session start, so the session holds only the
    // float16 copy. One initializer per tensor either way: a tensor is read in one precision or the other, never both.
    private string Weight16(string name, int part, int parts)
    {
        var key = $"{name}#{part}/{parts}";
        if (_float16.TryGetValue(key, out var known)) return known;
        var float32 = _tensors.Float32(name, part, parts);
        return _float16[key] = _g.Node("Cast", $"{(parts == 1 ? name : float32)}/to_float16", [float32],
            attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float16)]);
    }
}
