// XLMRobertaForSequenceClassification as an ONNX graph, in the forward order of Hugging Face's
// modeling_xlm_roberta.py: embeddings → encoder (post-LN blocks) → classification head.
// Initializers carry the safetensors names, nodes the module paths, so an ORT error or a
// profile points back here.
//
// Dimension letters: B batch, T tokens, H hidden size, N heads, D head size (H/N), I intermediate size.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>How the encoder blocks are expressed.</summary>
public enum GraphForm
{
    /// <summary>ONNX Runtime contrib operators (FusedMatMul, MultiHeadAttention, SkipLayerNormalization, BiasGelu): weights used in their stored layout, a real key-padding mask, faster at long inputs.</summary>
    Fused,
    /// <summary>Plain opset-20 operators only; the cross-check for <see cref="Fused"/> and the form other runtimes read.</summary>
    Plain,
}

internal sealed class XlmRobertaGraph
{
    public const string Architecture = "XLMRobertaForSequenceClassification";

    private readonly ModelConfig _config;
    private readonly OnnxGraphBuilder _g = new("XLMRobertaForSequenceClassification");
    private readonly CheckpointTensors _tensors;
    private readonly Int8WeightCache? _int8;
    private readonly Int8Recipe _recipe;
    private string? _unpadded;

    private XlmRobertaGraph(ModelConfig config, SafetensorsStore weights, string modelDirectory, Int8WeightCache? int8, Int8Recipe recipe,
        bool ownKernels = false)
    {
        _config = config;
        _tensors = new CheckpointTensors(_g, weights, modelDirectory, $"the checkpoint does not match {Architecture}. Re-download the model or check that it is an XLM-RoBERTa cross-encoder.",
            ownKernels);
        _int8 = int8;
        _recipe = recipe;
    }

