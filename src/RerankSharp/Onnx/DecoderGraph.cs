// The decoder rerankers as one ONNX graph: the decoder of Hugging Face's modeling_qwen3.py, modeling_qwen2.py and
// modeling_gemma.py (the transformers commits docs/models.md names), parameterised by a DecoderFamily, read at each
// row's last token, and the family's score there (DecoderScore): logit(true) − logit(false), or logit(true) alone,
// from only those rows of the output projection (or the seq-cls score row), never the vocabulary.
// Initializers carry the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size, N query heads, K key/value heads, G = N/K query heads per
// key/value head, D head_dim, I intermediate size.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>What one decoder family's modeling file does differently from the others; everything else is shared.</summary>
/// <param name="Architecture">The <c>architectures</c> entry.</param>
/// <param name="QkNorm">RMSNorm over each head's queries and keys before the rotation (Qwen3).</param>
/// <param name="QkvBias">q, k and v projections carry a bias, o_proj none (Qwen2: hard-wired in Qwen2Attention).</param>
/// <param name="NormPlusOne">RMSNorm scales by (1 + weight) (GemmaRMSNorm), not by weight.</param>
/// <param name="ScaleEmbeddings">The embeddings are multiplied by √hidden_size before the first layer (GemmaModel).</param>
/// <param name="ActivationKey">The config key that names the MLP's activation (see <see cref="Activation"/>).</param>
/// <param name="SequenceClassification">The head is a one-row <c>score</c> (Qwen3's seq-cls conversion), not lm_head.</param>
internal sealed record DecoderFamily(string Architecture, bool QkNorm, bool QkvBias, bool NormPlusOne, bool ScaleEmbeddings,
    string ActivationKey = "hidden_act", bool SequenceClassification = false)
{
    public static readonly DecoderFamily Qwen3 = new("Qwen3ForCausalLM", QkNorm: true, QkvBias: false, NormPlusOne: false, ScaleEmbeddings: false);
    public static readonly DecoderFamily Qwen3SequenceClassification = Qwen3 with { Architecture = "Qwen3ForSequenceClassification", SequenceClassification = true };
    public static readonly DecoderFamily Qwen2 = new("Qwen2ForCausalLM", QkNorm: false, QkvBias: true, NormPlusOne: false, ScaleEmbeddings: false);
    public static readonly DecoderFamily Gemma = new("GemmaForCausalLM", QkNorm: false, QkvBias: false, NormPlusOne: true, ScaleEmbeddings: true,
        ActivationKey: "hidden_activation");

    /// <summary>
    /// The MLP's activation and the key it comes from: <c>hidden_act</c>, except for Gemma, whose GemmaMLP reads
    /// <c>hidden_activation</c> and, when that is absent, uses gelu_pytorch_tanh whatever <c>hidden_act</c> says
    /// (transformers PR 29402; bge-reranker-v2-gemma's config says "gelu" in one and "gelu_pytorch_tanh" in the other).
    /// </summary>
    public (string Key, string Value) Activation(ModelConfig c) =>
        ActivationKey == "hidden_activation" ? (ActivationKey, c.HiddenActivation ?? "gelu_pytorch_tanh") : (ActivationKey, c.HiddenAct);
}

/// <summary>
/// The score read at the last position: logit(<paramref name="TrueId"/>) − logit(<paramref name="FalseId"/>), or
/// logit(<paramref name="TrueId"/>) alone when <paramref name="FalseId"/> is null (bge-reranker-v2-gemma's "Yes").
/// </summary>
internal sealed record DecoderScore(int TrueId, int? FalseId);

internal sealed class DecoderGraph
{
    private readonly ModelConfig _config;
    private readonly DecoderFamily _family;
    private readonly OnnxGraphBuilder _g;
    private readonly CheckpointTensors _tensors;
    private readonly Int8WeightCache? _int8;

