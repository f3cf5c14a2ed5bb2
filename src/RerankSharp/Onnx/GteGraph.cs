// NewForSequenceClassification (GTE "new": Alibaba-NLP/gte-multilingual-reranker-base) as an ONNX graph, in the
// forward order of the Alibaba-NLP/new-impl modeling.py its config's auto_map names (read in the public mirror
// xuhaike/SparseCL, gte/modeling.py @03dd0e1c38f438c0c3cd61c02a67df31feb20313; cross-checked against
// huggingface/text-embeddings-inference backends/candle/src/models/gte.rs @265deb2a): embeddings (word + token type 0,
// no position table, then LayerNorm) → post-LN layers (merged qkv_proj, rotary positions with NTK scaling, o_proj,
// attn_ln; gated MLP up_gate_proj = up ‖ gate, down_proj(up · act(gate)), mlp_ln) → NewPooler (dense → tanh on token 0)
// → classifier. Initializers carry the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size, D head size.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;

namespace RerankSharp.Onnx;

internal static class GteGraph
{
    public const string Architecture = "NewForSequenceClassification";

    private const string MismatchAdvice =
        $"the checkpoint does not match {Architecture}. Re-download the model or check that it is a GTE \"new\" reranker (e.g. Alibaba-NLP/gte-multilingual-reranker-base).";

