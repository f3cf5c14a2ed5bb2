using RerankSharp.Models;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>
/// A checkpoint's tensors as values of a graph being built, shared by the architecture files: each tensor becomes an
/// external initializer pointing into its safetensors file (no copy), in its stored dtype; float32 views add a
/// <c>Cast</c> for F16/BF16 checkpoints, which ONNX Runtime folds into a constant at session start; transposes are
/// made once. The small operations over them that every architecture uses (LayerNorm, a head's Gemm, the additive
/// padding mask) sit here too. With <c>ownKernels</c> they use RerankSharp's own CPU kernels
/// (<see cref="OnnxGraphBuilder.KernelDomain"/>) where it has them, instead of ONNX Runtime's contrib operators of the
/// same signature.
/// </summary>
internal sealed class CheckpointTensors(OnnxGraphBuilder graph, SafetensorsStore weights, string modelDirectory, string mismatchAdvice,
    bool ownKernels = false)
{
    private readonly Dictionary<string, (string Name, DataType Type)> _stored = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _float32 = new(StringComparer.Ordinal);

    /// <summary>
    /// Float32 copies of half-width tensors, page-aligned, that <see cref="Float32(string)"/> reads instead of a Cast
    /// of the stored tensor (<see cref="Float32WeightCache"/>: mapped at load rather than widened).
    /// </summary>
    public Float32WeightCache? Widened { get; init; }

    /// <summary>The tensor as an external initializer in its own dtype, added once.</summary>
    /// <param name="name">The safetensors name.</param>
    public (string Name, DataType Type) Stored(string name) => Stored(name, part: 0, parts: 1);

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> equal row ranges of the tensor (a merged projection's
    /// q, k, v, a GLU's input and gate), as an external initializer of its own over those bytes of the file: a weight
    /// stored [out, in] holds each range of output rows contiguously, so the graph needs no Split of the product. Named
    /// <c>{name}[first:end]</c> (rows), added once.
    /// </summary>
    public (string Name, DataType Type) Stored(string name, int part, int parts)
    {
        var key = parts == 1 ? name : $"{name}#{part}/{parts}";
        if (_stored.TryGetValue(key, out var known)) return known;
        if (!weights.Tensors.TryGetValue(name, out var entry))
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"Tensor '{name}' is missing from the model weights; {mismatchAdvice}");
        var type = entry.DType switch
        {
            TensorDType.F32 => DataType.Float,
            TensorDType.F16 => DataType.Float16,
            TensorDType.BF16 => DataType.Bfloat16,
            _ => throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"Tensor '{name}' in {entry.FilePath} has dtype {entry.DType}; only F32, F16 and BF16 weights are supported."),
        };
        // Relative to the file a link leads to: ONNX Runtime resolves links and refuses external
        // data outside the folder it was given (a hub-cache snapshot links into ../../blobs).
        var location = Path.GetRelativePath(modelDirectory, LinkedFile.Find(entry.FilePath)?.FullName ?? entry.FilePath);
        if (parts == 1)
            return _stored[key] = (graph.AddExternalInitializer(name, type, entry.Shape, location, entry.FileOffset, entry.ByteLength), type);
        if (entry.Shape.Length == 0 || entry.Shape[0] % parts != 0)
            throw new RerankException(RerankErrorKind.InvalidModel, $"Tensor '{name}' has shape {entry.ShapeText}, whose rows do not split into {parts} equal parts; {mismatchAdvice}");
        var rows = entry.Shape[0] / parts;
        var bytes = entry.ByteLength / parts;
        long[] shape = [rows, .. entry.Shape[1..]];
        return _stored[key] = (graph.AddExternalInitializer($"{name}[{part * rows}:{(part + 1) * rows}]", type, shape, location,
            entry.FileOffset + part * bytes, bytes), type);
    }

    /// <summary>A float32 view of the tensor.</summary>
    public string Float32(string name) => Float32(name, part: 0, parts: 1);

    /// <summary>A stored matrix's [rows, columns] (a Linear's [out, in]), as the checkpoint declares it.</summary>
    public (int Rows, int Columns) Shape2(string name)
    {
        var shape = weights.Tensors[name].Shape;
        return (checked((int)shape[0]), checked((int)shape[1]));
    }

    /// <summary>A float32 view of part <paramref name="part"/> of <paramref name="parts"/> equal row ranges of the tensor.</summary>
    public string Float32(string name, int part, int parts)
    {
        var key = parts == 1 ? name : $"{name}#{part}/{parts}";
        if (_float32.TryGetValue(key, out var existing)) return existing;
        if (parts == 1 && Widened is not null && Widened.TryGet(name, out var cached))
            return _float32[key] = graph.AddExternalInitializer($"{name}.float32", DataType.Float, cached.Shape, Widened.RelativePath, cached.Offset, cached.Length);
        var (stored, type) = Stored(name, part, parts);
        var value = type == DataType.Float
            ? stored
            : graph.Node("Cast", $"{stored}/to_float32", [stored], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
        return _float32[key] = value;
    }

    /// <summary>The float32 tensor transposed (a 2-D [out, in] weight as [in, out]).</summary>
    public string Transposed(string name)
    {
        var key = name + "ᵀ";
        if (_float32.TryGetValue(key, out var transposed)) return transposed;
        return _float32[key] = graph.Node("Transpose", $"{name}/transpose", [Float32(name)], attributes: [OnnxGraphBuilder.Ints("perm", 1, 0)]);
    }

    // nn.Linear: x · Wᵀ + b, with W stored [out, in] as PyTorch saves it.
    public string Linear(string module, string input)
    {
        var product = graph.Node("MatMul", module, [input, Transposed($"{module}.weight")]);
        return graph.Node("Add", $"{module}/bias", [product, Float32($"{module}.bias")]);
    }

    /// <summary>nn.LayerNorm over the last axis; <paramref name="hasBias"/> false for <c>bias=False</c> norms (ModernBERT's <c>norm_bias</c>).</summary>
    public string LayerNorm(string module, string input, double epsilon, bool hasBias = true) =>
        graph.Node("LayerNormalization", module, hasBias ? [input, Float32($"{module}.weight"), Float32($"{module}.bias")] : [input, Float32($"{module}.weight")],
            attributes: [OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Float("epsilon", (float)epsilon)]);

    /// <summary>
    /// LayerNorm(input + bias + residual) in one op, a post-LN block's residual step (BertSelfOutput / BertOutput): ours on
    /// the CPU (Inference/SkipLayerNormKernel, the same signature, which takes all five inputs), ONNX Runtime's contrib op
    /// elsewhere and when the norm or the projection has no bias.
    /// </summary>
    public string SkipLayerNorm(string normModule, string input, string residual, string? biasName, bool normBias, double epsilon)
    {
        List<string> inputs = [input, residual, Float32($"{normModule}.weight"), normBias ? Float32($"{normModule}.bias") : ""];
        if (biasName is not null) inputs.Add(Float32(biasName));
        var ours = ownKernels && biasName is not null && normBias;
        return graph.Node("SkipLayerNormalization", normModule, [.. inputs],
            attributes: [OnnxGraphBuilder.Float("epsilon", (float)epsilon)], domain: ours ? OnnxGraphBuilder.KernelDomain : OnnxGraphBuilder.ContribDomain);
    }

    /// <summary>
    /// A linear layer on [B, in] rows (a classification head): Gemm over W as stored, [out, in], plus the bias when
    /// <paramref name="hasBias"/>.
    /// </summary>
    public string Gemm(string module, string input, bool hasBias = true, string? output = null) =>
        graph.Node("Gemm", module, hasBias ? [input, Float32($"{module}.weight"), Float32($"{module}.bias")] : [input, Float32($"{module}.weight")],
            output, attributes: [OnnxGraphBuilder.Int("transB", 1)]);

    /// <summary>The state of each row's first token ([CLS], &lt;s&gt;): [B, T, H] → [B, H].</summary>
    public string FirstToken(string module, string hidden) =>
        graph.Node("Gather", module, [hidden, graph.AddConstant($"{module}/index", [], 0L)], attributes: [OnnxGraphBuilder.Int("axis", 1)]);

    // hidden_act "gelu" in transformers is the exact erf form, not the tanh approximation:
    // 0.5 · x · (1 + erf(x / √2)). ORT fuses this pattern into its Gelu kernel.
    public string ErfGelu(string module, string x)
    {
        var sqrt2 = graph.AddConstant($"{module}/sqrt2", [], MathF.Sqrt(2f));
        var one = graph.AddConstant($"{module}/one", [], 1f);
        var half = graph.AddConstant($"{module}/half", [], 0.5f);
        var erf = graph.Node("Erf", $"{module}/erf", [graph.Node("Div", $"{module}/div", [x, sqrt2])]);
        var gate = graph.Node("Add", $"{module}/add", [erf, one]);
        return graph.Node("Mul", $"{module}/half_mul", [graph.Node("Mul", $"{module}/mul", [x, gate]), half]);
    }

    /// <summary>BERT's extended attention mask: 0 where attended, float.MinValue where padded, as [B, 1, 1, T].</summary>
    public string AdditiveMask(string p, string attentionMask)
    {
        var maskFloat = graph.Node("Cast", $"{p}/cast", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
        var one = graph.AddConstant($"{p}/one", [], 1f);
        var inverted = graph.Node("Sub", $"{p}/invert", [one, maskFloat]);
        var minimum = graph.AddConstant($"{p}/float_min", [], float.MinValue);
        var additive = graph.Node("Mul", $"{p}/scale", [inverted, minimum]);                                       // [B, T]
        var axes = graph.AddConstant($"{p}/axes", [2], 1L, 2L);
        return graph.Node("Unsqueeze", p, [additive, axes]);                                                     // [B, 1, 1, T]
    }
}
