using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// The keys of a Hugging Face <c>config.json</c> that the engine reads. Property names are the
/// JSON keys in PascalCase (<c>hidden_size</c> → <see cref="HiddenSize"/>), so a value can be traced
/// back to the file by eye.
/// </summary>
/// <remarks>
/// Keys that <c>save_pretrained</c> always writes for this architecture family are required. The
/// others default as Hugging Face's <c>XLMRobertaConfig</c> does, because a hand-trimmed config
/// loads in transformers with those values, and it should load the same here.
/// </remarks>
public sealed record ModelConfig
{
    private const string FixIt = "fix config.json or re-download the model from the Hugging Face hub";

    /// <summary><c>architectures</c>: the Hugging Face class names, e.g. <c>XLMRobertaForSequenceClassification</c>.</summary>
    public string[] Architectures { get; init; } = [];

    /// <summary>
    /// <c>model_type</c>, e.g. <c>xlm-roberta</c>; empty when the config names its own config class in
    /// <see cref="AutoMap"/> instead (jina-reranker-v2 has no <c>model_type</c>), as transformers' AutoConfig allows.
    /// </summary>
    public required string ModelType { get; init; }

    /// <summary>
    /// <c>auto_map</c>: the classes of a checkpoint that ships its own modeling code (run by transformers with
    /// <c>trust_remote_code</c>), by auto class, e.g. <c>AutoConfig</c> → <c>configuration_xlm_roberta.XLMRobertaFlashConfig</c>
    /// (a <c>repo--</c> prefix when the code lives in another repository); its string entries only.
    /// </summary>
    public IReadOnlyDictionary<string, string> AutoMap { get; init; } = new Dictionary<string, string>();

    public required int VocabSize { get; init; }

    public required int HiddenSize { get; init; }

    public required int NumHiddenLayers { get; init; }

    public required int NumAttentionHeads { get; init; }

    public required int IntermediateSize { get; init; }

    public required int MaxPositionEmbeddings { get; init; }

    /// <summary><c>hidden_act</c>; XLMRobertaConfig's default is <c>gelu</c> (the exact erf form).</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary><c>type_vocab_size</c>; XLMRobertaConfig's default is 2, bge-reranker-v2-m3 has 1.</summary>
    public int TypeVocabSize { get; init; } = 2;

    /// <summary><c>layer_norm_eps</c>; XLMRobertaConfig's default is 1e-12, bge-reranker-v2-m3 has 1e-5.</summary>
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary><c>pad_token_id</c>. For XLM-R it also fixes where position ids start (pad + 1).</summary>
    public int PadTokenId { get; init; } = 1;

    /// <summary>
    /// Outputs of the classification head: <c>num_labels</c>, else the number of <c>id2label</c>
    /// entries (what <c>save_pretrained</c> writes), else 1, the single relevance logit of a reranker.
    /// </summary>
    public int NumLabels { get; init; } = 1;

    /// <summary><c>position_embedding_type</c>; only <c>absolute</c> is used by the XLM-R rerankers.</summary>
    public string PositionEmbeddingType { get; init; } = "absolute";

    /// <summary><c>torch_dtype</c> (or <c>dtype</c>, its name since transformers 4.56): the dtype the weights were saved in, informative only.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>
    /// <c>hidden_activation</c>, Gemma's name for the MLP activation, which GemmaMLP reads instead of <c>hidden_act</c>
    /// (null when absent).
    /// </summary>
    public string? HiddenActivation { get; init; }

    /// <summary><c>num_key_value_heads</c> of decoders with grouped-query attention (Qwen3); <see cref="NumAttentionHeads"/> when absent.</summary>
    public int NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c>, which Qwen3 states (128 for every size) rather than deriving; <see cref="HeadSize"/> when absent.</summary>
    public int HeadDim { get; init; }

