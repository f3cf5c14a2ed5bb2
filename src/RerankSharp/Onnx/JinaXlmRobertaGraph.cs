// jina-reranker-v2-base-multilingual as an ONNX graph. Its config.json names XLMRobertaForSequenceClassification, but
// auto_map sends transformers to the code shipped beside the weights (configuration_xlm_roberta.XLMRobertaFlashConfig,
// modeling_xlm_roberta.XLMRobertaForSequenceClassification; read in the mirror shreyansh26/Accelerating-Cross-Encoder-
// Inference @8f2b5173, folder jina-reranker-v2-base-multilingual/). That code is XLM-R's math under flash-attention's
// module names, in the forward order of its modeling_xlm_roberta.py: XLMRobertaEmbeddings (embedding.py) → roberta.emb_ln
// → post-LN Blocks (block.py, prenorm=False) with a merged Wqkv (mha.py) and an Mlp (mlp.py) → the classification head.
// Initializers carry the safetensors names, nodes the module paths.
//
// Dimension letters: B batch, T tokens, H hidden size.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;

namespace RerankSharp.Onnx;

internal static class JinaXlmRobertaGraph
{
    /// <summary><c>auto_map.AutoConfig</c> of jina-reranker-v2: the config class whose code this file follows.</summary>
    public const string AutoConfigClass = "configuration_xlm_roberta.XLMRobertaFlashConfig";

    /// <summary><c>auto_map.AutoModelForSequenceClassification</c> of jina-reranker-v2.</summary>
    public const string ModelClass = "modeling_xlm_roberta.XLMRobertaForSequenceClassification";

    /// <summary>The hub repository whose code that is, when auto_map points there (<c>repo--module.Class</c>, as a save of a hub model writes it).</summary>
    public const string Repository = "jinaai/jina-reranker-v2-base-multilingual";

    private const string MismatchAdvice =
        $"the checkpoint does not match jina-reranker-v2's {XlmRobertaGraph.Architecture} (the code its auto_map names, {AutoConfigClass}). "
        + "Re-download the model, or remove auto_map from config.json if the weights are transformers' XLM-R.";

    /// <summary>
    /// Whether <paramref name="c"/>'s auto_map names jina's XLMRobertaFlashConfig, so that transformers runs jina's code
    /// rather than its own XLM-R: the config decides which code runs, as it does for transformers, and the tensors are
    /// then checked against that code's names.
    /// </summary>
    public static bool IsNamedBy(ModelConfig c) =>
        c.AutoMap.TryGetValue("AutoConfig", out var name) && ClassOf(name) == AutoConfigClass;

    /// <summary>
    /// Block (prenorm=False): MHA's merged <c>mixer.Wqkv</c> ([3H, H], rearranged "(three h d)": q | k | v rows) and
    /// <c>mixer.out_proj</c>, <c>norm1</c> after the residual; Mlp's <c>fc1</c> → GELU → <c>fc2</c>, <c>norm2</c> after the residual.
    /// </summary>
    public static EncoderLayerLayout Layout(ModelConfig c) => new()
    {
        Prefix = "roberta.encoder.layers",
        Norms = NormPlacement.Post,
        Attention = "mixer",
        QueryKeyValue = ["mixer.Wqkv"],
        AttentionOutput = "mixer.out_proj",
        AttentionNorm = "norm1",
        MlpInput = "mlp.fc1",
        MlpActivation = "mlp.activation",
        MlpOutput = "mlp.fc2",
        MlpNorm = "norm2",
        // create_mlp_cls: F.gelu(approximate="tanh") for gelu_new, gelu_fast and gelu_pytorch_tanh, the erf form for "gelu".
        Activation = c.HiddenAct == "gelu" ? "gelu" : "gelu_pytorch_tanh",
        Hidden = c.HiddenSize,
        Heads = c.NumAttentionHeads,
        Intermediate = c.IntermediateSize,
        NormEps = c.LayerNormEps,
        LayerCount = c.NumHiddenLayers,
    };