    private DecoderGraph(ModelConfig config, DecoderFamily family, SafetensorsStore weights, string modelDirectory, Int8WeightCache? int8)
    {
        _config = config;
        _family = family;
        _int8 = int8;
        _g = new OnnxGraphBuilder(family.Architecture);
        // The published decoder rerankers are BF16: widened once into a mapped float32 cache rather than at every load.
        // The vocabulary tables are only gathered (a few rows per batch) and stay as stored; int8 reads its matrices
        // from its own cache, and the Casts of the few small tensors left fold quickly.
        var widened = ExpectedTensors(config, family).Select(t => t.Name).Where(n => n is not ("model.embed_tokens.weight" or "lm_head.weight"));
        _tensors = new CheckpointTensors(_g, weights, modelDirectory, $"the checkpoint does not match {family.Architecture}. Re-download the model.")
        {
            Widened = int8 is null ? Float32WeightCache.LoadOrCreate(modelDirectory, weights, widened) : null,
        };
    }

    /// <summary>The decoder's projection matrices (what int8 quantizes); embeddings, norms, biases and the head stay fp32.</summary>
    public static IReadOnlyList<string> DecoderMatrices(ModelConfig c) =>
        Enumerable.Range(0, c.NumHiddenLayers).SelectMany(layer => new[]
        {
            "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
        }.Select(module => $"model.layers.{layer}.{module}.weight")).ToList();