    /// <summary>The weight matrices of the encoder blocks (what int8 quantizes); embeddings and the head stay fp32.</summary>
    public static IReadOnlyList<string> EncoderMatrices(ModelConfig c) => CheckpointTensors.EncoderMatrices(c, "roberta.");

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c)
    {
        long h = c.HiddenSize;
        foreach (var tensor in CheckpointTensors.EncoderTensors(c, "roberta.")) yield return tensor;
        yield return ("classifier.dense.weight", [h, h]);
        yield return ("classifier.dense.bias", [h]);
        yield return ("classifier.out_proj.weight", [c.NumLabels, h]);
        yield return ("classifier.out_proj.bias", [c.NumLabels]);
    }

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, string configPath)
    {
        if (!string.Equals(c.HiddenAct, "gelu", StringComparison.Ordinal))
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{configPath}: hidden_act \"{c.HiddenAct}\" is not supported; XLM-RoBERTa rerankers use \"gelu\" (exact erf GELU).");
        if (c.HiddenSize % c.NumAttentionHeads != 0)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{configPath}: hidden_size {c.HiddenSize} is not a multiple of num_attention_heads {c.NumAttentionHeads}.");
    }

    /// <summary>
    /// Builds the graph. Inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T]); output
    /// <c>logits</c> (float [B, num_labels]). Weights are external data pointing into the
    /// safetensors files (after following links), located relative to <paramref name="modelDirectory"/>,
    /// which must hold them: <see cref="ModelFolder.WeightsDirectory"/>. <paramref name="ownKernels"/>: the fused fp32 and
    /// int8 graphs use RerankSharp's CPU kernels (<see cref="OnnxGraphBuilder.KernelDomain"/>), for sessions on the CPU.
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, Int8Recipe? recipe = null, bool ownKernels = false)
    {
        if (precision == Precision.Fp16) return BuildFloat16(config, weights, modelDirectory, form);
        recipe ??= Int8Recipe.Default;
        Int8WeightCache? int8 = null;
        if (precision == Precision.Int8)
        {
            if (form != GraphForm.Fused)
                throw new RerankException(RerankErrorKind.InvalidInput, "int8 runs only on the fused graph form (its integer GEMMs are ONNX Runtime operators); use the fused form or fp32.");
            int8 = Int8WeightCache.LoadOrCreate(modelDirectory, weights, EncoderMatrices(config),
                recipe.Activations == Int8Activations.WeightsOnlyBlock32 ? Int8Layout.Block32Float : null);
        }
        var graph = new XlmRobertaGraph(config, weights, modelDirectory, int8, recipe, ownKernels && form == GraphForm.Fused);
        return graph.BuildModel(form, precision);
    }

    private ModelProto BuildModel(GraphForm form, Precision precision)
    {
        var inputIds = _g.AddInput("input_ids", DataType.Int64, "B", "T");
        var attentionMask = _g.AddInput("attention_mask", DataType.Int64, "B", "T");
        _g.AddOutput("logits", DataType.Float, "B", _config.NumLabels);

        var hidden = Embeddings(inputIds);                                   // [B, T, H]
        var mask = form == GraphForm.Fused
            ? _g.Node("Cast", "roberta.encoder.key_padding_mask", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Int32)]) // [B, T] int32
            : AdditiveMask(attentionMask);                                   // [B, 1, 1, T]
        if (form == GraphForm.Fused)
        {
            // True when no row is padded (every batch of one row, and batches of equal lengths).
            var smallest = _g.Node("ReduceMin", "roberta.encoder.unpadded/min", [attentionMask], attributes: [OnnxGraphBuilder.Int("keepdims", 0)]);
            _unpadded = _g.Node("Equal", "roberta.encoder.unpadded", [smallest, _g.AddConstant("roberta.encoder.unpadded/one", [], 1L)]); // [] bool
        }
        for (var layer = 0; layer < _config.NumHiddenLayers; layer++)
            hidden = form == GraphForm.Fused
                ? FusedLayer($"roberta.encoder.layer.{layer}", hidden, mask)
                : PlainLayer($"roberta.encoder.layer.{layer}", hidden, mask);
        ClassificationHead(hidden, "logits");

        return _g.ToModel(typeof(XlmRobertaGraph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string>
            {
                ["architecture"] = Architecture, ["graph_form"] = form.ToString(), ["precision"] = precision.ToString(),
                ["int8_recipe"] = precision == Precision.Int8 ? _recipe.ToString() : "",
            });
    }

    // XLMRobertaEmbeddings: word + position + token type 0, then LayerNorm. Position ids are
    // padding-aware and start at pad_token_id + 1 (create_position_ids_from_input_ids), so a
    // right-padded row gets the same positions as the row alone.
    private string Embeddings(string inputIds)
    {
        const string p = "roberta.embeddings";
        var positionIds = PositionIds(p, inputIds);                                                          // [B, T]

        var words = _g.Node("Gather", $"{p}.word_embeddings", [Weight($"{p}.word_embeddings.weight"), inputIds]);          // [B, T, H]
        var positions = _g.Node("Gather", $"{p}.position_embeddings", [Weight($"{p}.position_embeddings.weight"), positionIds]); // [B, T, H]
        var zero = _g.AddConstant($"{p}.token_type_ids", [], 0L);
        var tokenType = _g.Node("Gather", $"{p}.token_type_embeddings", [Weight($"{p}.token_type_embeddings.weight"), zero]);   // [H]
        var sum = _g.Node("Add", $"{p}/add_token_type", [words, tokenType]);
        sum = _g.Node("Add", $"{p}/add_position", [sum, positions]);
        return LayerNorm($"{p}.LayerNorm", sum);
    }

    // create_position_ids_from_input_ids: cumulative count of non-pad tokens, offset by padding_idx.
    private string PositionIds(string p, string inputIds)
    {
        var pad = _g.AddConstant($"{p}.padding_idx", [], (long)_config.PadTokenId);
        var isPad = _g.Node("Equal", $"{p}.position_ids/is_pad", [inputIds, pad]);
        var notPad = _g.Node("Not", $"{p}.position_ids/not_pad", [isPad]);
        var notPadInt = _g.Node("Cast", $"{p}.position_ids/mask", [notPad], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Int64)]);
        var axis = _g.AddConstant($"{p}.position_ids/axis", [], 1L);
        var cumulative = _g.Node("CumSum", $"{p}.position_ids/cumsum", [notPadInt, axis]);
        var masked = _g.Node("Mul", $"{p}.position_ids/masked", [cumulative, notPadInt]);
        return _g.Node("Add", $"{p}.position_ids", [masked, pad]);
    }

    // HF adds the float32 minimum to the scores of padded keys; softmax then gives them exactly 0.
    private string AdditiveMask(string attentionMask) => _tensors.AdditiveMask("roberta.encoder.extended_attention_mask", attentionMask);

    private string PlainLayer(string p, string hidden, string additiveMask) => _tensors.PlainEncoderLayer(p, hidden, additiveMask, _config);

    // The weights stay in PyTorch's [out, in] layout: FusedMatMul with transB reads them as they
    // are, so ORT has nothing to transpose or concatenate at session start (a Transpose folded over
    // 1.2 GB of weights took ~8 s of the load) and prepacks straight from the file's layout.
    private string FusedLayer(string p, string hidden, string keyPaddingMask)
    {
        var q = ProjectT($"{p}.attention.self.query", hidden);                                                 // [B, T, H]
        var k = ProjectT($"{p}.attention.self.key", hidden);                                                   // [B, T, H]
        var v = ProjectT($"{p}.attention.self.value", hidden);                                                 // [B, T, H]
        var qkvBias = _g.Node("Concat", $"{p}.attention.self/qkv_bias",
            [Weight($"{p}.attention.self.query.bias"), Weight($"{p}.attention.self.key.bias"), Weight($"{p}.attention.self.value.bias")],
            attributes: [OnnxGraphBuilder.Int("axis", 0)]);                                                   // [3H]
        var context = Attention($"{p}.attention.self", q, k, v, qkvBias, keyPaddingMask);                      // [B, T, H]

        var attended = ProjectT($"{p}.attention.output.dense", context);
        attended = SkipLayerNorm($"{p}.attention.output", attended, hidden, $"{p}.attention.output.dense.bias");  // [B, T, H]

        var intermediate = ProjectT($"{p}.intermediate.dense", attended);                                      // [B, T, I]
        intermediate = _g.Node("BiasGelu", $"{p}.intermediate.intermediate_act_fn", [intermediate, Weight($"{p}.intermediate.dense.bias")],
            domain: OnnxGraphBuilder.ContribDomain);
        var output = ProjectT($"{p}.output.dense", intermediate);                                              // [B, T, H]
        return SkipLayerNorm($"{p}.output", output, attended, $"{p}.output.dense.bias");
    }

    // ONNX Runtime's CPU MultiHeadAttention runs its flash kernel (memory linear in T, tiles in L2)
    // only without a key padding mask; with one it materialises the [B, N, T, T] scores, 4 GiB at
    // 8192 tokens. So an If picks the mask-free node whenever no row is padded, which covers every
    // single long input; padded batches keep the mask (and BatchQueue bounds their B × T²).
    private string Attention(string module, string q, string k, string v, string bias, string keyPaddingMask)
    {
        var heads = OnnxGraphBuilder.Int("num_heads", _config.NumAttentionHeads);
        var padded = _g.Branch($"{module}/padded");
        padded.AddOutput(padded.Node("MultiHeadAttention", module, [q, k, v, bias, keyPaddingMask], $"{module}/padded/out",
            attributes: [heads], domain: OnnxGraphBuilder.ContribDomain), DataType.Float, "B", "T", _config.HiddenSize);
        var unpadded = _g.Branch($"{module}/unpadded");
        unpadded.AddOutput(unpadded.Node("MultiHeadAttention", module, [q, k, v, bias], $"{module}/unpadded/out",
            attributes: [heads], domain: OnnxGraphBuilder.ContribDomain), DataType.Float, "B", "T", _config.HiddenSize);
        return _g.Node("If", module, [_unpadded!],
            attributes: [OnnxGraphBuilder.GraphAttribute("then_branch", unpadded.Graph), OnnxGraphBuilder.GraphAttribute("else_branch", padded.Graph)]);
    }

    // x · Wᵀ without the bias (which the following fused op adds), W as stored: [out, in]. In int8
    // the recipe picks the integer path per matrix; see Int8Recipe.
    private string ProjectT(string module, string input)
    {
        if (_int8 is null || KeptFp32(module))
            return _g.Node("FusedMatMul", module, [input, Weight($"{module}.weight")],
                attributes: [OnnxGraphBuilder.Int("transB", 1), OnnxGraphBuilder.Float("alpha", 1f)], domain: OnnxGraphBuilder.ContribDomain);
        if (_recipe.Activations == Int8Activations.WeightsOnlyBlock32)
            return _g.Node("FusedMatMul", module, [input, _int8.RoundedWeight(_g, $"{module}.weight")],
                attributes: [OnnxGraphBuilder.Int("transB", 1), OnnxGraphBuilder.Float("alpha", 1f)], domain: OnnxGraphBuilder.ContribDomain);
        var (b, bScale, bZeroPoint) = _int8.IntegerWeight(_g, $"{module}.weight");
        if (_recipe.Activations == Int8Activations.PerTensor)
            return _g.Node("DynamicQuantizeMatMul", module, bZeroPoint is null ? [input, b, bScale] : [input, b, bScale, bZeroPoint],
                domain: OnnxGraphBuilder.ContribDomain);
        return PerRowInt8MatMul(module, input, b, bScale, bZeroPoint);
    }

    // Symmetric int8 per token row: s = max|x_row| / 127, q = round(x / s) carried as uint8 with zero
    // point 128 (MLAS's fast integer GEMM is u8 × s8), then y = (q − 128)·B · s_row · s_col.
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
        var product = _g.Node("MatMulInteger", $"{m}/matmul", bZeroPoint is null ? [quantized, b, zeroPoint] : [quantized, b, zeroPoint, bZeroPoint]);                                                   // [B, T, out] int32
        var asFloat = _g.Node("Cast", $"{m}/to_float", [product], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
        return _g.Node("Mul", module, [_g.Node("Mul", $"{m}/row_rescale", [asFloat, rowScale]), bScale]);
    }

    // roberta.encoder.layer.{L}.{kind}
    private bool KeptFp32(string module)
    {
        const string prefix = "roberta.encoder.layer.";
        var rest = module[prefix.Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return _recipe.KeepsFp32(int.Parse(rest[..dot], System.Globalization.CultureInfo.InvariantCulture), _config.NumHiddenLayers, rest[(dot + 1)..]);
    }

    // XLMRobertaClassificationHead: the <s> token's state → dense → tanh → out_proj.
    private void ClassificationHead(string hidden, string output)
    {
        var first = _g.AddConstant("classifier/first_token", [], 0L);
        var cls = _g.Node("Gather", "classifier/take_first_token", [hidden, first], attributes: [OnnxGraphBuilder.Int("axis", 1)]); // [B, H]
        var dense = _g.Node("Gemm", "classifier.dense", [cls, Weight("classifier.dense.weight"), Weight("classifier.dense.bias")],
            attributes: [OnnxGraphBuilder.Int("transB", 1)]);                                                 // [B, H]
        var activated = _g.Node("Tanh", "classifier/tanh", [dense]);
        _g.Node("Gemm", "classifier.out_proj", [activated, Weight("classifier.out_proj.weight"), Weight("classifier.out_proj.bias")],
            output, attributes: [OnnxGraphBuilder.Int("transB", 1)]);                                         // [B, num_labels]
    }

    private string LayerNorm(string module, string input) => _tensors.LayerNorm(module, input, _config.LayerNormEps);

    private string SkipLayerNorm(string module, string input, string residual, string biasName) =>
        _tensors.SkipLayerNorm(module, input, residual, biasName, _config.LayerNormEps);

    private string Weight(string name) => _tensors.Float32(name);

    // ---- fp16 ------------------------------------------------------------------------------------------------
    // The float16 variant of the fused graph, for the CUDA provider. What runs in float16: the embedding tables and
    // their sum, every weight matrix with its projection, attention (MultiHeadAttention's CUDA kernels accumulate
    // QKᵀ and softmax in float32 internally) and BiasGelu. What stays float32, where the reference's numerics live:
    // the residual stream between blocks, every LayerNorm (SkipLayerNormalization over float32 inputs) and the
    // classification head. So each block reads a float32 hidden state, casts it once to float16 for its
    // projections, and casts the projections' results back before the residual add and LayerNorm.

    private static ModelProto BuildFloat16(ModelConfig config, SafetensorsStore weights, string modelDirectory, GraphForm form)
    {
        if (form != GraphForm.Fused)
            throw new RerankException(RerankErrorKind.InvalidInput,
                "fp16 runs only on the fused graph form (its float16 attention is ONNX Runtime's MultiHeadAttention); use the fused form, or fp32 for the plain form.");
        var graph = new XlmRobertaGraph(config, weights, modelDirectory, null, Int8Recipe.Default);
        return graph.BuildFloat16Model();
    }

    private ModelProto BuildFloat16Model()
    {
        var inputIds = _g.AddInput("input_ids", DataType.Int64, "B", "T");
        var attentionMask = _g.AddInput("attention_mask", DataType.Int64, "B", "T");
        _g.AddOutput("logits", DataType.Float, "B", _config.NumLabels);

        var hidden = EmbeddingsFloat16(inputIds);                            // [B, T, H] float32
        var mask = _g.Node("Cast", "roberta.encoder.key_padding_mask", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Int32)]); // [B, T] int32
        for (var layer = 0; layer < _config.NumHiddenLayers; layer++)
            hidden = FusedLayerFloat16($"roberta.encoder.layer.{layer}", hidden, mask);
        ClassificationHead(hidden, "logits");                                // float32 weights and arithmetic

        return _g.ToModel(typeof(XlmRobertaGraph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string> { ["architecture"] = Architecture, ["graph_form"] = GraphForm.Fused.ToString(), ["precision"] = Precision.Fp16.ToString() });
    }

    // As Embeddings, with the three tables in float16 (the word table is half of bge-reranker-v2-m3's weights:
    // 250,002 × 1024) and the sum cast to float32 for the LayerNorm.
    private string EmbeddingsFloat16(string inputIds)
    {
        const string p = "roberta.embeddings";
        var positionIds = PositionIds(p, inputIds);                                                          // [B, T]

        var words = _g.Node("Gather", $"{p}.word_embeddings", [Weight16($"{p}.word_embeddings.weight"), inputIds]);          // [B, T, H] fp16
        var positions = _g.Node("Gather", $"{p}.position_embeddings", [Weight16($"{p}.position_embeddings.weight"), positionIds]); // [B, T, H] fp16
        var zero = _g.AddConstant($"{p}.token_type_ids", [], 0L);
        var tokenType = _g.Node("Gather", $"{p}.token_type_embeddings", [Weight16($"{p}.token_type_embeddings.weight"), zero]);   // [H] fp16
        var sum = _g.Node("Add", $"{p}/add_token_type", [words, tokenType]);
        sum = _g.Node("Add", $"{p}/add_position", [sum, positions]);
        return LayerNorm($"{p}.LayerNorm", ToFloat32($"{p}/sum", sum));                                     // [B, T, H] fp32
    }

    private string FusedLayerFloat16(string p, string hidden, string keyPaddingMask)
    {
        var x = ToFloat16($"{p}/input", hidden);                                                             // [B, T, H] fp16
        var q = ProjectTFloat16($"{p}.attention.self.query", x);
        var k = ProjectTFloat16($"{p}.attention.self.key", x);
        var v = ProjectTFloat16($"{p}.attention.self.value", x);
        var qkvBias = _g.Node("Concat", $"{p}.attention.self/qkv_bias",
            [Weight16($"{p}.attention.self.query.bias"), Weight16($"{p}.attention.self.key.bias"), Weight16($"{p}.attention.self.value.bias")],
            attributes: [OnnxGraphBuilder.Int("axis", 0)]);                                                   // [3H] fp16
        // One node with the key padding mask: the float32 graph's If between a masked and a mask-free node serves the
        // CPU provider's flash kernel, which this graph is not for.
        var context = _g.Node("MultiHeadAttention", $"{p}.attention.self", [q, k, v, qkvBias, keyPaddingMask],
            attributes: [OnnxGraphBuilder.Int("num_heads", _config.NumAttentionHeads)], domain: OnnxGraphBuilder.ContribDomain); // [B, T, H] fp16

        var attended = ToFloat32($"{p}.attention.output.dense", ProjectTFloat16($"{p}.attention.output.dense", context));
        attended = SkipLayerNorm($"{p}.attention.output", attended, hidden, $"{p}.attention.output.dense.bias");  // [B, T, H] fp32

        var intermediate = ProjectTFloat16($"{p}.intermediate.dense", ToFloat16($"{p}.intermediate", attended)); // [B, T, I] fp16
        intermediate = _g.Node("BiasGelu", $"{p}.intermediate.intermediate_act_fn", [intermediate, Weight16($"{p}.intermediate.dense.bias")],
            domain: OnnxGraphBuilder.ContribDomain);
        var output = ToFloat32($"{p}.output.dense", ProjectTFloat16($"{p}.output.dense", intermediate));      // [B, T, H] fp32
        return SkipLayerNorm($"{p}.output", output, attended, $"{p}.output.dense.bias");
    }

    private string ProjectTFloat16(string module, string input) =>
        _g.Node("FusedMatMul", module, [input, Weight16($"{module}.weight")],
            attributes: [OnnxGraphBuilder.Int("transB", 1), OnnxGraphBuilder.Float("alpha", 1f)], domain: OnnxGraphBuilder.ContribDomain);

    private string ToFloat16(string module, string value) =>
        _g.Node("Cast", $"{module}/to_float16", [value], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float16)]);

    private string ToFloat32(string module, string value) =>
        _g.Node("Cast", $"{module}/to_float32", [value], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);

    // A float16 view of a checkpoint tensor: the Cast sits on the float32 view (for F16 checkpoints a Cast pair that
    // is exact both ways), and ORT folds it into a float16 constant at session start, so the session holds only the
    // float16 copy. One initializer per tensor either way: a tensor is read in one precision or the other, never both.
    private string Weight16(string name) => ToFloat16(name, Weight(name));
}
