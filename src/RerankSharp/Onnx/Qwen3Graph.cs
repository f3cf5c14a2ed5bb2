// Qwen3-Reranker as an ONNX graph: the decoder of Hugging Face's modeling_qwen3.py (Qwen3ForCausalLM, or the converted
// Qwen3ForSequenceClassification) read at each row's last token, and the model card's score there: logit("yes") −
// logit("no"), from only those two rows of the output projection (or the seq-cls score row), never the vocabulary.
// Initializers carry the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size, N query heads, K key/value heads, G = N/K query heads per
// key/value head, D head_dim, I intermediate size.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

internal sealed class Qwen3Graph
{
    public const string CausalLm = "Qwen3ForCausalLM";
    public const string SequenceClassification = "Qwen3ForSequenceClassification";

    private readonly ModelConfig _config;
    private readonly bool _seqCls;
    private readonly OnnxGraphBuilder _g;
    private readonly CheckpointTensors _tensors;
    private readonly Int8WeightCache? _int8;

    private Qwen3Graph(ModelConfig config, SafetensorsStore weights, string modelDirectory, bool seqCls, Int8WeightCache? int8)
    {
        _config = config;
        _seqCls = seqCls;
        _int8 = int8;
        _g = new OnnxGraphBuilder(seqCls ? SequenceClassification : CausalLm);
        _tensors = new CheckpointTensors(_g, weights, modelDirectory, $"the checkpoint does not match {(seqCls ? SequenceClassification : CausalLm)}. Re-download the model.");
    }

    /// <summary>The decoder's projection matrices (what int8 quantizes); embeddings, norms and the head stay fp32.</summary>
    public static IReadOnlyList<string> DecoderMatrices(ModelConfig c) =>
        Enumerable.Range(0, c.NumHiddenLayers).SelectMany(layer => new[]
        {
            "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
        }.Select(module => $"model.layers.{layer}.{module}.weight")).ToList();

