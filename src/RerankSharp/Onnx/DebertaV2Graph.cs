// DebertaV2ForSequenceClassification (DeBERTa-v2/v3: mixedbread-ai/mxbai-rerank-*-v1) as an ONNX graph, in the forward order
// of transformers' modeling_deberta_v2.py (@0038a3caa5c7d0c5014704005dd67ab347451ddc): embeddings
// (word, absolute positions when position_biased_input, token types when type_vocab_size > 0, embed_proj, LayerNorm, times
// the mask) → post-LN layers whose attention adds DeBERTa's disentangled terms (content→position and position→content over
// log-bucketed relative distances) → ContextPooler (dense → pooler_hidden_act on token 0) → classifier. Initializers carry
// the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size, E embedding size, N heads, D head size, S att_span (position_buckets,
// else max_relative_positions): the relative embeddings used are 2S rows.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

internal static class DebertaV2Graph
{
    public const string Architecture = "DebertaV2ForSequenceClassification";

    private const string MismatchAdvice =
        $"the checkpoint does not match {Architecture}. Re-download the model or check that it is a DeBERTa-v2/v3 reranker (e.g. mixedbread-ai/mxbai-rerank-base-v1).";

    /// <summary>ContextPooler activations RerankSharp computes (the encoder layer's, and tanh).</summary>
    public static readonly IReadOnlyList<string> PoolerActivations = [.. EncoderLayerLayout.Activations, "tanh"];

