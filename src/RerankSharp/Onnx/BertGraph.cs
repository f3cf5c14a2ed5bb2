// BertForSequenceClassification as an ONNX graph, in the forward order of Hugging Face's
// modeling_bert.py: embeddings (absolute positions from 0, token types) → encoder (post-LN blocks)
// → pooler (dense → tanh on [CLS]) → classifier. The encoder blocks are XLM-R's (RoBERTa is BERT's
// encoder); the names are bert.*. Initializers carry the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size, N heads, D head size (H/N), I intermediate size,
// P max_position_embeddings.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

internal sealed class BertGraph
{
    public const string Architecture = "BertForSequenceClassification";

    private readonly ModelConfig _config;
    private readonly OnnxGraphBuilder _g = new("BertForSequenceClassification");
    private readonly CheckpointTensors _tensors;
    private readonly Int8WeightCache? _int8;

    private BertGraph(ModelConfig config, SafetensorsStore weights, string modelDirectory, Int8WeightCache? int8, bool ownKernels)
    {
        _config = config;
        _tensors = new CheckpointTensors(_g, weights, modelDirectory, $"the checkpoint does not match {Architecture}. Re-download the model or check that it is a BERT cross-encoder.",
            ownKernels);
        _int8 = int8;
    }

    /// <summary>The weight matrices of the encoder blocks (what int8 quantizes); embeddings and the head stay fp32.</summary>
    public static IReadOnlyList<string> EncoderMatrices(ModelConfig c) => CheckpointTensors.EncoderMatrices(c, "bert.");

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c)
    {
        long h = c.HiddenSize;
        foreach (var tensor in CheckpointTensors.EncoderTensors(c, "bert.")) yield return tensor;
        yield return ("bert.pooler.dense.weight", [h, h]);
        yield return ("bert.pooler.dense.bias", [h]);
        yield return ("classifier.weight", [c.NumLabels, h]);
        yield return ("classifier.bias", [c.NumLabels]);
    }

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, string configPath)
    {
        if (!string.Equals(c.HiddenAct, "gelu", StringComparison.Ordinal))
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{configPath}: hidden_act \"{c.HiddenAct}\" is not supported; BERT cross-encoders use \"gelu\" (exact erf GELU).");
        if (!string.Equals(c.PositionEmbeddingType, "absolute", StringComparison.Ordinal))
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{configPath}: position_embedding_type \"{c.PositionEmbeddingType}\" is not supported; BERT cross-encoders use \"absolute\".");
        if (c.HiddenSize % c.NumAttentionHeads != 0)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{configPath}: hidden_size {c.HiddenSize} is not a multiple of num_attention_heads {c.NumAttentionHeads}.");
    }

    /// <summary>
    /// Builds the graph. Inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T]); output
    /// <c>logits</c> (float [B, num_labels]). Weights are external data pointing into the
    /// safetensors files (after following links), located relative to <paramref name="modelDirectory"/>,
    /// which must hold them: <see cref="ModelFolder.WeightsDirectory"/>.
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, bool ownKernels = false)
    {
        Int8WeightCache? int8 = null;
        if (precision == Precision.Int8)
        {
            if (form != GraphForm.Fused)
                throw new RerankException(RerankErrorKind.InvalidInput, "int8 runs only on the fused graph form (its DynamicQuantizeMatMul is an ONNX Runtime operator); use the fused form or fp32.");
            int8 = Int8WeightCache.LoadOrCreate(modelDirectory, weights, EncoderMatrices(config));
        }
        var graph = new BertGraph(config, weights, modelDirectory, int8, ownKernels && form == GraphForm.Fused);
        return graph.BuildModel(form, precision);
    }

    private ModelProto BuildModel(GraphForm form, Precision precision)
    {
        var inputIds = _g.AddInput("input_ids", DataType.Int64, "B", "T");
        var attentionMask = _g.AddInput("attention_mask", DataType.Int64, "B", "T");
        var tokenTypeIds = _g.AddInput("token_type_ids", DataType.Int64, "B", "T");
        _g.AddOutput("logits", DataType.Float, "B", _config.NumLabels);

        var hidden = Embeddings(inputIds, tokenTypeIds);                     // [B, T, H]
        var mask = form == GraphForm.Fused
            ? _g.Node("Cast", "bert.encoder.key_padding_mask", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Int32)]) // [B, T] int32
            : AdditiveMask(attentionMask);                                   // [B, 1, 1, T]
        for (var layer = 0; layer < _config.NumHiddenLayers; layer++)
            hidden = form == GraphForm.Fused
                ? FusedLayer($"bert.encoder.layer.{layer}", hidden, mask)
                : PlainLayer($"bert.encoder.layer.{layer}", hidden, mask);
        Head(hidden, "logits");

        return _g.ToModel(typeof(BertGraph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string> { ["architecture"] = Architecture, ["graph_form"] = form.ToString(), ["precision"] = precision.ToString() });
    }

    // BertEmbeddings: word + token type + position (0, 1, …, T-1 for every row: BERT's positions do not
    // skip pads, and right padding leaves a row's real tokens where they are alone), then LayerNorm.
    private string Embeddings(string inputIds, string tokenTypeIds)
    {
        const string p = "bert.embeddings";
        var shape = _g.Node("Shape", $"{p}.position_ids/shape", [inputIds]);                                  // [2]
        var zero = _g.AddConstant($"{p}.position_ids/zero", [1], 0L);
        var one = _g.AddConstant($"{p}.position_ids/one", [1], 1L);
        var length = _g.Node("Slice", $"{p}.position_ids/length", [shape, one, _g.AddConstant($"{p}.position_ids/two", [1], 2L)]); // [1] = T
        var positions = _g.Node("Slice", $"{p}.position_embeddings", [Weight($"{p}.position_embeddings.weight"), zero, length, zero]); // [T, H]

        var words = _g.Node("Gather", $"{p}.word_embeddings", [Weight($"{p}.word_embeddings.weight"), inputIds]);            // [B, T, H]
        var tokenTypes = _g.Node("Gather", $"{p}.token_type_embeddings", [Weight($"{p}.token_type_embeddings.weight"), tokenTypeIds]); // [B, T, H]
        var sum = _g.Node("Add", $"{p}/add_token_type", [words, tokenTypes]);
        sum = _g.Node("Add", $"{p}/add_position", [sum, positions]);
        return LayerNorm($"{p}.LayerNorm", sum);
    }

    // HF adds the float32 minimum to the scores of padded keys; softmax then gives them exactly 0.
    private string AdditiveMask(string attentionMask) => _tensors.AdditiveMask("bert.encoder.extended_attention_mask", attentionMask);

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
        var context = _g.Node("MultiHeadAttention", $"{p}.attention.self", [q, k, v, qkvBias, keyPaddingMask],
            attributes: [OnnxGraphBuilder.Int("num_heads", _config.NumAttentionHeads)], domain: OnnxGraphBuilder.ContribDomain); // [B, T, H]

        var attended = ProjectT($"{p}.attention.output.dense", context);
        attended = SkipLayerNorm($"{p}.attention.output", attended, hidden, $"{p}.attention.output.dense.bias");  // [B, T, H]

        var intermediate = ProjectT($"{p}.intermediate.dense", attended);                                      // [B, T, I]
        intermediate = _g.Node("BiasGelu", $"{p}.intermediate.intermediate_act_fn", [intermediate, Weight($"{p}.intermediate.dense.bias")],
            domain: OnnxGraphBuilder.ContribDomain);
        var output = ProjectT($"{p}.output.dense", intermediate);                                              // [B, T, H]
        return SkipLayerNorm($"{p}.output", output, attended, $"{p}.output.dense.bias");
    }

    // x · Wᵀ without the bias (which the following fused op adds), W as stored: [out, in]. In int8,
    // DynamicQuantizeMatMul quantizes x per tensor at run time against the cached int8 Wᵀ [in, out].
    private string ProjectT(string module, string input)
    {
        if (_int8 is null)
            return _g.Node("FusedMatMul", module, [input, Weight($"{module}.weight")],
                attributes: [OnnxGraphBuilder.Int("transB", 1), OnnxGraphBuilder.Float("alpha", 1f)], domain: OnnxGraphBuilder.ContribDomain);
        var (b, bScale, bZeroPoint) = _int8.IntegerWeight(_g, $"{module}.weight");
        return _g.Node("DynamicQuantizeMatMul", module, bZeroPoint is null ? [input, b, bScale] : [input, b, bScale, bZeroPoint],
            domain: OnnxGraphBuilder.ContribDomain);
    }

    // BertPooler (dense → tanh on the [CLS] state) and the classifier Linear; dropout is off in eval.
    private void Head(string hidden, string output)
    {
        var first = _g.AddConstant("bert.pooler/first_token", [], 0L);
        var cls = _g.Node("Gather", "bert.pooler/take_first_token", [hidden, first], attributes: [OnnxGraphBuilder.Int("axis", 1)]); // [B, H]
        var dense = _g.Node("Gemm", "bert.pooler.dense", [cls, Weight("bert.pooler.dense.weight"), Weight("bert.pooler.dense.bias")],
            attributes: [OnnxGraphBuilder.Int("transB", 1)]);                                                 // [B, H]
        var pooled = _g.Node("Tanh", "bert.pooler.activation", [dense]);
        _g.Node("Gemm", "classifier", [pooled, Weight("classifier.weight"), Weight("classifier.bias")],
            output, attributes: [OnnxGraphBuilder.Int("transB", 1)]);                                         // [B, num_labels]
    }

    private string LayerNorm(string module, string input) => _tensors.LayerNorm(module, input, _config.LayerNormEps);

    private string SkipLayerNorm(string module, string input, string residual, string biasName) =>
        _tensors.SkipLayerNorm(module, input, residual, biasName, _config.LayerNormEps);

    private string Weight(string name) => _tensors.Float32(name);
}