    /// <summary><c>rms_norm_eps</c> of RMSNorm decoders (Qwen3); Qwen3Config's default is 1e-6.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>, the rotary base; Qwen3Config's default is 10000 (the Qwen3 checkpoints say 1000000).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary><c>tie_word_embeddings</c>: the output projection is the embedding table (Qwen3-0.6B); Qwen3Config's default is false.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>attention_bias</c>: Qwen3's projections have none (false).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Whether <c>rope_scaling</c> is set (YaRN and kin), which RerankSharp does not implement.</summary>
    public bool HasRopeScaling { get; init; }

    /// <summary><c>use_sliding_window</c>, off in every Qwen3 checkpoint.</summary>
    public bool UseSlidingWindow { get; init; }

    /// <summary>
    /// <c>sentence_transformers.activation_fn</c>: the activation sentence-transformers' CrossEncoder (4.0 to 5.3) saved
    /// for <c>predict</c>, a class path such as <c>torch.nn.modules.activation.Sigmoid</c> (<see cref="SentenceTransformersConfig"/>).
    /// </summary>
    public string? SentenceTransformersActivationFn { get; init; }

    /// <summary><c>sbert_ce_default_activation_function</c>: the same as CrossEncoder saved it before 4.0 (ms-marco-MiniLM: <c>torch.nn.modules.linear.Identity</c>).</summary>
    public string? SbertCeDefaultActivationFunction { get; init; }

    /// <summary>
    /// The position id of a sequence's first token: <c>pad_token_id + 1</c> for the RoBERTa family, whose
    /// positions skip the padding index (HF <c>create_position_ids_from_input_ids</c>), 0 for BERT and decoders.
    /// </summary>
    /// <remarks>
    /// A config without <c>model_type</c> (custom code, <see cref="AutoMap"/>) is placed by its <c>architectures</c>:
    /// jina-reranker-v2's XLMRobertaForSequenceClassification numbers positions as XLM-R does.
    /// </remarks>
    public int PositionOffset =>
        ModelType is "xlm-roberta" or "roberta" or "camembert"
        || (ModelType.Length == 0 && Architectures.Any(a => a.StartsWith("XLMRoberta", StringComparison.Ordinal) || a.StartsWith("Roberta", StringComparison.Ordinal)))
            ? PadTokenId + 1 : 0;

    /// <summary>Width of one attention head: <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>Reads and checks a config.json.</summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.ModelNotFound"/> if the file is missing;
    /// <see cref="RerankErrorKind.InvalidModel"/> if it is not JSON, lacks a required key, has a value
    /// of the wrong type or range, or its values contradict each other.
    /// </exception>
    public static ModelConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.GetFullPath(path);
        if (!LinkedFile.Exists(path))
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Model config not found: {path} does not exist. {ModelFolder.WhatToPass}");