    /// <summary>Every tensor the graph reads, with its shape for this config.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c, bool seqCls)
    {
        long h = c.HiddenSize, i = c.IntermediateSize, d = c.HeadDim, n = c.NumAttentionHeads, k = c.NumKeyValueHeads;
        yield return ("model.embed_tokens.weight", [c.VocabSize, h]);
        for (var layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            var p = $"model.layers.{layer}.";
            yield return ($"{p}input_layernorm.weight", [h]);
            yield return ($"{p}self_attn.q_proj.weight", [n * d, h]);
            yield return ($"{p}self_attn.k_proj.weight", [k * d, h]);
            yield return ($"{p}self_attn.v_proj.weight", [k * d, h]);
            yield return ($"{p}self_attn.o_proj.weight", [h, n * d]);
            yield return ($"{p}self_attn.q_norm.weight", [d]);
            yield return ($"{p}self_attn.k_norm.weight", [d]);
            yield return ($"{p}post_attention_layernorm.weight", [h]);
            yield return ($"{p}mlp.gate_proj.weight", [i, h]);
            yield return ($"{p}mlp.up_proj.weight", [i, h]);
            yield return ($"{p}mlp.down_proj.weight", [h, i]);
        }
        yield return ("model.norm.weight", [h]);
        if (seqCls) yield return ("score.weight", [1, h]);
        else if (!c.TieWordEmbeddings) yield return ("lm_head.weight", [c.VocabSize, h]);
    }

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, string configPath)
    {
        string? problem = null;
        if (!string.Equals(c.HiddenAct, "silu", StringComparison.Ordinal)) problem = $"hidden_act \"{c.HiddenAct}\" (Qwen3 uses \"silu\")";
        else if (c.NumAttentionHeads % c.NumKeyValueHeads != 0) problem = $"num_attention_heads {c.NumAttentionHeads} is not a multiple of num_key_value_heads {c.NumKeyValueHeads}";
        else if (c.HeadDim % 2 != 0) problem = $"head_dim {c.HeadDim} is odd (rotary embeddings rotate pairs)";
        else if (c.AttentionBias) problem = "attention_bias true (Qwen3's projections have no bias)";
        else if (c.HasRopeScaling) problem = "rope_scaling is set (YaRN and other scalings are not implemented)";
        else if (c.UseSlidingWindow) problem = "use_sliding_window true";
        if (problem is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel, $"{configPath}: {problem}; RerankSharp runs Qwen3-Reranker checkpoints as published.");
    }

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T], right-padded); output
    /// <c>logits</c> (float [B, 1]), the yes−no logit at each row's last real token (the seq-cls score there).
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, bool seqCls, int yesId, int noId,
        Precision precision = Precision.Fp32)
    {
        var int8 = precision == Precision.Int8 ? Int8WeightCache.LoadOrCreate(modelDirectory, weights, DecoderMatrices(config)) : null;
        return new Qwen3Graph(config, weights, modelDirectory, seqCls, int8).BuildModel(yesId, noId, precision);
    }

    private ModelProto BuildModel(int yesId, int noId, Precision precision)
    {
        var inputIds = _g.AddInput("input_ids", DataType.Int64, "B", "T");
        var attentionMask = _g.AddInput("attention_mask", DataType.Int64, "B", "T");
        _g.AddOutput("logits", DataType.Float, "B", 1);

        var hidden = GatherRows("model.embed_tokens", "model.embed_tokens.weight", inputIds);                   // [B, T, H]
        var (cos, sin) = RotaryTables(inputIds);                                                                 // [T, D] each
        var mask = AttentionMask(attentionMask);                                                                 // [B, 1, 1, T, T]
        for (var layer = 0; layer < _config.NumHiddenLayers; layer++)
            hidden = DecoderLayer($"model.layers.{layer}", hidden, cos, sin, mask);

        // Only each row's last real token is read, so the final norm and the head run on [B, H].
        var one = _g.AddConstant("model/last_token/one", [], 1L);
        var lengths = _g.Node("ReduceSum", "model/last_token/lengths", [attentionMask, _g.AddConstant("model/last_token/axes", [1], 1L)],
            attributes: [OnnxGraphBuilder.Int("keepdims", 1)]);                                                 // [B, 1]
        var last = _g.Node("Sub", "model/last_token/index", [lengths, one]);                                     // [B, 1]
        var taken = _g.Node("GatherND", "model/last_token", [hidden, last], attributes: [OnnxGraphBuilder.Int("batch_dims", 1)]); // [B, H]
        var normed = RmsNorm("model.norm", taken);

        if (_seqCls)
        {
            _g.Node("Gemm", "score", [normed, Weight("score.weight")], "logits", attributes: [OnnxGraphBuilder.Int("transB", 1)]); // [B, 1]
        }
        else
        {
            // The two rows of lm_head (or of the tied embedding table) that the model card reads; their difference is the logit.
            var head = _config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
            var rows = GatherRows("lm_head/yes_no_rows", head, _g.AddConstant("lm_head/yes_no", [2], (long)yesId, noId));          // [2, H]
            var pair = _g.Node("Gemm", "lm_head", [normed, rows], attributes: [OnnxGraphBuilder.Int("transB", 1)]);                    // [B, 2]
            var yes = _g.Node("Slice", "lm_head/yes", [pair, _g.AddConstant("lm_head/zero", [1], 0L), _g.AddConstant("lm_head/one", [1], 1L), _g.AddConstant("lm_head/axis", [1], 1L)]);
            var no = _g.Node("Slice", "lm_head/no", [pair, _g.AddConstant("lm_head/one_", [1], 1L), _g.AddConstant("lm_head/two", [1], 2L), _g.AddConstant("lm_head/axis_", [1], 1L)]);
            _g.Node("Sub", "lm_head/yes_minus_no", [yes, no], "logits");                                                               // [B, 1]
        }
        return _g.ToModel(typeof(Qwen3Graph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string> { ["architecture"] = _seqCls ? SequenceClassification : CausalLm, ["precision"] = precision.ToString() });
    }

    // cos and sin [T, D] of positions 0..T-1 (HF's Qwen3RotaryEmbedding is the default rope). Right padding keeps each
    // row's real tokens at 0..len-1.
    private (string Cos, string Sin) RotaryTables(string inputIds) =>
        RotaryEmbedding.Tables(_g, "model.rotary_emb", inputIds, _config.HeadDim, _config.RopeTheta);

    // Causal and key-padding mask as one additive float tensor: 0 where a query may see a key, float.MinValue elsewhere.
    private string AttentionMask(string attentionMask)
    {
        const string p = "model.causal_mask";
        var shape = _g.Node("Shape", $"{p}/shape", [attentionMask]);
        var length = _g.Node("Gather", $"{p}/length", [shape, _g.AddConstant($"{p}/one", [], 1L)]);
        var index = _g.Node("Range", $"{p}/index", [_g.AddConstant($"{p}/zero", [], 0L), length, _g.AddConstant($"{p}/step", [], 1L)]); // [T]
        var rows = _g.Node("Unsqueeze", $"{p}/rows", [index, _g.AddConstant($"{p}/axis1", [1], 1L)]);                            // [T, 1]
        var causal = _g.Node("LessOrEqual", $"{p}/causal", [index, rows]);                                                       // [T, T]: key ≤ query
        var keys = _g.Node("Cast", $"{p}/keys", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Bool)]);
        keys = _g.Node("Unsqueeze", $"{p}/keys_5d", [keys, _g.AddConstant($"{p}/axes", [3], 1L, 2L, 3L)]);                        // [B, 1, 1, 1, T]
        var allowed = _g.Node("And", $"{p}/allowed", [causal, keys]);                                                            // [B, 1, 1, T, T]
        return _g.Node("Where", p, [allowed, _g.AddConstant($"{p}/zero_f", [], 0f), _g.AddConstant($"{p}/min", [], float.MinValue)]);
    }

    private string DecoderLayer(string p, string hidden, string cos, string sin, string mask)
    {
        int n = _config.NumAttentionHeads, k = _config.NumKeyValueHeads, d = _config.HeadDim, g = n / k;
        var normed = RmsNorm($"{p}.input_layernorm", hidden);                                                                    // [B, T, H]

        // q: [B, T, N·D] → [B, T, K, G, D] → q_norm → [B, K, G, T, D]; k, v: [B, T, K, D] → [B, K, 1, T, D]. Query heads
        // h·G … h·G+G-1 share key/value head h (repeat_kv), which the [K, G] split expresses without copying k and v.
        var q = Project($"{p}.self_attn.q_proj", normed);
        q = _g.Node("Reshape", $"{p}.self_attn/q_heads", [q, _g.AddConstant($"{p}.self_attn/q_shape", [5], 0L, 0L, k, g, d)]);
        q = RmsNorm($"{p}.self_attn.q_norm", q);
        q = _g.Node("Transpose", $"{p}.self_attn/q_transpose", [q], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]);
        var kv = _g.AddConstant($"{p}.self_attn/kv_shape", [5], 0L, 0L, k, 1L, d);
        var key = Project($"{p}.self_attn.k_proj", normed);
        key = _g.Node("Reshape", $"{p}.self_attn/k_heads", [key, kv]);
        key = RmsNorm($"{p}.self_attn.k_norm", key);
        key = _g.Node("Transpose", $"{p}.self_attn/k_transpose", [key], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]);
        var value = _g.Node("Reshape", $"{p}.self_attn/v_heads", [Project($"{p}.self_attn.v_proj", normed), kv]);
        value = _g.Node("Transpose", $"{p}.self_attn/v_transpose", [value], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]);
        q = Rotate($"{p}.self_attn/rotary_q", q, cos, sin);
        key = Rotate($"{p}.self_attn/rotary_k", key, cos, sin);

        var keyT = _g.Node("Transpose", $"{p}.self_attn/k_t", [key], attributes: [OnnxGraphBuilder.Ints("perm", 0, 1, 2, 4, 3)]); // [B, K, 1, D, T]
        var scores = _g.Node("MatMul", $"{p}.self_attn/scores", [q, keyT]);                                                       // [B, K, G, T, T]
        scores = _g.Node("Mul", $"{p}.self_attn/scale", [scores, _g.AddConstant($"{p}.self_attn/scaling", [], (float)Math.Pow(d, -0.5))]);
        scores = _g.Node("Add", $"{p}.self_attn/mask", [scores, mask]);
        var probs = _g.Node("Softmax", $"{p}.self_attn/softmax", [scores], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
        var context = _g.Node("MatMul", $"{p}.self_attn/context", [probs, value]);                                                // [B, K, G, T, D]
        context = _g.Node("Transpose", $"{p}.self_attn/merge_transpose", [context], attributes: [OnnxGraphBuilder.Ints("perm", 0, 3, 1, 2, 4)]); // [B, T, K, G, D]
        context = _g.Node("Reshape", $"{p}.self_attn/merge_heads", [context, _g.AddConstant($"{p}.self_attn/merged_shape", [3], 0L, 0L, (long)n * d)]);
        hidden = _g.Node("Add", $"{p}/attention_residual", [hidden, Project($"{p}.self_attn.o_proj", context)]);                 // [B, T, H]

        normed = RmsNorm($"{p}.post_attention_layernorm", hidden);
        var gate = Project($"{p}.mlp.gate_proj", normed);                                                                          // [B, T, I]
        var silu = _g.Node("Mul", $"{p}.mlp.act_fn", [gate, _g.Node("Sigmoid", $"{p}.mlp.act_fn/sigmoid", [gate])]);
        var up = _g.Node("Mul", $"{p}.mlp/gate_times_up", [silu, Project($"{p}.mlp.up_proj", normed)]);
        return _g.Node("Add", $"{p}/mlp_residual", [hidden, Project($"{p}.mlp.down_proj", up)]);
    }

    private string Rotate(string name, string x, string cos, string sin) => RotaryEmbedding.Apply(_g, name, x, cos, sin);

    // Qwen3RMSNorm: x · rsqrt(mean(x²) + eps) · weight over the last axis.
    private string RmsNorm(string module, string x)
    {
        var square = _g.Node("Mul", $"{module}/square", [x, x]);
        var mean = _g.Node("ReduceMean", $"{module}/variance", [square, _g.AddConstant($"{module}/axes", [1], -1L)], attributes: [OnnxGraphBuilder.Int("keepdims", 1)]);
        var std = _g.Node("Sqrt", $"{module}/sqrt", [_g.Node("Add", $"{module}/eps", [mean, _g.AddConstant($"{module}/epsilon", [], (float)_config.RmsNormEps)])]);
        return _g.Node("Mul", module, [_g.Node("Div", $"{module}/normalize", [x, std]), Weight($"{module}.weight")]);
    }

    // x · Wᵀ with W as stored, [out, in] (FusedMatMul transB reads it in place); int8: DynamicQuantizeMatMul on the cached Wᵀ.
    private string Project(string module, string input)
    {
        if (_int8 is null)
            return _g.Node("FusedMatMul", module, [input, Weight($"{module}.weight")],
                attributes: [OnnxGraphBuilder.Int("transB", 1), OnnxGraphBuilder.Float("alpha", 1f)], domain: OnnxGraphBuilder.ContribDomain);
        var (b, bScale, bZeroPoint) = _int8.IntegerWeight(_g, $"{module}.weight");
        return _g.Node("DynamicQuantizeMatMul", module, bZeroPoint is null ? [input, b, bScale] : [input, b, bScale, bZeroPoint],
            domain: OnnxGraphBuilder.ContribDomain);
    }

    // Rows of a table gathered in the checkpoint's dtype and only then widened: a BF16 vocabulary table (embed_tokens,
    // lm_head) is never converted whole, which would double its memory.
    private string GatherRows(string module, string name, string indices)
    {
        var (stored, type) = Stored(name);
        var rows = _g.Node("Gather", module, [stored, indices]);
        return type == DataType.Float ? rows : _g.Node("Cast", $"{module}/to_float32", [rows], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
    }

    private string Weight(string name) => _tensors.Float32(name);

    private (string Name, DataType Type) Stored(string name) => _tensors.Stored(name);
}