    /// <summary>
    /// DebertaV2Layer: BertLayer's modules under <c>deberta.</c> (DebertaV2SelfOutput, DebertaV2Intermediate, DebertaV2Output
    /// are BERT's), but DisentangledSelfAttention names its projections query_proj / key_proj / value_proj, and the norms
    /// take DeBERTa's layer_norm_eps.
    /// </summary>
    public static EncoderLayerLayout Layout(ModelConfig c, DebertaV2Config d) => BertGraph.Layout(c, "deberta.") with
    {
        QueryKeyValue = ["attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj"],
        NormEps = d.LayerNormEps,
    };

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c, DebertaV2Config d)
    {
        long h = c.HiddenSize, e = d.EmbeddingSize;
        const string p = "deberta.embeddings";
        yield return ($"{p}.word_embeddings.weight", [c.VocabSize, e]);
        if (d.PositionBiasedInput) yield return ($"{p}.position_embeddings.weight", [c.MaxPositionEmbeddings, e]);
        if (d.TypeVocabSize > 0) yield return ($"{p}.token_type_embeddings.weight", [d.TypeVocabSize, e]);
        if (e != h) yield return ($"{p}.embed_proj.weight", [h, e]);
        yield return ($"{p}.LayerNorm.weight", [h]);
        yield return ($"{p}.LayerNorm.bias", [h]);
        foreach (var tensor in Layout(c, d).Tensors()) yield return tensor;
        if (!d.ShareAttKey)
            for (var layer = 0; layer < c.NumHiddenLayers; layer++)
                foreach (var module in PositionProjections(d))
                {
                    yield return ($"{Attention(layer)}.{module}.weight", [h, h]);
                    yield return ($"{Attention(layer)}.{module}.bias", [h]);
                }
        yield return ("deberta.encoder.rel_embeddings.weight", [2L * d.Span, h]);
        if (d.NormRelEmbeddings)
        {
            yield return ("deberta.encoder.LayerNorm.weight", [h]);
            yield return ("deberta.encoder.LayerNorm.bias", [h]);
        }
        yield return ("pooler.dense.weight", [h, h]);
        yield return ("pooler.dense.bias", [h]);
        yield return ("classifier.weight", [c.NumLabels, h]);
        yield return ("classifier.bias", [c.NumLabels]);
    }

    /// <summary>The tensor names the graph reads, in words, for the message of a checkpoint that lacks one.</summary>
    public static string TensorLayout(ModelConfig c, DebertaV2Config d) =>
        $"transformers' {Architecture}: deberta.embeddings.{{word_embeddings, LayerNorm{(d.PositionBiasedInput ? ", position_embeddings" : "")}"
        + $"{(d.TypeVocabSize > 0 ? ", token_type_embeddings" : "")}{(d.EmbeddingSize != c.HiddenSize ? ", embed_proj" : "")}}}, {Layout(c, d).Describe()}"
        + $"{(d.ShareAttKey ? "" : $", deberta.encoder.layer.{{i}}.attention.self.{{{string.Join(", ", PositionProjections(d))}}}")}, "
        + $"deberta.encoder.rel_embeddings{(d.NormRelEmbeddings ? ", deberta.encoder.LayerNorm" : "")}, pooler.dense, classifier";

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, DebertaV2Config d, string configPath)
    {
        string? problem = null;
        var unknown = d.PosAttType.FirstOrDefault(t => t is not ("c2p" or "p2c"));
        if (d.ConvKernelSize > 0)
            problem = $"conv_kernel_size {d.ConvKernelSize} (DebertaV2Encoder's ConvLayer after the first layer) is not supported; DeBERTa-v3 rerankers have none";
        else if (!d.RelativeAttention)
            problem = "relative_attention false is not supported; DeBERTa-v2/v3 rerankers use relative attention";
        else if (unknown is not null)
            problem = $"pos_att_type \"{unknown}\" is not supported; DeBERTa-v2 computes \"c2p\" and \"p2c\"";
        else if (d.AttentionHeadSize is { } size && size != c.HeadSize)
            problem = $"attention_head_size {size} (other than hidden_size / num_attention_heads = {c.HeadSize}) is not supported";
        else if (d.PoolerHiddenSize != c.HiddenSize)
            problem = $"pooler_hidden_size {d.PoolerHiddenSize} (other than hidden_size {c.HiddenSize}) is not supported";
        else if (d.PositionBuckets > 0 && d.MaxRelativePositions - 1 <= d.PositionBuckets / 2)
            problem = $"position_buckets {d.PositionBuckets} with max_relative_positions {d.MaxRelativePositions} (at most position_buckets / 2 + 1) gives no log buckets";
        else if (!EncoderLayerLayout.Activations.Contains(c.HiddenAct, StringComparer.Ordinal))
            problem = $"hidden_act \"{c.HiddenAct}\" is not supported; RerankSharp computes {string.Join(", ", EncoderLayerLayout.Activations)}";
        else if (!PoolerActivations.Contains(d.PoolerHiddenAct, StringComparer.Ordinal))
            problem = $"pooler_hidden_act \"{d.PoolerHiddenAct}\" is not supported; RerankSharp computes {string.Join(", ", PoolerActivations)}";
        if (problem is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel, $"{configPath}: {problem}.");
    }

    /// <summary>
    /// The index into the 2S relative-embedding rows for each query−key distance d = −M … M (M = <see cref="TableReach"/>):
    /// clamp(bucket(d) + S, 0, 2S − 1), with make_log_bucket_position's float32 arithmetic (torch computes the buckets in
    /// its default float32 whatever the model's dtype). Past ±M the index no longer changes, so distances are clipped to ±M.
    /// </summary>
    public static long[] RelativeIndexTable(DebertaV2Config d)
    {
        var reach = TableReach(d);
        var span = d.Span;
        var table = new long[2 * reach + 1];
        for (var distance = -reach; distance <= reach; distance++)
            table[distance + reach] = Math.Clamp(Bucket(distance, d) + span, 0, 2L * span - 1);
        return table;
    }

    /// <summary>M of <see cref="RelativeIndexTable"/>: twice the larger of max_relative_positions and S, past which the index is saturated.</summary>
    public static int TableReach(DebertaV2Config d) => 2 * Math.Max(d.MaxRelativePositions, d.Span);

    // make_log_bucket_position(relative_pos, position_buckets, max_relative_positions), as torch evaluates it: |d| / mid and the
    // logarithms in float32, ceil, then + mid; distances within ±mid stay themselves. Without buckets the distance itself.
    private static long Bucket(int distance, DebertaV2Config d)
    {
        if (d.PositionBuckets <= 0) return distance;
        var mid = d.PositionBuckets / 2;
        var magnitude = Math.Abs(distance);
        if (magnitude <= mid) return distance;
        var ratio = MathF.Log((float)magnitude / mid) / MathF.Log((float)((d.MaxRelativePositions - 1) / (double)mid));
        var logPosition = MathF.Ceiling(ratio * (mid - 1)) + mid;
        return Math.Sign(distance) * (long)logPosition;
    }

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T], right-padded), and
    /// <c>token_type_ids</c> when type_vocab_size > 0; output <c>logits</c> (float [B, num_labels]). See
    /// <see cref="EncoderGraph.Start"/> for the weights' location and the options.
    /// </summary>
    public static ModelProto Build(ModelConfig config, DebertaV2Config deberta, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, Int8Recipe? recipe = null, bool ownKernels = false)
    {
        var e = EncoderGraph.Start(Architecture, Layout(config, deberta), weights, modelDirectory, form, precision, recipe, ownKernels, MismatchAdvice);
        var (inputIds, attentionMask) = e.Inputs(config.NumLabels);
        var tokenTypeIds = deberta.TypeVocabSize > 0 ? e.G.AddInput("token_type_ids", DataType.Int64, "B", "T") : null;

        var hidden = Embeddings(e, config, deberta, inputIds, tokenTypeIds, attentionMask);                      // [B, T, H]
        // Without c2p or p2c (an empty pos_att_type) disentangled_attention_bias adds nothing: content scores alone, still
        // divided by √(D · scale_factor) with a scale factor of 1.
        var relative = deberta.ContentToPosition || deberta.PositionToContent ? new RelativePositions(e, config, deberta, inputIds) : null;
        var scale = 1 / Math.Sqrt((double)config.HeadSize * deberta.ScaleFactor);
        var masks = e.Layers.Masks("deberta.encoder", attentionMask);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var l = layer;
            hidden = e.Layers.Build(layer, hidden, masks, new LayerAttention(null, null, null)
            {
                ScoreBias = relative is null ? null : (q, k) => relative.ScoreBias(l, q, k),
                Scale = scale,
            });
        }

        // ContextPooler (dense → pooler_hidden_act on token 0) and the classifier, in float32; dropouts are off in eval.
        var first = e.Tensors.FirstToken("pooler/take_first_token", hidden);                                       // [B, H]
        var dense = e.Tensors.Gemm("pooler.dense", first);
        var pooled = deberta.PoolerHiddenAct == "tanh"
            ? e.G.Node("Tanh", "pooler/activation", [dense])
            : e.Layers.Activate("pooler/activation", dense, deberta.PoolerHiddenAct);                              // [B, H]
        e.Tensors.Gemm("classifier", pooled, output: "logits");                                                    // [B, num_labels]
        return e.ToModel();
    }

    // DebertaV2Embeddings: word (+ positions 0..T-1 when position_biased_input) (+ token types) → embed_proj when E ≠ H →
    // LayerNorm → times the attention mask. In fp16 the tables and their sum are float16, the rest float32.
    private static string Embeddings(EncoderGraph e, ModelConfig config, DebertaV2Config d, string inputIds, string? tokenTypeIds, string attentionMask)
    {
        const string p = "deberta.embeddings";
        var g = e.G;
        var sum = e.Embed($"{p}.word_embeddings", $"{p}.word_embeddings.weight", inputIds);                       // [B, T, E]
        if (d.PositionBiasedInput)
            sum = g.Node("Add", $"{p}/add_position", [sum, BertGraph.LeadingRows(e, $"{p}.position_embeddings", $"{p}.position_ids", inputIds)]);
        if (tokenTypeIds is not null)
            sum = g.Node("Add", $"{p}/add_token_type", [sum, e.Embed($"{p}.token_type_embeddings", $"{p}.token_type_embeddings.weight", tokenTypeIds)]);
        var x = e.Projection.ToFloat32($"{p}/sum", sum);
        if (d.EmbeddingSize != config.HiddenSize)
            x = g.Node("MatMul", $"{p}.embed_proj", [x, e.Tensors.Transposed($"{p}.embed_proj.weight")]);         // [B, T, H]
        var normed = e.Tensors.LayerNorm($"{p}.LayerNorm", x, d.LayerNormEps);
        var mask = g.Node("Cast", $"{p}/mask_float", [g.Node("Unsqueeze", $"{p}/mask_3d", [attentionMask, g.AddConstant($"{p}/mask_axis", [1], 2L)])],
            attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);                                        // [B, T, 1]
        return g.Node("Mul", $"{p}/masked", [normed, mask]);
    }

    private static string Attention(int layer) => $"deberta.encoder.layer.{layer}.attention.self";

    // The position projections of a layer without share_att_key: pos_key_proj for c2p, pos_query_proj for p2c.
    private static IEnumerable<string> PositionProjections(DebertaV2Config d)
    {
        if (d.ContentToPosition) yield return "pos_key_proj";
        if (d.PositionToContent) yield return "pos_query_proj";
    }

    /// <summary>
    /// DisentangledSelfAttention's relative terms. For query i and key j with idx(i, j) = clamp(bucket(i − j) + S, 0, 2S − 1):
    /// c2p = q_i · pk[idx(i, j)] and p2c = k_j · pq[idx(i, j)] (transformers gathers p2c at clamp(−bucket(j − i) + S) and
    /// transposes; the buckets are odd in the distance, so that is the same row), both divided by √(D · scale_factor) like
    /// the content scores. pk and pq (the relative embeddings through key_proj / query_proj, or pos_key_proj /
    /// pos_query_proj) depend on no input, so ONNX Runtime folds them at load; per input the graph computes q · pkᵀ and
    /// k · pqᵀ ([B, N, T, 2S]) and gathers T × T of each through one flat index shared by every layer.
    /// </summary>
    private sealed class RelativePositions
    {
        private const string P = "deberta.encoder";
        private readonly EncoderGraph _e;
        private readonly DebertaV2Config _d;
        private readonly int _heads, _headSize;
        private readonly double _scale;   // 1/√(D · scale_factor), the factor on every term of the scores
        private readonly string _rel, _contentIndex, _positionIndex, _scoresShape;

        public RelativePositions(EncoderGraph e, ModelConfig config, DebertaV2Config d, string inputIds)
        {
            (_e, _d, _heads, _headSize) = (e, d, config.NumAttentionHeads, config.HeadSize);
            _scale = 1 / Math.Sqrt((double)_headSize * d.ScaleFactor);
            var g = e.G;
            // get_rel_embedding: the table, LayerNorm'd when norm_rel_ebd says so (float32, [2S, H]).
            _rel = d.NormRelEmbeddings
                ? e.Tensors.LayerNorm($"{P}.LayerNorm", e.Tensors.Float32($"{P}.rel_embeddings.weight"), d.LayerNormEps)
                : e.Tensors.Float32($"{P}.rel_embeddings.weight");

            // idx(i, j) from the table over clipped distances, then flat indices into [T · 2S] rows: i · 2S + idx(i, j) for c2p
            // (the query's row), j · 2S + idx(i, j) for p2c (the key's row).
            var p = $"{P}.relative_positions";
            var length = g.Node("Gather", $"{p}/length", [g.Node("Shape", $"{p}/shape", [inputIds]), g.AddConstant($"{p}/one", [], 1L)]);
            var index = g.Node("Range", $"{p}/index", [g.AddConstant($"{p}/zero", [], 0L), length, g.AddConstant($"{p}/step", [], 1L)]);   // [T]
            var rows = g.Node("Unsqueeze", $"{p}/rows", [index, g.AddConstant($"{p}/axis1", [1], 1L)]);                              // [T, 1]
            var distance = g.Node("Sub", $"{p}/distance", [rows, index]);                                                          // [T, T] i − j
            var reach = TableReach(d);
            var clipped = g.Node("Max", $"{p}/clip_low", [g.Node("Min", $"{p}/clip_high", [distance, g.AddConstant($"{p}/reach", [], (long)reach)]),
                g.AddConstant($"{p}/minus_reach", [], (long)-reach)]);
            var table = g.AddConstant($"{p}/index_table", [2L * reach + 1], RelativeIndexTable(d));
            var idx = g.Node("Gather", $"{p}/idx", [table, g.Node("Add", $"{p}/offset", [clipped, g.AddConstant($"{p}/reach_offset", [], (long)reach)])]); // [T, T]
            var rowsOf2S = g.AddConstant($"{p}/two_span", [], 2L * d.Span);
            var flat = g.AddConstant($"{p}/flat", [1], -1L);
            _contentIndex = g.Node("Reshape", $"{p}/c2p_index", [g.Node("Add", $"{p}/c2p_add", [g.Node("Mul", $"{p}/c2p_row", [rows, rowsOf2S]), idx]), flat]);   // [T·T]
            _positionIndex = g.Node("Reshape", $"{p}/p2c_index", [g.Node("Add", $"{p}/p2c_add", [g.Node("Mul", $"{p}/p2c_row", [index, rowsOf2S]), idx]), flat]); // [T·T]
            var length1 = g.Node("Unsqueeze", $"{p}/length_1d", [length, g.AddConstant($"{p}/axis0", [1], 0L)]);
            _scoresShape = g.Node("Concat", $"{p}/scores_shape", [g.AddConstant($"{p}/batch_heads", [2], 0L, 0L), length1, length1],
                attributes: [OnnxGraphBuilder.Int("axis", 0)]);                                                                  // [B, N, T, T] as 0, 0, T, T
        }

        /// <summary>c2p + p2c of layer <paramref name="layer"/>, already scaled: [B, N, T, T] in the compute type.</summary>
        public string ScoreBias(int layer, string q, string k)
        {
            var module = Attention(layer);
            string? bias = null;
            if (_d.ContentToPosition)
                bias = Term(module, "c2p", q, _d.ShareAttKey ? "key_proj" : "pos_key_proj");
            if (_d.PositionToContent)
            {
                var p2c = Term(module, "p2c", k, _d.ShareAttKey ? "query_proj" : "pos_query_proj");
                bias = bias is null ? p2c : _e.G.Node("Add", $"{module}/rel_att", [bias, p2c]);
            }
            return bias ?? throw new RerankException(RerankErrorKind.Internal, "DeBERTa attention without c2p or p2c built its relative terms. This is a bug.");
        }

        // One term: x ([B, T, H]: q for c2p, k for p2c) per head against the relative embeddings through `projection`
        // (scaled here, so the constant carries the 1/√(D·sf)), then T × T gathered out of the [T, 2S] products.
        private string Term(string module, string term, string x, string projection)
        {
            var g = _e.G;
            var p = $"{module}/{term}";
            // rel · Wᵀ + b in float32 (the projection's own nodes carry its module name; with share_att_key that is the
            // layer's key_proj / query_proj, which projects the hidden states too).
            var weights = $"{module}.{projection}";
            var projected = g.Node("Add", $"{p}/positions_bias", [g.Node("MatMul", $"{p}/positions", [_rel, _e.Tensors.Transposed($"{weights}.weight")]),
                _e.Tensors.Float32($"{weights}.bias")]);                                                                     // [2S, H]
            projected = g.Node("Mul", $"{p}/scaled", [projected, g.AddConstant($"{p}/scale", [], (float)_scale)]);
            var perHead = g.Node("Transpose", $"{p}/positions_t", [g.Node("Reshape", $"{p}/positions_heads", [projected, g.AddConstant($"{p}/positions_shape", [3], -1L, _heads, _headSize)])],
                attributes: [OnnxGraphBuilder.Ints("perm", 1, 2, 0)]);                                                        // [N, D, 2S]
            var heads = g.Node("Transpose", $"{p}/heads_t", [g.Node("Reshape", $"{p}/heads", [x, g.AddConstant($"{p}/heads_shape", [4], 0L, 0L, _heads, _headSize)])],
                attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3)]);                                                     // [B, N, T, D]
            var full = g.Node("MatMul", $"{p}/full", [heads, _e.Projection.ToCompute($"{p}/positions_heads", perHead)]);    // [B, N, T, 2S]
            var flat = g.Node("Reshape", $"{p}/flat", [full, g.AddConstant($"{p}/flat_shape", [3], 0L, 0L, -1L)]);          // [B, N, T·2S]
            var gathered = g.Node("Gather", $"{p}/gather", [flat, term == "c2p" ? _contentIndex : _positionIndex],
                attributes: [OnnxGraphBuilder.Int("axis", 2)]);                                                              // [B, N, T·T]
            return g.Node("Reshape", p, [gathered, _scoresShape]);                                                          // [B, N, T, T]
        }
    }
}