        using JsonDocument document = JsonFile.Read(path, FixIt);
        return FromJson(JsonObjectReader.Root(document, path, FixIt));
    }

    private static ModelConfig FromJson(JsonObjectReader json)
    {
        var autoMap = ReadAutoMap(json);
        ModelConfig config = new ModelConfig
        {
            Architectures = ReadArchitectures(json),
            // transformers' AutoConfig needs model_type only when auto_map names no config class of its own.
            ModelType = autoMap.ContainsKey("AutoConfig") && !json.TryGet("model_type", out _) ? "" : json.RequiredString("model_type"),
            AutoMap = autoMap,
            VocabSize = json.RequiredInt("vocab_size", min: 1),
            HiddenSize = json.RequiredInt("hidden_size", min: 1),
            NumHiddenLayers = json.RequiredInt("num_hidden_layers", min: 1),
            NumAttentionHeads = json.RequiredInt("num_attention_heads", min: 1),
            IntermediateSize = json.RequiredInt("intermediate_size", min: 1),
            MaxPositionEmbeddings = json.RequiredInt("max_position_embeddings", min: 1),
            HiddenAct = json.OptionalString("hidden_act") is { } act ? NonEmpty(json, "hidden_act", act) : "gelu",
            HiddenActivation = json.OptionalString("hidden_activation") is { } activation ? NonEmpty(json, "hidden_activation", activation) : null,
            // 0 is "no token type table" (DeBERTa-v3: type_vocab_size 0); architectures that need one check it.
            TypeVocabSize = json.OptionalInt("type_vocab_size", min: 0) ?? 2,
            LayerNormEps = json.OptionalPositiveDouble("layer_norm_eps") ?? 1e-12,
            PadTokenId = json.OptionalInt("pad_token_id", min: 0) ?? 1,
            NumLabels = ReadNumLabels(json),
            PositionEmbeddingType = json.OptionalString("position_embedding_type") ?? "absolute",
            TorchDtype = json.OptionalString("torch_dtype") ?? json.OptionalString("dtype"),
            RmsNormEps = json.OptionalPositiveDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = json.OptionalPositiveDouble("rope_theta") ?? 10000,
            TieWordEmbeddings = json.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = json.OptionalBool("attention_bias") ?? false,
            HasRopeScaling = json.TryGet("rope_scaling", out _),
            UseSlidingWindow = json.OptionalBool("use_sliding_window") ?? false,
            SentenceTransformersActivationFn = json.OptionalObject("sentence_transformers")?.OptionalString("activation_fn"),
            SbertCeDefaultActivationFunction = json.OptionalString("sbert_ce_default_activation_function"),
        };
        config = config with
        {
            NumKeyValueHeads = json.OptionalInt("num_key_value_heads", min: 1) ?? config.NumAttentionHeads,
            HeadDim = json.OptionalInt("head_dim", min: 1) ?? config.HeadSize,
        };

        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw json.Invalid($"hidden_size {config.HiddenSize} is not divisible by num_attention_heads {config.NumAttentionHeads}");
        if (config.PadTokenId >= config.VocabSize)
            throw json.Invalid($"pad_token_id {config.PadTokenId} is not below vocab_size {config.VocabSize}");
        // XLM-R numbers positions from pad_token_id + 1 (HF create_position_ids_from_input_ids), so
        // a table that does not reach past that index cannot hold even a one-token input.
        if (config.PositionOffset > 0 && config.MaxPositionEmbeddings <= config.PositionOffset)
            throw json.Invalid($"max_position_embeddings {config.MaxPositionEmbeddings} leaves no positions after pad_token_id {config.PadTokenId} + 1, where XLM-R positions start");
        return config;
    }

    private static string NonEmpty(JsonObjectReader json, string key, string value) =>
        value.Length > 0 ? value : throw json.Invalid($"\"{key}\" is an empty string");

    private static string[] ReadArchitectures(JsonObjectReader json)
    {
        if (!json.TryGet("architectures", out JsonElement value))
            return [];
        if (value.ValueKind != JsonValueKind.Array
            || value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 }))
            throw json.Invalid($"\"architectures\" must be a list of class names, but is {JsonFile.Describe(value)}");
        return value.EnumerateArray().Select(item => item.GetString()!).ToArray();
    }

    private static Dictionary<string, string> ReadAutoMap(JsonObjectReader json)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        // AutoTokenizer's entry is a [slow, fast] pair; the model classes are strings.
        foreach (var entry in json.OptionalObject("auto_map")?.Properties() ?? [])
            if (entry.Value.ValueKind == JsonValueKind.String && entry.Value.GetString() is { Length: > 0 } name)
                map[entry.Name] = name;
        return map;
    }

    private static int ReadNumLabels(JsonObjectReader json)
    {
        int? numLabels = json.OptionalInt("num_labels", min: 1);
        int? labelNames = json.OptionalObject("id2label")?.Count();
        if (labelNames == 0)
            throw json.Invalid("\"id2label\" is empty; a classification head has at least one label");
        // transformers overwrites num_labels with len(id2label) when they disagree and only logs
        // a warning; a reranker whose head width is in doubt is better stopped here.
        if (numLabels is { } n && labelNames is { } m && n != m)
            throw json.Invalid($"num_labels {n} disagrees with the {m} entries of id2label");
        return numLabels ?? labelNames ?? 1;
    }
}
