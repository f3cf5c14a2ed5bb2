// ModernBertForSequenceClassification as an ONNX graph, in the forward order of transformers' modeling_modernbert.py
// (revision 000c33f, the eager/sdpa path that padded batches take): embeddings (tok_embeddings → norm, no position
// embeddings) → pre-LN layers with rotary positions, global attention every global_attn_every_n_layers-th layer and a
// sliding window (local_attention // 2 each side) on the others, a GeGLU MLP → final_norm → pooling (cls or mean) →
// head (dense → activation → norm) → classifier. Initializers carry the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size, D head size, V vocabulary.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

internal static class ModernBertGraph
{
    public const string Architecture = "ModernBertForSequenceClassification";

    private const string MismatchAdvice =
        $"the checkpoint does not match {Architecture}. Re-download the model or check that it is a ModernBERT cross-encoder.";

    /// <summary>
    /// ModernBertEncoderLayer: <c>attn_norm</c> (nn.Identity on layer 0) → <c>attn.Wqkv</c> ([3H, H], q‖k‖v) → rotary →
    /// attention → <c>attn.Wo</c> → residual; <c>mlp_norm</c> → <c>mlp.Wi</c> ([2I, H], input‖gate) → act(input) · gate →
    /// <c>mlp.Wo</c> → residual.
    /// </summary>
    public static EncoderLayerLayout Layout(ModelConfig c, ModernBertConfig m) => new()
    {
        Prefix = "model.layers",
        Norms = NormPlacement.Pre,
        Attention = "attn",
        QueryKeyValue = ["attn.Wqkv"],
        AttentionOutput = "attn.Wo",
        AttentionNorm = "attn_norm",
        FirstLayerHasNoAttentionNorm = true,
        MlpInput = "mlp.Wi",
        MlpActivation = "mlp.act",
        MlpOutput = "mlp.Wo",
        MlpNorm = "mlp_norm",
        GatedMlp = true,
        Activation = m.HiddenActivation,
        AttentionBias = m.AttentionBias,
        MlpBias = m.MlpBias,
        NormBias = m.NormBias,
        Hidden = c.HiddenSize,
        Heads = c.NumAttentionHeads,
        Intermediate = c.IntermediateSize,
        NormEps = m.NormEps,
        LayerCount = c.NumHiddenLayers,
    };

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more, e.g. an MLM head).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c, ModernBertConfig m)
    {
        long h = c.HiddenSize;
        IEnumerable<(string, long[])> Norm(string module)
        {
            yield return ($"{module}.weight", [h]);
            if (m.NormBias) yield return ($"{module}.bias", [h]);
        }
        yield return ("model.embeddings.tok_embeddings.weight", [c.VocabSize, h]);
        foreach (var tensor in Norm("model.embeddings.norm")) yield return tensor;
        foreach (var tensor in Layout(c, m).Tensors()) yield return tensor;
        foreach (var tensor in Norm("model.final_norm")) yield return tensor;
        yield return ("head.dense.weight", [h, h]);
        if (m.ClassifierBias) yield return ("head.dense.bias", [h]);
        foreach (var tensor in Norm("head.norm")) yield return tensor;
        // ModernBertForSequenceClassification's classifier is nn.Linear(H, num_labels): a bias whatever classifier_bias says.
        yield return ("classifier.weight", [c.NumLabels, h]);
        yield return ("classifier.bias", [c.NumLabels]);
    }

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, ModernBertConfig m, string configPath)
    {
        string? problem = null;
        if (!EncoderLayerLayout.Activations.Contains(m.HiddenActivation, StringComparer.Ordinal)) problem = $"hidden_activation \"{m.HiddenActivation}\"";
        else if (!EncoderLayerLayout.Activations.Contains(m.ClassifierActivation, StringComparer.Ordinal)) problem = $"classifier_activation \"{m.ClassifierActivation}\"";
        else if (c.HeadSize % 2 != 0) problem = $"a head size of {c.HeadSize} (hidden_size / num_attention_heads), odd, which rotary embeddings cannot rotate in pairs";
        if (problem is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{configPath}: {problem} is not supported; RerankSharp computes activations {string.Join(", ", EncoderLayerLayout.Activations)} over even head sizes.");
    }

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T], right-padded); output
    /// <c>logits</c> (float [B, num_labels]). See <see cref="EncoderGraph.Start"/> for the weights' location and the options.
    /// </summary>
    public static ModelProto Build(ModelConfig config, ModernBertConfig modernBert, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, Int8Recipe? recipe = null, bool ownKernels = false)
    {
        var layout = Layout(config, modernBert);
        var e = EncoderGraph.Start(Architecture, layout, weights, modelDirectory, form, precision, recipe, ownKernels, MismatchAdvice);
        var (inputIds, attentionMask) = e.Inputs(config.NumLabels);

        // ModernBertEmbeddings: the token table and a LayerNorm; positions enter only through the rotary embeddings.
        var tokens = e.Embed("model.embeddings.tok_embeddings", "model.embeddings.tok_embeddings.weight", inputIds);       // [B, T, H]
        var hidden = Norm(e, modernBert, "model.embeddings.norm", e.Projection.ToFloat32("model.embeddings/sum", tokens));

        // One cos/sin table per rotary theta (global and local layers differ), positions 0..T-1 of every row.
        var masks = e.Layers.Masks("model", attentionMask);
        var tables = modernBert.LayerRopeTheta.Distinct().ToDictionary(theta => theta, theta =>
            RotaryEmbedding.HalfTables(e.G, $"model.rotary_emb.theta{theta:R}", inputIds, config.HeadSize, theta));
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var (cos, sin) = tables[modernBert.LayerRopeTheta[layer]];
            var attention = new LayerAttention(cos, sin, modernBert.IsGlobal(layer) ? null : modernBert.HalfWindow);
            hidden = e.Layers.Build(layer, hidden, masks, attention);
        }
        hidden = Norm(e, modernBert, "model.final_norm", hidden);                                                         // [B, T, H]

        var pooled = modernBert.ClassifierPooling == "mean" ? MeanPool(e.G, hidden, attentionMask) : e.Tensors.FirstToken("head/take_first_token", hidden); // [B, H]
        // ModernBertPredictionHead: dense → activation → norm; then the classifier. Dropout is off in eval.
        var dense = e.Tensors.Gemm("head.dense", pooled, modernBert.ClassifierBias);
        var head = Norm(e, modernBert, "head.norm", e.Layers.Activate("head.act", dense, modernBert.ClassifierActivation));
        e.Tensors.Gemm("classifier", head, output: "logits");                                                            // [B, num_labels]
        return e.ToModel();
    }

    private static string Norm(EncoderGraph e, ModernBertConfig m, string module, string x) => e.Tensors.LayerNorm(module, x, m.NormEps, m.NormBias);

    // classifier_pooling "mean": Σ hidden · mask / Σ mask over the real tokens of each row.
    private static string MeanPool(OnnxGraphBuilder g, string hidden, string attentionMask)
    {
        const string p = "head/mean_pool";
        var mask = g.Node("Cast", $"{p}/mask", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);           // [B, T]
        var axis1 = g.AddConstant($"{p}/axis1", [1], 1L);
        var weights = g.Node("Unsqueeze", $"{p}/mask_3d", [mask, g.AddConstant($"{p}/axis2", [1], 2L)]);                                   // [B, T, 1]
        var sum = g.Node("ReduceSum", $"{p}/sum", [g.Node("Mul", $"{p}/masked", [hidden, weights]), axis1], attributes: [OnnxGraphBuilder.Int("keepdims", 0)]); // [B, H]
        var count = g.Node("ReduceSum", $"{p}/count", [mask, axis1], attributes: [OnnxGraphBuilder.Int("keepdims", 1)]);                   // [B, 1]
        return g.Node("Div", p, [sum, count]);
    }
}