    /// <summary>Every tensor the architecture reads, with its shape for this config (the checkpoint may hold more).</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c)
    {
        long h = c.HiddenSize;
        yield return ("roberta.embeddings.word_embeddings.weight", [c.VocabSize, h]);
        yield return ("roberta.embeddings.position_embeddings.weight", [c.MaxPositionEmbeddings, h]);
        yield return ("roberta.embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]);
        yield return ("roberta.emb_ln.weight", [h]);
        yield return ("roberta.emb_ln.bias", [h]);
        foreach (var tensor in Layout(c).Tensors()) yield return tensor;
        foreach (var tensor in XlmRobertaGraph.ClassificationHeadTensors(c)) yield return tensor;
    }

    /// <summary>The tensor names of this layout, for the message of a checkpoint that has others.</summary>
    public static string TensorLayout(ModelConfig c) =>
        $"jina-reranker-v2's {XlmRobertaGraph.Architecture} (auto_map: {AutoConfigClass}): roberta.embeddings.{{word,position,token_type}}_embeddings, "
        + $"roberta.emb_ln, {Layout(c).Describe()}, classifier.{{dense,out_proj}}";

    /// <summary>Checks that the config describes a model this file can build; throws naming the key otherwise.</summary>
    public static void CheckSupported(ModelConfig c, XlmRobertaFlashConfig flash, string configPath)
    {
        string? problem = null;
        var model = c.AutoMap.GetValueOrDefault("AutoModelForSequenceClassification");
        if (RepositoryOf(c.AutoMap["AutoConfig"]) is { } elsewhere && elsewhere != Repository)
            problem = $"auto_map.AutoConfig \"{c.AutoMap["AutoConfig"]}\" names the code of {elsewhere}, which RerankSharp has not checked against {Repository}'s";
        else if (model is null || ClassOf(model) != ModelClass || (RepositoryOf(model) is { } other && other != Repository))
            problem = $"auto_map.AutoModelForSequenceClassification {(model is null ? "is missing" : $"\"{model}\"")}; jina-reranker-v2's is \"{ModelClass}\"";
        else if (c.HiddenAct is not ("gelu" or "gelu_new" or "gelu_fast" or "gelu_pytorch_tanh"))
            problem = $"hidden_act \"{c.HiddenAct}\"; its XLMRobertaModel takes gelu, gelu_new, gelu_fast or gelu_pytorch_tanh";
        else if (c.PositionEmbeddingType != "absolute")
            problem = $"position_embedding_type \"{c.PositionEmbeddingType}\" (the code then builds no position embeddings at all); jina-reranker-v2's is \"absolute\"";
        else if (flash.LastLayerSubset)
            problem = "last_layer_subset true (the last layer becomes a cross-attention with mixer.Wq and mixer.Wkv)";
        else if (flash.PadVocabSizeMultiple != 1)
            problem = $"pad_vocab_size_multiple {flash.PadVocabSizeMultiple} (the word table grows past vocab_size)";
        if (problem is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{configPath}: {problem}. RerankSharp runs jina-reranker-v2-base-multilingual's own code ({AutoConfigClass}) as published.");
    }

    /// <summary>What <c>rerank info</c> says about the code it runs.</summary>
    public static IReadOnlyList<(string Name, string Value)> Details(ModelConfig c, XlmRobertaFlashConfig flash) =>
    [
        ("code", $"jina-reranker-v2's own, named by auto_map ({AutoConfigClass}, {ModelClass})"),
        ("layers", $"XLM-R's post-LN math under other names: {Layout(c).Describe()}, merged q‖k‖v, {c.HiddenAct}; "
            + $"positions from pad_token_id + 1{(flash.UseFlashAttn ? "; use_flash_attn true (the reference's CUDA kernels: the same scores)" : "")}"),
    ];

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T]); output <c>logits</c> (float
    /// [B, num_labels]). See <see cref="EncoderGraph.Start"/> for the weights' location and the options.
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision = Precision.Fp32, Int8Recipe? recipe = null, bool ownKernels = false)
    {
        var e = EncoderGraph.Start(XlmRobertaGraph.Architecture, Layout(config), weights, modelDirectory, form, precision, recipe, ownKernels, MismatchAdvice);
        var (inputIds, attentionMask) = e.Inputs(config.NumLabels);

        // XLMRobertaEmbeddings (word + position from pad_token_id + 1 + token type 0), then XLMRobertaModel's own emb_ln.
        var hidden = e.Tensors.LayerNorm("roberta.emb_ln", XlmRobertaGraph.EmbeddingSum(e, config, inputIds), config.LayerNormEps); // [B, T, H]
        // SelfAttention adds -10000 to padded keys where transformers' XLM-R adds float.MinValue: after the softmax both
        // are exact zeros (tools/model/jina.py selfcheck), so the shared layer's masks serve.
        var masks = e.Layers.Masks("roberta.encoder", attentionMask);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            hidden = e.Layers.Build(layer, hidden, masks);
        XlmRobertaGraph.ClassificationHead(e, hidden, "logits");                                             // [B, num_labels]
        return e.ToModel();
    }

    // "repo--module.Class" → "module.Class"; "module.Class" as is.
    private static string ClassOf(string entry) => entry[(entry.LastIndexOf("--", StringComparison.Ordinal) is var i and >= 0 ? i + 2 : 0)..];

    private static string? RepositoryOf(string entry) => entry.LastIndexOf("--", StringComparison.Ordinal) is var i and >= 0 ? entry[..i] : null;
}