    /// <summary>Every tensor the graph reads, with its shape for this config.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c, DecoderFamily family)
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
            if (family.QkvBias)
            {
                yield return ($"{p}self_attn.q_proj.bias", [n * d]);
                yield return ($"{p}self_attn.k_proj.bias", [k * d]);
                yield return ($"{p}self_attn.v_proj.bias", [k * d]);
            }
            yield return ($"{p}self_attn.o_proj.weight", [h, n * d]);
            if (family.QkNorm)
            {
                yield return ($"{p}self_attn.q_norm.weight", [d]);
                yield return ($"{p}self_attn.k_norm.weight", [d]);
            }
            yield return ($"{p}post_attention_layernorm.weight", [h]);
            yield return ($"{p}mlp.gate_proj.weight", [i, h]);
            yield return ($"{p}mlp.up_proj.weight", [i, h]);
            yield return ($"{p}mlp.down_proj.weight", [h, i]);
        }
        yield return ("model.norm.weight", [h]);
        if (family.SequenceClassification) yield return ("score.weight", [1, h]);
        else if (!c.TieWordEmbeddings) yield return ("lm_head.weight", [c.VocabSize, h]);
    }

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, DecoderFamily family, string configPath)
    {
        var (actKey, act) = family.Activation(c);
        string? problem = null;
        if (act is not ("silu" or "gelu_pytorch_tanh" or "gelu"))
            problem = $"{actKey} \"{act}\" (the decoders run silu, gelu_pytorch_tanh and gelu)";
        else if (c.NumAttentionHeads % c.NumKeyValueHeads != 0) problem = $"num_attention_heads {c.NumAttentionHeads} is not a multiple of num_key_value_heads {c.NumKeyValueHeads}";
        else if (c.HeadDim % 2 != 0) problem = $"head_dim {c.HeadDim} is odd (rotary embeddings rotate pairs)";
        // Qwen2Attention has its q/k/v biases whatever attention_bias says; Qwen3 and Gemma read the key, and their
        // published checkpoints have no bias, which is all this graph builds for them.
        else if (c.AttentionBias && !family.QkvBias) problem = $"attention_bias true ({family.Architecture} rerankers as published have no projection bias)";
        else if (c.HasRopeScaling) problem = "rope_scaling is set (only the default rotary embedding is implemented; YaRN, linear, dynamic and other scalings are not)";
        else if (c.UseSlidingWindow) problem = "use_sliding_window true";
        if (problem is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel, $"{configPath}: {problem}; RerankSharp runs {family.Architecture} reranker checkpoints as published.");
    }

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T], right-padded); output
    /// <c>logits</c> (float [B, 1]), the score at each row's last real token.
    /// </summary>
    /// <remarks>
    /// With <paramref name="prefixCache"/> the graph also takes a shared prompt prefix's keys and values,
    /// <c>past_key_values.{i}.key</c> / <c>.value</c> (float [1, K, P, D] per layer, P ≥ 0: every row continues the same
    /// P tokens), and returns <c>present.{i}.key</c> / <c>.value</c> ([B, K, P + T, D]: the cache and this run's). Run once
    /// on the prefix alone with P = 0, its present values are the prefix's cache; each document's tokens then run against
    /// it at positions P.. (<see cref="PastKeyInput"/>). With P = 0 it computes exactly what the graph without a cache does.
    /// </remarks>
    public static ModelProto Build(ModelConfig config, DecoderFamily family, SafetensorsStore weights, string modelDirectory, DecoderScore score,
        Precision precision = Precision.Fp32, bool prefixCache = false)
    {
        var int8 = precision == Precision.Int8 ? Int8WeightCache.LoadOrCreate(modelDirectory, weights, DecoderMatrices(config)) : null;
        return new DecoderGraph(config, family, weights, modelDirectory, int8).BuildModel(score, precision, prefixCache);
    }

    /// <summary>
    /// A head over the final-norm hidden states of the tokens <see cref="BuildAtTokens"/> reads: it gets the builder, the
    /// checkpoint's tensors as float32 by name, and the states [K, H], and writes the graph output <paramref name="output"/>.
    /// </summary>
    internal delegate void TokenHead(OnnxGraphBuilder graph, Func<string, string> weight, string states, string output);

    /// <summary>
    /// Builds the decoder read at every token whose id is one of <paramref name="tokenIds"/>, as listwise rerankers read
    /// it (jina-reranker-v3's marker tokens): inputs as <see cref="Build"/>'s; the final-norm hidden states of those
    /// tokens, [K, H] in row-major order of (row, position), go through <paramref name="head"/> into the output
    /// <paramref name="output"/> (float [K, <paramref name="width"/>]). The decoder is the one <see cref="Build"/> writes, with
    /// attention in blocks of queries (<see cref="CausalBlockedAttention"/>): a listwise prompt is one long sequence.
    /// </summary>
    public static ModelProto BuildAtTokens(ModelConfig config, DecoderFamily family, SafetensorsStore weights, string modelDirectory,
        IReadOnlyList<int> tokenIds, TokenHead head, string output, long width, Precision precision = Precision.Fp32)
    {
        var int8 = precision == Precision.Int8 ? Int8WeightCache.LoadOrCreate(modelDirectory, weights, DecoderMatrices(config)) : null;
        var graph = new DecoderGraph(config, family, weights, modelDirectory, int8);
        var (inputIds, _, hidden) = graph.Decoder(prefixCache: false, blockedAttention: true);
        graph._g.AddOutput(output, DataType.Float, "K", width);
        // [B, T] true at the tokens read; NonZero lists them row by row, each row's in position order.
        var selected = graph._g.Node("Equal", "model/read_tokens/is_0", [inputIds, graph._g.AddConstant("model/read_tokens/id_0", [], (long)tokenIds[0])]);
        for (var i = 1; i < tokenIds.Count; i++)
            selected = graph._g.Node("Or", $"model/read_tokens/any_{i}", [selected,
                graph._g.Node("Equal", $"model/read_tokens/is_{i}", [inputIds, graph._g.AddConstant($"model/read_tokens/id_{i}", [], (long)tokenIds[i])])]);
        var where = graph._g.Node("NonZero", "model/read_tokens/where", [selected]);                                 // [2, K]
        var index = graph._g.Node("Transpose", "model/read_tokens/index", [where], attributes: [OnnxGraphBuilder.Ints("perm", 1, 0)]); // [K, 2]
        var states = graph._g.Node("GatherND", "model/read_tokens", [hidden, index]);                                 // [K, H]
        head(graph._g, graph.Weight, graph.RmsNorm("model.norm", states), output);
        return graph._g.ToModel(typeof(DecoderGraph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string> { ["architecture"] = family.Architecture, ["precision"] = precision.ToString() });
    }

    /// <summary>The graph input of layer <paramref name="layer"/>'s cached keys (optimum's name for it).</summary>
    public static string PastKeyInput(int layer) => $"past_key_values.{layer}.key";

    /// <summary>The graph input of layer <paramref name="layer"/>'s cached values.</summary>
    public static string PastValueInput(int layer) => $"past_key_values.{layer}.value";

    /// <summary>The graph output of layer <paramref name="layer"/>'s keys, the cache's and this run's.</summary>
    public static string PresentKeyOutput(int layer) => $"present.{layer}.key";

    /// <summary>The graph output of layer <paramref name="layer"/>'s values, the cache's and this run's.</summary>
    public static string PresentValueOutput(int layer) => $"present.{layer}.value";

    // The inputs (a prefix's cache among them when `prefixCache`), the embeddings and every layer: the hidden states
    // [B, T, H] before the final norm. `blockedAttention`: attention in blocks of queries (long single sequences; no cache).
    private (string InputIds, string AttentionMask, string Hidden) Decoder(bool prefixCache, bool blockedAttention = false)
    {
        if (prefixCache && blockedAttention)
            throw new RerankException(RerankErrorKind.Internal, "Blocked attention over a prefix cache is not built. This is a bug.");
        var inputIds = _g.AddInput("input_ids", DataType.Int64, "B", "T");
        var attentionMask = _g.AddInput("attention_mask", DataType.Int64, "B", "T");
        var past = prefixCache ? PastInputs() : null;
        var hidden = GatherRows("model.embed_tokens", "model.embed_tokens.weight", inputIds);                   // [B, T, H]
        // GemmaModel: torch.tensor(hidden_size ** 0.5, dtype=hidden_states.dtype), so √H rounded to float32 here.
        if (_family.ScaleEmbeddings)
            hidden = _g.Node("Mul", "model/embed_scale", [hidden, _g.AddConstant("model/normalizer", [], (float)Math.Sqrt(_config.HiddenSize))]);
        var pastLength = past is null ? null : PastLength(past[0].Key);                                          // P, a scalar
        var (cos, sin) = RotaryTables(inputIds, pastLength);                                                     // [T, D] each
        var mask = blockedAttention ? null
            : pastLength is null ? AttentionMask(attentionMask) : AttentionMask(attentionMask, inputIds, past![0].Key, pastLength); // [B, 1, 1, T, P + T]
        for (var layer = 0; layer < _config.NumHiddenLayers; layer++)
            hidden = DecoderLayer($"model.layers.{layer}", hidden, cos, sin, mask, past?[layer], layer, inputIds, attentionMask);
        return (inputIds, attentionMask, hidden);
    }

    private ModelProto BuildModel(DecoderScore score, Precision precision, bool prefixCache)
    {
        var (_, attentionMask, hidden) = Decoder(prefixCache);
        _g.AddOutput("logits", DataType.Float, "B", 1);

        // Only each row's last real token is read, so the final norm and the head run on [B, H].
        var one = _g.AddConstant("model/last_token/one", [], 1L);
        var lengths = _g.Node("ReduceSum", "model/last_token/lengths", [attentionMask, _g.AddConstant("model/last_token/axes", [1], 1L)],
            attributes: [OnnxGraphBuilder.Int("keepdims", 1)]);                                                 // [B, 1]
        var last = _g.Node("Sub", "model/last_token/index", [lengths, one]);                                     // [B, 1]
        var taken = _g.Node("GatherND", "model/last_token", [hidden, last], attributes: [OnnxGraphBuilder.Int("batch_dims", 1)]); // [B, H]
        var normed = RmsNorm("model.norm", taken);

        if (_family.SequenceClassification)
        {
            _g.Node("Gemm", "score", [normed, Weight("score.weight")], "logits", attributes: [OnnxGraphBuilder.Int("transB", 1)]); // [B, 1]
        }
        else if (score.FalseId is not { } falseId)
        {
            // One row of lm_head (or of the tied embedding table): the true token's logit is the score.
            var row = GatherRows("lm_head/true_row", Head, _g.AddConstant("lm_head/true", [1], (long)score.TrueId));                 // [1, H]
            _g.Node("Gemm", "lm_head", [normed, row], "logits", attributes: [OnnxGraphBuilder.Int("transB", 1)]);                      // [B, 1]
        }
        else
        {
            // The two rows the reference reads; their difference is the logit.
            var rows = GatherRows("lm_head/true_false_rows", Head, _g.AddConstant("lm_head/true_false", [2], (long)score.TrueId, falseId)); // [2, H]
            var pair = _g.Node("Gemm", "lm_head", [normed, rows], attributes: [OnnxGraphBuilder.Int("transB", 1)]);                    // [B, 2]
            var yes = _g.Node("Slice", "lm_head/true", [pair, _g.AddConstant("lm_head/zero", [1], 0L), _g.AddConstant("lm_head/one", [1], 1L), _g.AddConstant("lm_head/axis", [1], 1L)]);
            var no = _g.Node("Slice", "lm_head/false", [pair, _g.AddConstant("lm_head/one_", [1], 1L), _g.AddConstant("lm_head/two", [1], 2L), _g.AddConstant("lm_head/axis_", [1], 1L)]);
            _g.Node("Sub", "lm_head/true_minus_false", [yes, no], "logits");                                                           // [B, 1]
        }
        return _g.ToModel(typeof(DecoderGraph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string> { ["architecture"] = _family.Architecture, ["precision"] = precision.ToString() });
    }

    // The output projection: lm_head, or the embedding table when tie_word_embeddings.
    private string Head => _config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";

    // cos and sin [T, D] of positions 0..T-1 (the default rope of Qwen2, Qwen3 and Gemma). Right padding keeps each
    // row's real tokens at 0..len-1; after a cached prefix of P tokens they are at P..P+len-1.
    private (string Cos, string Sin) RotaryTables(string inputIds, string? pastLength) =>
        RotaryEmbedding.Tables(_g, "model.rotary_emb", inputIds, _config.HeadDim, _config.RopeTheta, pastLength);

    // The cache's inputs, [1, K, P, D] per layer (one prefix shared by every row), and the matching present outputs.
    private (string Key, string Value)[] PastInputs()
    {
        int k = _config.NumKeyValueHeads, d = _config.HeadDim;
        var past = new (string, string)[_config.NumHiddenLayers];
        for (var layer = 0; layer < past.Length; layer++)
        {
            past[layer] = (_g.AddInput(PastKeyInput(layer), DataType.Float, 1, k, "P", d), _g.AddInput(PastValueInput(layer), DataType.Float, 1, k, "P", d));
            _g.AddOutput(PresentKeyOutput(layer), DataType.Float, "B", k, "PT", d);
            _g.AddOutput(PresentValueOutput(layer), DataType.Float, "B", k, "PT", d);
        }
        return past;
    }

    private string PastLength(string pastKey) =>
        _g.Node("Gather", "model/past_length", [_g.Node("Shape", "model/past_shape", [pastKey]), _g.AddConstant("model/past_length_axis", [], 2L)]);

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

    // The same after a cached prefix of P tokens: query i (position P + i) sees every cached key and this run's keys
    // j ≤ i that are not padding, so the additive mask is [B, 1, 1, T, P + T].
    private string AttentionMask(string attentionMask, string inputIds, string pastKey, string pastLength)
    {
        const string p = "model.causal_mask";
        var shape = _g.Node("Shape", $"{p}/shape", [attentionMask]);
        var length = _g.Node("Gather", $"{p}/length", [shape, _g.AddConstant($"{p}/one", [], 1L)]);                              // T
        var zero = _g.AddConstant($"{p}/zero", [], 0L);
        var step = _g.AddConstant($"{p}/step", [], 1L);
        var queries = _g.Node("Add", $"{p}/query_positions", [_g.Node("Range", $"{p}/query_index", [zero, length, step]), pastLength]); // [T]
        var rows = _g.Node("Unsqueeze", $"{p}/rows", [queries, _g.AddConstant($"{p}/axis1", [1], 1L)]);                           // [T, 1]
        var keyPositions = _g.Node("Range", $"{p}/key_positions", [zero, _g.Node("Add", $"{p}/total", [pastLength, length]), step]); // [P + T]
        var causal = _g.Node("LessOrEqual", $"{p}/causal", [keyPositions, rows]);                                                 // [T, P + T]
        // The cached keys are never padding: ones [B, P] before the mask.
        var batch = _g.Node("Slice", $"{p}/batch", [_g.Node("Shape", $"{p}/ids_shape", [inputIds]), _g.AddConstant($"{p}/b0", [1], 0L), _g.AddConstant($"{p}/b1", [1], 1L)]);
        var pastShape = _g.Node("Concat", $"{p}/past_mask_shape", [batch, _g.Node("Unsqueeze", $"{p}/p_1d", [pastLength, _g.AddConstant($"{p}/axis0", [1], 0L)])],
            attributes: [OnnxGraphBuilder.Int("axis", 0)]);
        var pastMask = _g.Node("Expand", $"{p}/past_mask", [_g.AddConstant($"{p}/one_mask", [1, 1], 1L), pastShape]);             // [B, P]
        var allMask = _g.Node("Concat", $"{p}/key_mask", [pastMask, attentionMask], attributes: [OnnxGraphBuilder.Int("axis", 1)]); // [B, P + T]
        var keys = _g.Node("Cast", $"{p}/keys", [allMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Bool)]);
        keys = _g.Node("Unsqueeze", $"{p}/keys_5d", [keys, _g.AddConstant($"{p}/axes", [3], 1L, 2L, 3L)]);                        // [B, 1, 1, 1, P + T]
        var allowed = _g.Node("And", $"{p}/allowed", [causal, keys]);                                                            // [B, 1, 1, T, P + T]
        return _g.Node("Where", p, [allowed, _g.AddConstant($"{p}/zero_f", [], 0f), _g.AddConstant($"{p}/min", [], float.MinValue)]);
    }

    // mask: the additive [B, 1, 1, T, P + T] mask of the dense form, or null for CausalBlockedAttention over attentionMask.
    private string DecoderLayer(string p, string hidden, string cos, string sin, string? mask, (string Key, string Value)? past, int layer, string inputIds,
        string attentionMask)
    {
        int n = _config.NumAttentionHeads, k = _config.NumKeyValueHeads, d = _config.HeadDim, g = n / k;
        var normed = RmsNorm($"{p}.input_layernorm", hidden);                                                                    // [B, T, H]

        // q: [B, T, N·D] → [B, T, K, G, D] (→ q_norm) → [B, K, G, T, D]; k, v: [B, T, K, D] → [B, K, 1, T, D]. Query heads
        // h·G … h·G+G-1 share key/value head h (repeat_kv), which the [K, G] split expresses without copying k and v;
        // K = 1 is multi-query attention (Gemma-2B).
        var q = Project($"{p}.self_attn.q_proj", normed, _family.QkvBias);
        q = _g.Node("Reshape", $"{p}.self_attn/q_heads", [q, _g.AddConstant($"{p}.self_attn/q_shape", [5], 0L, 0L, k, g, d)]);
        if (_family.QkNorm) q = RmsNorm($"{p}.self_attn.q_norm", q);
        q = _g.Node("Transpose", $"{p}.self_attn/q_transpose", [q], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]);
        var kv = _g.AddConstant($"{p}.self_attn/kv_shape", [5], 0L, 0L, k, 1L, d);
        var key = Project($"{p}.self_attn.k_proj", normed, _family.QkvBias);
        key = _g.Node("Reshape", $"{p}.self_attn/k_heads", [key, kv]);
        if (_family.QkNorm) key = RmsNorm($"{p}.self_attn.k_norm", key);
        key = _g.Node("Transpose", $"{p}.self_attn/k_transpose", [key], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]);
        var value = _g.Node("Reshape", $"{p}.self_attn/v_heads", [Project($"{p}.self_attn.v_proj", normed, _family.QkvBias), kv]);
        value = _g.Node("Transpose", $"{p}.self_attn/v_transpose", [value], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]);
        q = Rotate($"{p}.self_attn/rotary_q", q, cos, sin);
        key = Rotate($"{p}.self_attn/rotary_k", key, cos, sin);
        if (past is { } cache)
        {
            // The prefix's keys and values, shared by every row: broadcast over the batch, before this run's ([B, K, 1, P + T, D]).
            key = WithPast($"{p}.self_attn/past_key", cache.Key, key, inputIds);
            value = WithPast($"{p}.self_attn/past_value", cache.Value, value, inputIds);
            var squeeze = _g.AddConstant($"{p}.self_attn/present_axis", [1], 2L);
            _g.Node("Squeeze", $"{p}.self_attn/present_key", [key, squeeze], PresentKeyOutput(layer));
            _g.Node("Squeeze", $"{p}.self_attn/present_value", [value, squeeze], PresentValueOutput(layer));
        }

        string context;
        if (mask is null)
        {
            // Long single sequences (listwise rerankers): blocks of queries, no [T, T] scores (CausalBlockedAttention).
            context = CausalBlockedAttention.Build(_g, $"{p}.self_attn", q, key, value, attentionMask, d);                        // [B, K, G, T, D]
        }
        else
        {
            var keyT = _g.Node("Transpose", $"{p}.self_attn/k_t", [key], attributes: [OnnxGraphBuilder.Ints("perm", 0, 1, 2, 4, 3)]); // [B, K, 1, D, T]
            var scores = _g.Node("MatMul", $"{p}.self_attn/scores", [q, keyT]);                                                   // [B, K, G, T, T]
            scores = _g.Node("Mul", $"{p}.self_attn/scale", [scores, _g.AddConstant($"{p}.self_attn/scaling", [], (float)Math.Pow(d, -0.5))]);
            scores = _g.Node("Add", $"{p}.self_attn/mask", [scores, mask]);
            var probs = _g.Node("Softmax", $"{p}.self_attn/softmax", [scores], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
            context = _g.Node("MatMul", $"{p}.self_attn/context", [probs, value]);                                                // [B, K, G, T, D]
        }
        context = _g.Node("Transpose", $"{p}.self_attn/merge_transpose", [context], attributes: [OnnxGraphBuilder.Ints("perm", 0, 3, 1, 2, 4)]); // [B, T, K, G, D]
        context = _g.Node("Reshape", $"{p}.self_attn/merge_heads", [context, _g.AddConstant($"{p}.self_attn/merged_shape", [3], 0L, 0L, (long)n * d)]);
        hidden = _g.Node("Add", $"{p}/attention_residual", [hidden, Project($"{p}.self_attn.o_proj", context)]);                 // [B, T, H]

        normed = RmsNorm($"{p}.post_attention_layernorm", hidden);
        var gate = Project($"{p}.mlp.gate_proj", normed);                                                                          // [B, T, I]
        var up = _g.Node("Mul", $"{p}.mlp/gate_times_up", [Activation($"{p}.mlp.act_fn", gate), Project($"{p}.mlp.up_proj", normed)]);
        return _g.Node("Add", $"{p}/mlp_residual", [hidden, Project($"{p}.mlp.down_proj", up)]);
    }

    // SwiGLU's silu (Qwen) or GeGLU's GELU (Gemma's gelu_pytorch_tanh: opset 20's Gelu with approximate "tanh").
    private string Activation(string module, string x) => _family.Activation(_config).Value switch
    {
        "silu" => _g.Node("Mul", module, [x, _g.Node("Sigmoid", $"{module}/sigmoid", [x])]),
        "gelu_pytorch_tanh" => _g.Node("Gelu", module, [x], attributes: [OnnxGraphBuilder.String("approximate", "tanh")]),
        "gelu" => _g.Node("Gelu", module, [x]),
        var other => throw new RerankException(RerankErrorKind.Internal, $"activation {other} passed CheckSupported. This is a bug."),
    };

    private string Rotate(string name, string x, string cos, string sin) => RotaryEmbedding.Apply(_g, name, x, cos, sin);

    // cache [1, K, P, D] → [B, K, 1, P, D], then this run's [B, K, 1, T, D] after it along the tokens.
    private string WithPast(string name, string cache, string current, string inputIds)
    {
        var cache5 = _g.Node("Unsqueeze", $"{name}/heads", [cache, _g.AddConstant($"{name}/axis2", [1], 2L)]);
        var batch = _g.Node("Slice", $"{name}/batch", [_g.Node("Shape", $"{name}/ids_shape", [inputIds]), _g.AddConstant($"{name}/b0", [1], 0L), _g.AddConstant($"{name}/b1", [1], 1L)]);
        var shape = _g.Node("Concat", $"{name}/shape", [batch, _g.AddConstant($"{name}/ones", [4], 1L, 1L, 1L, 1L)], attributes: [OnnxGraphBuilder.Int("axis", 0)]);
        var expanded = _g.Node("Expand", $"{name}/rows", [cache5, shape]);
        return _g.Node("Concat", name, [expanded, current], attributes: [OnnxGraphBuilder.Int("axis", 3)]);
    }

    // Qwen2/Qwen3 RMSNorm: x · rsqrt(mean(x²) + eps) · weight over the last axis; GemmaRMSNorm scales by (1 + weight),
    // its weights stored as offsets from 1.
    private string RmsNorm(string module, string x)
    {
        var square = _g.Node("Mul", $"{module}/square", [x, x]);
        var mean = _g.Node("ReduceMean", $"{module}/variance", [square, _g.AddConstant($"{module}/axes", [1], -1L)], attributes: [OnnxGraphBuilder.Int("keepdims", 1)]);
        var std = _g.Node("Sqrt", $"{module}/sqrt", [_g.Node("Add", $"{module}/eps", [mean, _g.AddConstant($"{module}/epsilon", [], (float)_config.RmsNormEps)])]);
        var scale = Weight($"{module}.weight");
        if (_family.NormPlusOne) scale = _g.Node("Add", $"{module}/one_plus_weight", [scale, _g.AddConstant($"{module}/one", [], 1f)]);
        return _g.Node("Mul", module, [_g.Node("Div", $"{module}/normalize", [x, std]), scale]);
    }

    // x · Wᵀ with W as stored, [out, in] (FusedMatMul transB reads it in place); int8: DynamicQuantizeMatMul on the cached Wᵀ.
    private string Project(string module, string input, bool bias = false)
    {
        var projected = ProjectWeight(module, input);
        return bias ? _g.Node("Add", $"{module}/bias", [projected, Weight($"{module}.bias")]) : projected;
    }

    private string ProjectWeight(string module, string input)
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
