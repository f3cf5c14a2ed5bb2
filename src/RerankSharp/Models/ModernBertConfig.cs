using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// The keys of a ModernBERT <c>config.json</c> beyond <see cref="ModelConfig"/>'s, named as the file names them, with
/// transformers' <c>ModernBertConfig</c> defaults (configuration_modernbert.py, revision 001f85b).
/// </summary>
/// <remarks>
/// Two spellings of the layer pattern exist. Published checkpoints (answerdotai/ModernBERT-base,
/// Alibaba-NLP/gte-reranker-modernbert-base, the Ettin models) carry <c>global_attn_every_n_layers</c>,
/// <c>global_rope_theta</c> and <c>local_rope_theta</c>; configs saved by transformers 5 add <c>layer_types</c>
/// ("full_attention" / "sliding_attention" per layer) and <c>rope_parameters</c> per layer type. As in transformers, a
/// layer's rotary theta follows its <c>layer_types</c> entry, while whether it attends through the window follows
/// <c>layer_id % global_attn_every_n_layers</c> (ModernBertAttention); saved configs keep the two consistent.
/// </remarks>
internal sealed record ModernBertConfig
{
    private const string FixIt = "fix config.json or re-download the model from the Hugging Face hub";

    /// <summary><c>hidden_activation</c>, the MLP's ACT2FN name (transformers' "gelu" is the exact erf form).</summary>
    public string HiddenActivation { get; init; } = "gelu";

    /// <summary><c>classifier_activation</c>, between the head's dense and its norm.</summary>
    public string ClassifierActivation { get; init; } = "gelu";

    /// <summary><c>classifier_pooling</c>: <c>cls</c> (token 0) or <c>mean</c> (over the attention mask).</summary>
    public string ClassifierPooling { get; init; } = "cls";

    public bool ClassifierBias { get; init; }

    public bool AttentionBias { get; init; }

    public bool MlpBias { get; init; }

    public bool NormBias { get; init; }

    public double NormEps { get; init; } = 1e-5;

    /// <summary><c>local_attention</c>: the whole window of a local layer; a query sees keys within <c>local_attention // 2</c>.</summary>
    public int LocalAttention { get; init; } = 128;

    public int GlobalAttnEveryNLayers { get; init; } = 3;

    /// <summary>Rotary theta of each layer, from its layer type.</summary>
    public required IReadOnlyList<double> LayerRopeTheta { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> attends to every token (else through the window).</summary>
    public bool IsGlobal(int layer) => layer % GlobalAttnEveryNLayers == 0;

    /// <summary>A local layer's half window W (query i sees key j when |i − j| ≤ W).</summary>
    public int HalfWindow => LocalAttention / 2;

    /// <summary>Reads the ModernBERT keys of <paramref name="path"/>; <paramref name="layers"/> is num_hidden_layers.</summary>
    /// <exception cref="RerankException">InvalidModel for a malformed value, UnsupportedModel for a rope type other than "default".</exception>
    public static ModernBertConfig Load(string path, int layers)
    {
        using JsonDocument document = JsonFile.Read(path, FixIt);
        var json = JsonObjectReader.Root(document, path, FixIt);
        var every = json.OptionalInt("global_attn_every_n_layers", min: 1) ?? 3;
        var pooling = json.OptionalString("classifier_pooling") ?? "cls";
        if (pooling is not ("cls" or "mean"))
            throw json.Invalid($"\"classifier_pooling\" is \"{pooling}\"; transformers accepts \"cls\" or \"mean\"");
        var local = json.OptionalInt("local_attention", min: 2) ?? 128;

        var types = ReadLayerTypes(json, layers, every);
        var rope = json.OptionalObject("rope_parameters");
        var globalTheta = Theta(json, rope, "full_attention", "global_rope_theta", 160_000.0);
        // transformers 4 (ModernBertAttention) gave local layers the global theta when local_rope_theta was null.
        var localIsNull = document.RootElement.TryGetProperty("local_rope_theta", out var local_) && local_.ValueKind == JsonValueKind.Null;
        var localTheta = Theta(json, rope, "sliding_attention", "local_rope_theta", 10_000.0, fallback: localIsNull ? globalTheta : null);
        return new ModernBertConfig
        {
            HiddenActivation = json.OptionalString("hidden_activation") ?? "gelu",
            ClassifierActivation = json.OptionalString("classifier_activation") ?? "gelu",
            ClassifierPooling = pooling,
            ClassifierBias = json.OptionalBool("classifier_bias") ?? false,
            AttentionBias = json.OptionalBool("attention_bias") ?? false,
            MlpBias = json.OptionalBool("mlp_bias") ?? false,
            NormBias = json.OptionalBool("norm_bias") ?? false,
            NormEps = json.OptionalPositiveDouble("norm_eps") ?? 1e-5,
            LocalAttention = local,
            GlobalAttnEveryNLayers = every,
            LayerRopeTheta = types.Select(t => t == "full_attention" ? globalTheta : localTheta).ToArray(),
        };
    }

    // layer_types, or transformers' default from global_attn_every_n_layers.
    private static string[] ReadLayerTypes(JsonObjectReader json, int layers, int every)
    {
        if (!json.TryGet("layer_types", out var value))
            return Enumerable.Range(0, layers).Select(i => i % every == 0 ? "full_attention" : "sliding_attention").ToArray();
        if (value.ValueKind != JsonValueKind.Array
            || value.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String || t.GetString() is not ("full_attention" or "sliding_attention")))
            throw json.Invalid($"\"layer_types\" must list \"full_attention\" or \"sliding_attention\" per layer, but is {JsonFile.Describe(value)}");
        var types = value.EnumerateArray().Select(t => t.GetString()!).ToArray();
        if (types.Length != layers)
            throw json.Invalid($"\"layer_types\" has {types.Length} entries for {layers} layers");
        return types;
    }

    // rope_parameters[type].rope_theta, else the legacy key, else the default; only the default rope type is implemented.
    private static double Theta(JsonObjectReader json, JsonObjectReader? rope, string type, string legacyKey, double defaultTheta, double? fallback = null)
    {
        if (rope?.OptionalObject(type) is { } parameters)
        {
            var ropeType = parameters.OptionalString("rope_type") ?? "default";
            if (ropeType != "default")
                throw new RerankException(RerankErrorKind.UnsupportedModel,
                    $"{json.Path}: rope_parameters.{type}.rope_type is \"{ropeType}\"; RerankSharp implements the \"default\" rotary embedding only.");
            if (parameters.OptionalPositiveDouble("rope_theta") is { } theta) return theta;
        }
        return json.OptionalPositiveDouble(legacyKey) ?? fallback ?? defaultTheta;
    }
}
