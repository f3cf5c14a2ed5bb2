using RerankSharp.Models;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>
/// A checkpoint's tensors as values of a graph being built, shared by the architecture files: each tensor becomes an
/// external initializer pointing into its safetensors file (no copy), in its stored dtype; float32 views add a
/// <c>Cast</c> for F16/BF16 checkpoints, which ONNX Runtime folds into a constant at session start; transposes are
/// made once. The encoder operations BERT and XLM-R share (their blocks are the same) sit here too. With
/// <c>ownKernels</c> they use RerankSharp's own CPU kernels (<see cref="OnnxGraphBuilder.KernelDomain"/>) where it has
/// them, instead of ONNX Runtime's contrib operators of the same signature.
/// </summary>
internal sealed class CheckpointTensors(OnnxGraphBuilder graph, SafetensorsStore weights, string modelDirectory, string mismatchAdvice,
    bool ownKernels = false)
{
    private readonly Dictionary<string, (string Name, DataType Type)> _stored = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _float32 = new(StringComparer.Ordinal);

    private static readonly string[] EncoderMatrixModules =
        ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];

    /// <summary>The weight matrices of a BERT-style encoder's blocks under <paramref name="prefix"/> (bert., roberta.): what int8 quantizes.</summary>
    public static IReadOnlyList<string> EncoderMatrices(ModelConfig c, string prefix) =>
        Enumerable.Range(0, c.NumHiddenLayers)
            .SelectMany(layer => EncoderMatrixModules.Select(module => $"{prefix}encoder.layer.{layer}.{module}.weight")).ToList();

    /// <summary>The embeddings and encoder blocks of a BERT-style model under <paramref name="prefix"/>, with their shapes.</summary>
    public static IEnumerable<(string Name, long[] Shape)> EncoderTensors(ModelConfig c, string prefix)
    {
        long h = c.HiddenSize, i = c.IntermediateSize;
        yield return ($"{prefix}embeddings.word_embeddings.weight", [c.VocabSize, h]);
        yield return ($"{prefix}embeddings.position_embeddings.weight", [c.MaxPositionEmbeddings, h]);
        yield return ($"{prefix}embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]);
        yield return ($"{prefix}embeddings.LayerNorm.weight", [h]);
        yield return ($"{prefix}embeddings.LayerNorm.bias", [h]);
        for (var layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            var p = $"{prefix}encoder.layer.{layer}.";
            foreach (var proj in new[] { "query", "key", "value" })
            {
                yield return ($"{p}attention.self.{proj}.weight", [h, h]);
                yield return ($"{p}attention.self.{proj}.bias", [h]);
            }
            yield return ($"{p}attention.output.dense.weight", [h, h]);
            yield return ($"{p}attention.output.dense.bias", [h]);
            yield return ($"{p}attention.output.LayerNorm.weight", [h]);
            yield return ($"{p}attention.output.LayerNorm.bias", [h]);
            yield return ($"{p}intermediate.dense.weight", [i, h]);
            yield return ($"{p}intermediate.dense.bias", [i]);
            yield return ($"{p}output.dense.weight", [h, i]);
            yield return ($"{p}output.dense.bias", [h]);
            yield return ($"{p}output.LayerNorm.weight", [h]);
            yield return ($"{p}output.LayerNorm.bias", [h]);
        }
    }

    /// <summary>The tensor as an external initializer in its own dtype, added once.</summary>
    /// <param name="name">The safetensors name.</param>
    public (string Name, DataType Type) Stored(string name)
    {
        if (_stored.TryGetValue(name, out var known)) return known;
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
        return _stored[name] = (graph.AddExternalInitializer(name, type, entry.Shape, location, entry.FileOffset, entry.ByteLength), type);
    }

    /// <summary>A float32 view of the tensor.</summary>
    public string Float32(string name)
    {
        if (_float32.TryGetValue(name, out var existing)) return existing;
        var (stored, type) = Stored(name);
        var value = type == DataType.Float
            ? stored
            : graph.Node("Cast", $"{name}/to_float32", [stored], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
        return _float32[name] = value;
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

    public string LayerNorm(string module, string input, double epsilon) =>
        graph.Node("LayerNormalization", module, [input, Float32($"{module}.weight"), Float32($"{module}.bias")],
            attributes: [OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Float("epsilon", (float)epsilon)]);

    // Residual + bias + LayerNorm in one op (BertSelfOutput / BertOutput): ours on the CPU (Inference/SkipLayerNormKernel,
    // the same signature), ONNX Runtime's contrib op elsewhere.
    public string SkipLayerNorm(string module, string input, string residual, string biasName, double epsilon) =>
        graph.Node("SkipLayerNormalization", $"{module}.LayerNorm",
            [input, residual, Float32($"{module}.LayerNorm.weight"), Float32($"{module}.LayerNorm.bias"), Float32(biasName)],
            attributes: [OnnxGraphBuilder.Float("epsilon", (float)epsilon)], domain: ownKernels ? OnnxGraphBuilder.KernelDomain : OnnxGraphBuilder.ContribDomain);

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

    /// <summary>One post-LN BERT/RoBERTa encoder block in plain ONNX operators (the cross-check form).</summary>
    public string PlainEncoderLayer(string p, string hidden, string additiveMask, ModelConfig config)
    {
        int n = config.NumAttentionHeads, d = config.HiddenSize / n;
        var headShape = graph.AddConstant($"{p}.attention.self/head_shape", [4], 0L, 0L, n, d);
        string Heads(string proj, long[] perm)
        {
            var projected = Linear($"{p}.attention.self.{proj}", hidden);                                       // [B, T, H]
            var split = graph.Node("Reshape", $"{p}.attention.self.{proj}/split_heads", [projected, headShape]); // [B, T, N, D]
            return graph.Node("Transpose", $"{p}.attention.self.{proj}/transpose", [split], attributes: [OnnxGraphBuilder.Ints("perm", perm)]);
        }
        var q = Heads("query", [0, 2, 1, 3]);                                                                 // [B, N, T, D]
        var kT = Heads("key", [0, 2, 3, 1]);                                                                  // [B, N, D, T]
        var v = Heads("value", [0, 2, 1, 3]);                                                                 // [B, N, T, D]
        var scores = graph.Node("MatMul", $"{p}.attention.self/scores", [q, kT]);                                // [B, N, T, T]
        var scale = graph.AddConstant($"{p}.attention.self/sqrt_head_size", [], MathF.Sqrt(d));
        scores = graph.Node("Div", $"{p}.attention.self/scale", [scores, scale]);
        scores = graph.Node("Add", $"{p}.attention.self/mask", [scores, additiveMask]);
        var probs = graph.Node("Softmax", $"{p}.attention.self/softmax", [scores], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
        var context = graph.Node("MatMul", $"{p}.attention.self/context", [probs, v]);                           // [B, N, T, D]
        context = graph.Node("Transpose", $"{p}.attention.self/merge_transpose", [context], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3)]);
        var mergedShape = graph.AddConstant($"{p}.attention.self/merged_shape", [3], 0L, 0L, config.HiddenSize);
        context = graph.Node("Reshape", $"{p}.attention.self/merge_heads", [context, mergedShape]);              // [B, T, H]

        var attended = Linear($"{p}.attention.output.dense", context);
        attended = graph.Node("Add", $"{p}.attention.output/residual", [attended, hidden]);
        attended = LayerNorm($"{p}.attention.output.LayerNorm", attended, config.LayerNormEps);                                    // [B, T, H]

        var intermediate = Linear($"{p}.intermediate.dense", attended);                                       // [B, T, I]
        intermediate = ErfGelu($"{p}.intermediate.intermediate_act_fn", intermediate);
        var output = Linear($"{p}.output.dense", intermediate);                                               // [B, T, H]
        output = graph.Node("Add", $"{p}.output/residual", [output, attended]);
        return LayerNorm($"{p}.output.LayerNorm", output, config.LayerNormEps);
    }
}
