// XLMRobertaForSequenceClassification as an ONNX graph, in the forward order of Hugging Face's
// modeling_xlm_roberta.py: embeddings → encoder (BERT's post-LN layers) → classification head.
// Initializers carry the safetensors names, nodes the module paths, so an ORT error or a
// profile points back here.
//
// Dimension letters: B batch, T tokens, H hidden size.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;

namespace RerankSharp.Onnx;

internal static class XlmRobertaGraph
{
    public const string Architecture = "XLMRobertaForSequenceClassification";

    private const string MismatchAdvice =
        $"the checkpoint does not match {Architecture}. Re-download the model or check that it is an XLM-RoBERTa cross-encoder.";

    /// <summary>RoBERTa's encoder layers are BERT's, under <c>roberta.</c>.</summary>
    private static EncoderLayerLayout Layout(ModelConfig c) => BertGraph.Layout(c, "roberta.");

    /// <summary>The weight matrices of the encoder blocks (what int8 quantizes); embeddings and the head stay fp32.</summary>
    public static IReadOnlyList<string> EncoderMatrices(ModelConfig c) => Layout(c).Matrices();

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c) =>
        [.. BertGraph.EmbeddingTensors(c, "roberta."), .. Layout(c).Tensors(), .. ClassificationHeadTensors(c)];

    /// <summary>The tensor names of this layout, for the message of a checkpoint that has others.</summary>
    public static string TensorLayout(ModelConfig c) =>
        $"transformers' {Architecture}: roberta.embeddings.{{word,position,token_type}}_embeddings, roberta.embeddings.LayerNorm, {Layout(c).Describe()}, "
        + "classifier.{dense,out_proj} (jina-reranker-v2's roberta.emb_ln, roberta.encoder.layers.{i}.mixer.Wqkv, … run only when config.json's "
        + $"auto_map names its code, {JinaXlmRobertaGraph.AutoConfigClass})";

    /// <summary>XLMRobertaClassificationHead's tensors.</summary>
    internal static IEnumerable<(string Name, long[] Shape)> ClassificationHeadTensors(ModelConfig c)
    {
        long h = c.HiddenSize;
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
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T]); output <c>logits</c> (float
    /// [B, num_labels]). See <see cref="EncoderGraph.Start"/> for the weights' location and the options.
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, Int8Recipe? recipe = null, bool ownKernels = false)
    {
        var e = EncoderGraph.Start(Architecture, Layout(config), weights, modelDirectory, form, precision, recipe, ownKernels, MismatchAdvice);
        var (inputIds, attentionMask) = e.Inputs(config.NumLabels);

        var hidden = Embeddings(e, config, inputIds);                                                        // [B, T, H]
        var masks = e.Layers.Masks("roberta.encoder", attentionMask);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            hidden = e.Layers.Build(layer, hidden, masks);
        ClassificationHead(e, hidden, "logits");
        return e.ToModel();
    }

    // XLMRobertaEmbeddings: word + position + token type 0, then LayerNorm.
    private static string Embeddings(EncoderGraph e, ModelConfig config, string inputIds) =>
        e.Tensors.LayerNorm("roberta.embeddings.LayerNorm", EmbeddingSum(e, config, inputIds), config.LayerNormEps);

    /// <summary>
    /// The sum of XLMRobertaEmbeddings' tables before its LayerNorm, float32 [B, T, H]. Position ids are padding-aware and
    /// start at pad_token_id + 1 (create_position_ids_from_input_ids), so a right-padded row gets the same positions as
    /// the row alone. In fp16 the tables and their sum are float16 (the word table is half of bge-reranker-v2-m3's
    /// weights); the LayerNorm that follows is float32.
    /// </summary>
    internal static string EmbeddingSum(EncoderGraph e, ModelConfig config, string inputIds)
    {
        const string p = "roberta.embeddings";
        var g = e.G;
        var positionIds = PositionIds(g, p, inputIds, config.PadTokenId);                                      // [B, T]

        var words = e.Embed($"{p}.word_embeddings", $"{p}.word_embeddings.weight", inputIds);                 // [B, T, H]
        var positions = e.Embed($"{p}.position_embeddings", $"{p}.position_embeddings.weight", positionIds);  // [B, T, H]
        var tokenType = e.Embed($"{p}.token_type_embeddings", $"{p}.token_type_embeddings.weight", g.AddConstant($"{p}.token_type_ids", [], 0L)); // [H]
        var sum = g.Node("Add", $"{p}/add_token_type", [words, tokenType]);
        sum = g.Node("Add", $"{p}/add_position", [sum, positions]);
        return e.Projection.ToFloat32($"{p}/sum", sum);
    }

    // create_position_ids_from_input_ids: cumulative count of non-pad tokens, offset by padding_idx.
    private static string PositionIds(OnnxGraphBuilder g, string p, string inputIds, int padTokenId)
    {
        var pad = g.AddConstant($"{p}.padding_idx", [], (long)padTokenId);
        var isPad = g.Node("Equal", $"{p}.position_ids/is_pad", [inputIds, pad]);
        var notPad = g.Node("Not", $"{p}.position_ids/not_pad", [isPad]);
        var notPadInt = g.Node("Cast", $"{p}.position_ids/mask", [notPad], attributes: [OnnxGraphBuilder.Int("to", (long)TensorProto.Types.DataType.Int64)]);
        var axis = g.AddConstant($"{p}.position_ids/axis", [], 1L);
        var cumulative = g.Node("CumSum", $"{p}.position_ids/cumsum", [notPadInt, axis]);
        var masked = g.Node("Mul", $"{p}.position_ids/masked", [cumulative, notPadInt]);
        return g.Node("Add", $"{p}.position_ids", [masked, pad]);
    }

    // XLMRobertaClassificationHead: the <s> token's state → dense → tanh → out_proj, in float32.
    internal static void ClassificationHead(EncoderGraph e, string hidden, string output)
    {
        var cls = e.Tensors.FirstToken("classifier/take_first_token", hidden);                               // [B, H]
        var activated = e.G.Node("Tanh", "classifier/tanh", [e.Tensors.Gemm("classifier.dense", cls)]);       // [B, H]
        e.Tensors.Gemm("classifier.out_proj", activated, output: output);                                    // [B, num_labels]
    }
}