    /// <summary>
    /// NewLayer: <c>attention.qkv_proj</c> ([3H, H], q‖k‖v) → rotary → attention → <c>attention.o_proj</c> → residual →
    /// <c>attn_ln</c>; <c>mlp.up_gate_proj</c> ([2I, H], up‖gate, no bias) → up · act(gate) → <c>mlp.down_proj</c> →
    /// residual → <c>mlp_ln</c>.
    /// </summary>
    public static EncoderLayerLayout Layout(ModelConfig c) => new()
    {
        Prefix = "new.encoder.layer",
        Norms = NormPlacement.Post,
        Attention = "attention",
        QueryKeyValue = ["attention.qkv_proj"],
        AttentionOutput = "attention.o_proj",
        AttentionNorm = "attn_ln",
        MlpInput = "mlp.up_gate_proj",
        MlpActivation = "mlp.act_fn",
        MlpOutput = "mlp.down_proj",
        MlpNorm = "mlp_ln",
        GatedMlp = true,
        ActivatedHalf = GatedHalf.Second,
        Activation = c.HiddenAct,
        MlpInputBias = false,
        Hidden = c.HiddenSize,
        Heads = c.NumAttentionHeads,
        Intermediate = c.IntermediateSize,
        NormEps = c.LayerNormEps,
        LayerCount = c.NumHiddenLayers,
    };

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c, GteConfig gte)
    {
        long h = c.HiddenSize;
        yield return ("new.embeddings.word_embeddings.weight", [c.VocabSize, h]);
        if (gte.TypeVocabSize > 0) yield return ("new.embeddings.token_type_embeddings.weight", [gte.TypeVocabSize, h]);
        yield return ("new.embeddings.LayerNorm.weight", [h]);
        yield return ("new.embeddings.LayerNorm.bias", [h]);
        foreach (var tensor in Layout(c).Tensors()) yield return tensor;
        yield return ("new.pooler.dense.weight", [h, h]);
        yield return ("new.pooler.dense.bias", [h]);
        yield return ("classifier.weight", [c.NumLabels, h]);
        yield return ("classifier.bias", [c.NumLabels]);
    }

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, GteConfig gte, string configPath)
    {
        string? problem = null;
        if (gte.PositionEmbeddingType != "rope")
            problem = $"position_embedding_type \"{gte.PositionEmbeddingType}\" is not supported; GTE rerankers use \"rope\"";
        else if (gte.RopeScalingType is { } type && type != "ntk")
            problem = $"rope_scaling.type \"{type}\" is not supported; RerankSharp implements new-impl's fixed \"ntk\" scaling (gte-multilingual-reranker-base's)";
        else if (gte.RopeScalingMixedB is { } b)
            problem = $"rope_scaling.mixed_b {b} (mixed NTK scaling) is not supported; RerankSharp implements the fixed NTK scaling without mixed_b";
        else if (gte.RopeScalingType is not null && gte.RopeScalingFactor < 1)
            problem = $"rope_scaling.factor {gte.RopeScalingFactor} is below 1, where new-impl scales only inputs longer than max_position_embeddings; RerankSharp supports factors of 1 or more";
        else if (gte.LayerNormType != "layer_norm")
            problem = $"layer_norm_type \"{gte.LayerNormType}\" is not supported; GTE rerankers use \"layer_norm\"";
        else if (!gte.PackQkv)
            problem = "pack_qkv false (separate q_proj, k_proj, v_proj) is not supported; GTE rerankers use the merged qkv_proj";
        else if (gte.LognAttentionScale)
            problem = "logn_attention_scale true is not supported; GTE rerankers do not scale queries by log length";
        else if (!EncoderLayerLayout.Activations.Contains(c.HiddenAct, StringComparer.Ordinal))
            problem = $"hidden_act \"{c.HiddenAct}\" is not supported; RerankSharp computes {string.Join(", ", EncoderLayerLayout.Activations)}";
        else if (c.HeadSize % 2 != 0)
            problem = $"a head size of {c.HeadSize} (hidden_size / num_attention_heads), odd, which rotary embeddings cannot rotate in halves, is not supported";
        if (problem is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel, $"{configPath}: {problem}.");
    }

    /// <summary>
    /// new-impl's rotary frequencies. NTKScalingRotaryEmbedding (mixed_b null) builds its cache for
    /// max_position_embeddings · factor positions, past max_position_embeddings, so every position gets the scaled
    /// frequencies: base θ·f, then inv_freq / f^(2/D) (https://kexue.fm/archives/9706, its equation 6). Without
    /// rope_scaling (or factor 1) it is the default 1 / θ^(2i/D).
    /// </summary>
    public static double[] InverseFrequencies(int headDim, GteConfig gte)
    {
        if (!gte.NtkScaled) return RotaryEmbedding.InverseFrequencies(headDim, gte.RopeTheta);
        var f = gte.RopeScalingFactor;
        var shrink = Math.Pow(f, 2.0 / headDim);
        return RotaryEmbedding.InverseFrequencies(headDim, gte.RopeTheta * f).Select(x => x / shrink).ToArray();
    }

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T], right-padded); output
    /// <c>logits</c> (float [B, num_labels]). See <see cref="EncoderGraph.Start"/> for the weights' location and the options.
    /// </summary>
    public static ModelProto Build(ModelConfig config, GteConfig gte, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, Int8Recipe? recipe = null, bool ownKernels = false)
    {
        var e = EncoderGraph.Start(Architecture, Layout(config), weights, modelDirectory, form, precision, recipe, ownKernels, MismatchAdvice);
        var (inputIds, attentionMask) = e.Inputs(config.NumLabels);

        var hidden = Embeddings(e, config, gte, inputIds);                                                      // [B, T, H]
        // NewEmbeddings' rotary_emb: positions 0..T-1 of every row (right padding leaves real tokens where they are alone).
        var (cos, sin) = RotaryEmbedding.HalfTables(e.G, "new.embeddings.rotary_emb", inputIds, InverseFrequencies(config.HeadSize, gte));
        var attention = new LayerAttention(cos, sin, HalfWindow: null);
        var masks = e.Layers.Masks("new.encoder", attentionMask);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            hidden = e.Layers.Build(layer, hidden, masks, attention);

        // NewPooler (dense → tanh on token 0, BertPooler's) and the classifier, in float32; dropout is off in eval.
        var first = e.Tensors.FirstToken("new.pooler/take_first_token", hidden);                                // [B, H]
        var pooled = e.G.Node("Tanh", "new.pooler.activation", [e.Tensors.Gemm("new.pooler.dense", first)]);   // [B, H]
        e.Tensors.Gemm("classifier", pooled, output: "logits");                                                 // [B, num_labels]
        return e.ToModel();
    }

    // NewEmbeddings with position_embedding_type "rope": word embeddings + token type 0 (the XLM-R tokenizer gives every
    // token type 0, and new-impl fills absent token_type_ids with zeros), then LayerNorm. In fp16 the tables and their
    // sum are float16, the LayerNorm float32.
    private static string Embeddings(EncoderGraph e, ModelConfig config, GteConfig gte, string inputIds)
    {
        const string p = "new.embeddings";
        var sum = e.Embed($"{p}.word_embeddings", $"{p}.word_embeddings.weight", inputIds);                  // [B, T, H]
        if (gte.TypeVocabSize > 0)
        {
            var tokenType = e.Embed($"{p}.token_type_embeddings", $"{p}.token_type_embeddings.weight", e.G.AddConstant($"{p}.token_type_ids", [], 0L)); // [H]
            sum = e.G.Node("Add", $"{p}/add_token_type", [sum, tokenType]);
        }
        return e.Tensors.LayerNorm($"{p}.LayerNorm", e.Projection.ToFloat32($"{p}/sum", sum), config.LayerNormEps);
    }
}
