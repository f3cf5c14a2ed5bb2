// BertForSequenceClassification as an ONNX graph, in the forward order of Hugging Face's
// modeling_bert.py: embeddings (absolute positions from 0, token types) → encoder (post-LN layers)
// → pooler (dense → tanh on [CLS]) → classifier. Initializers carry the safetensors names, nodes the
// module paths. RoBERTa (XlmRobertaGraph) shares the layer layout and the embedding tensors.
//
// Dimension letters: B batch, T tokens, H hidden size, P max_position_embeddings.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

internal static class BertGraph
{
    public const string Architecture = "BertForSequenceClassification";

    private const string MismatchAdvice =
        $"the checkpoint does not match {Architecture}. Re-download the model or check that it is a BERT cross-encoder.";

    /// <summary>
    /// BertLayer under <paramref name="prefix"/> (<c>bert.</c>, <c>roberta.</c>): BertSelfAttention's query/key/value,
    /// BertSelfOutput (dense, LayerNorm after the residual), BertIntermediate (dense, exact erf GELU), BertOutput.
    /// </summary>
    public static EncoderLayerLayout Layout(ModelConfig c, string prefix) => new()
    {
        Prefix = $"{prefix}encoder.layer",
        Norms = NormPlacement.Post,
        Attention = "attention.self",
        QueryKeyValue = ["attention.self.query", "attention.self.key", "attention.self.value"],
        AttentionOutput = "attention.output.dense",
        AttentionNorm = "attention.output.LayerNorm",
        MlpInput = "intermediate.dense",
        MlpActivation = "intermediate.intermediate_act_fn",
        MlpOutput = "output.dense",
        MlpNorm = "output.LayerNorm",
        Activation = c.HiddenAct,
        Hidden = c.HiddenSize,
        Heads = c.NumAttentionHeads,
        Intermediate = c.IntermediateSize,
        NormEps = c.LayerNormEps,
        LayerCount = c.NumHiddenLayers,
    };

    /// <summary>BertEmbeddings' tables and LayerNorm under <paramref name="prefix"/>, with their shapes.</summary>
    public static IEnumerable<(string Name, long[] Shape)> EmbeddingTensors(ModelConfig c, string prefix)
    {
        long h = c.HiddenSize;
        yield return ($"{prefix}embeddings.word_embeddings.weight", [c.VocabSize, h]);
        yield return ($"{prefix}embeddings.position_embeddings.weight", [c.MaxPositionEmbeddings, h]);
        yield return ($"{prefix}embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]);
        yield return ($"{prefix}embeddings.LayerNorm.weight", [h]);
        yield return ($"{prefix}embeddings.LayerNorm.bias", [h]);
    }

    /// <summary>The weight matrices of the encoder blocks (what int8 quantizes); embeddings and the head stay fp32.</summary>
    public static IReadOnlyList<string> EncoderMatrices(ModelConfig c) => Layout(c, "bert.").Matrices();

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c)
    {
        long h = c.HiddenSize;
        foreach (var tensor in EmbeddingTensors(c, "bert.")) yield return tensor;
        foreach (var tensor in Layout(c, "bert.").Tensors()) yield return tensor;
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
    /// Builds the graph: inputs <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c> (int64 [B, T]); output
    /// <c>logits</c> (float [B, num_labels]). See <see cref="EncoderGraph.Start"/> for the weights' location and the options.
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, bool ownKernels = false, Int8Recipe? recipe = null)
    {
        var e = EncoderGraph.Start(Architecture, Layout(config, "bert."), weights, modelDirectory, form, precision, recipe, ownKernels, MismatchAdvice);
        var (inputIds, attentionMask) = e.Inputs(config.NumLabels);
        var tokenTypeIds = e.G.AddInput("token_type_ids", DataType.Int64, "B", "T");

        var hidden = Embeddings(e, config, inputIds, tokenTypeIds);                                           // [B, T, H]
        var masks = e.Layers.Masks("bert.encoder", attentionMask);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            hidden = e.Layers.Build(layer, hidden, masks);
        Head(e, hidden, "logits");
        return e.ToModel();
    }

    // BertEmbeddings: word + token type + position (0, 1, …, T-1 for every row: BERT's positions do not
    // skip pads, and right padding leaves a row's real tokens where they are alone), then LayerNorm.
    private static string Embeddings(EncoderGraph e, ModelConfig config, string inputIds, string tokenTypeIds)
    {
        const string p = "bert.embeddings";
        var g = e.G;
        var positions = LeadingRows(e, $"{p}.position_embeddings", $"{p}.position_ids", inputIds);            // [T, H]

        var words = e.Embed($"{p}.word_embeddings", $"{p}.word_embeddings.weight", inputIds);                  // [B, T, H]
        var tokenTypes = e.Embed($"{p}.token_type_embeddings", $"{p}.token_type_embeddings.weight", tokenTypeIds); // [B, T, H]
        var sum = g.Node("Add", $"{p}/add_token_type", [words, tokenTypes]);
        sum = g.Node("Add", $"{p}/add_position", [sum, positions]);
        return e.Tensors.LayerNorm($"{p}.LayerNorm", e.Projection.ToFloat32($"{p}/sum", sum), config.LayerNormEps);
    }

    /// <summary>
    /// Rows 0 … T−1 of the table <c>{module}.weight</c> (T the length of <paramref name="inputIds"/>), in the compute type: the
    /// absolute position embeddings of positions that start at 0 for every row (BERT's, DeBERTa's with position_biased_input).
    /// </summary>
    internal static string LeadingRows(EncoderGraph e, string module, string positionIds, string inputIds)
    {
        var g = e.G;
        var shape = g.Node("Shape", $"{positionIds}/shape", [inputIds]);                                      // [2]
        var zero = g.AddConstant($"{positionIds}/zero", [1], 0L);
        var one = g.AddConstant($"{positionIds}/one", [1], 1L);
        var length = g.Node("Slice", $"{positionIds}/length", [shape, one, g.AddConstant($"{positionIds}/two", [1], 2L)]); // [1] = T
        return g.Node("Slice", module, [e.Projection.Weight($"{module}.weight"), zero, length, zero]);          // [T, H]
    }

    // BertPooler (dense → tanh on the [CLS] state) and the classifier Linear, in float32; dropout is off in eval.
    private static void Head(EncoderGraph e, string hidden, string output)
    {
        var cls = e.Tensors.FirstToken("bert.pooler/take_first_token", hidden);                              // [B, H]
        var pooled = e.G.Node("Tanh", "bert.pooler.activation", [e.Tensors.Gemm("bert.pooler.dense", cls)]);  // [B, H]
        e.Tensors.Gemm("classifier", pooled, output: output);                                                // [B, num_labels]
    }
}
