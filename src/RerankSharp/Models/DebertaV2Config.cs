using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// The keys of a DeBERTa-v2/v3 <c>config.json</c> (<c>model_type</c> "deberta-v2") beyond <see cref="ModelConfig"/>'s, named as
/// the file names them, with <c>DebertaV2Config</c>'s defaults (transformers' configuration_deberta_v2.py @0038a3ca) and the
/// values <c>DebertaV2Encoder</c> / <c>DisentangledSelfAttention</c> derive from them.
/// </summary>
/// <remarks>
/// DebertaV2Config's defaults differ from BERT's where a config may leave a key out: <c>type_vocab_size</c> 0,
/// <c>layer_norm_eps</c> 1e-7, <c>pad_token_id</c> 0, <c>position_biased_input</c> true, <c>relative_attention</c> false.
/// </remarks>
internal sealed record DebertaV2Config
{
    private const string FixIt = "fix config.json or re-download the model from the Hugging Face hub";

    /// <summary><c>relative_attention</c>: the disentangled c2p / p2c terms over relative positions.</summary>
    public bool RelativeAttention { get; init; }

    /// <summary><c>max_relative_positions</c> as the encoder resolves it: below 1 means <c>max_position_embeddings</c>.</summary>
    public int MaxRelativePositions { get; init; }

    /// <summary><c>position_buckets</c>: log buckets of the relative distances when above 0 (DeBERTa-v3: 256).</summary>
    public int PositionBuckets { get; init; } = -1;

    /// <summary><c>pos_att_type</c>, lower-cased and split on '|' when a string ("p2c|c2p"), or the list as given.</summary>
    public IReadOnlyList<string> PosAttType { get; init; } = [];

    /// <summary><c>share_att_key</c>: the relative embeddings go through the layer's query_proj / key_proj (else pos_query_proj / pos_key_proj).</summary>
    public bool ShareAttKey { get; init; }

    /// <summary><c>norm_rel_ebd</c> has "layer_norm": <c>deberta.encoder.LayerNorm</c> on the relative embeddings.</summary>
    public bool NormRelEmbeddings { get; init; }

    /// <summary><c>position_biased_input</c>: absolute position embeddings added to the word embeddings.</summary>
    public bool PositionBiasedInput { get; init; } = true;

    /// <summary><c>type_vocab_size</c> (0: no token type embeddings).</summary>
    public int TypeVocabSize { get; init; }

    /// <summary><c>embedding_size</c> (default <c>hidden_size</c>); when it differs, <c>embed_proj</c> maps it to the hidden size.</summary>
    public int EmbeddingSize { get; init; }

    /// <summary><c>layer_norm_eps</c> with DeBERTa's default.</summary>
    public double LayerNormEps { get; init; } = 1e-7;

    /// <summary><c>pooler_hidden_act</c>: ContextPooler's activation (default "gelu").</summary>
    public string PoolerHiddenAct { get; init; } = "gelu";

    /// <summary><c>pooler_hidden_size</c> (default <c>hidden_size</c>).</summary>
    public int PoolerHiddenSize { get; init; }

    /// <summary><c>conv_kernel_size</c>: above 0, DebertaV2Encoder adds a ConvLayer after the first layer.</summary>
    public int ConvKernelSize { get; init; }

    /// <summary><c>attention_head_size</c> when the file sets it (else hidden_size / num_attention_heads).</summary>
    public int? AttentionHeadSize { get; init; }

    /// <summary>The relative-embedding rows each side of 0 the attention reads (att_span): the buckets, else the clip.</summary>
    public int Span => PositionBuckets > 0 ? PositionBuckets : MaxRelativePositions;

    public bool ContentToPosition => PosAttType.Contains("c2p");

    public bool PositionToContent => PosAttType.Contains("p2c");

    /// <summary>1 + one per c2p / p2c term: the scores are divided by √(D · this).</summary>
    public int ScaleFactor => 1 + (ContentToPosition ? 1 : 0) + (PositionToContent ? 1 : 0);

    /// <summary>Reads the DeBERTa keys of <paramref name="path"/>.</summary>
    /// <exception cref="RerankException">InvalidModel for a malformed value.</exception>
    public static DebertaV2Config Load(string path, ModelConfig config)
    {
        using JsonDocument document = JsonFile.Read(path, FixIt);
        var json = JsonObjectReader.Root(document, path, FixIt);
        var maxRelative = SignedInt(json, "max_relative_positions");
        return new DebertaV2Config
        {
            RelativeAttention = json.OptionalBool("relative_attention") ?? false,
            MaxRelativePositions = maxRelative < 1 ? config.MaxPositionEmbeddings : maxRelative,
            PositionBuckets = SignedInt(json, "position_buckets"),
            PosAttType = ReadPosAttType(json),
            ShareAttKey = json.OptionalBool("share_att_key") ?? false,
            NormRelEmbeddings = (json.OptionalString("norm_rel_ebd") ?? "none").ToLowerInvariant().Split('|').Select(x => x.Trim()).Contains("layer_norm"),
            PositionBiasedInput = json.OptionalBool("position_biased_input") ?? true,
            TypeVocabSize = json.OptionalInt("type_vocab_size", min: 0) ?? 0,
            EmbeddingSize = json.OptionalInt("embedding_size", min: 1) ?? config.HiddenSize,
            LayerNormEps = json.OptionalPositiveDouble("layer_norm_eps") ?? 1e-7,
            PoolerHiddenAct = json.OptionalString("pooler_hidden_act") ?? "gelu",
            PoolerHiddenSize = json.OptionalInt("pooler_hidden_size", min: 1) ?? config.HiddenSize,
            ConvKernelSize = json.OptionalInt("conv_kernel_size", min: 0) ?? 0,
            AttentionHeadSize = json.OptionalInt("attention_head_size", min: 1),
        };
    }

    // max_relative_positions and position_buckets: any integer, −1 (the default) and other values below 1 meaning "none".
    private static int SignedInt(JsonObjectReader json, string key)
    {
        if (!json.TryGet(key, out var value)) return -1;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw json.Invalid($"\"{key}\" must be an integer, but is {JsonFile.Describe(value)}");
    }

    // DebertaV2Config.__init__: a string is lower-cased and split on '|'; a list is taken as it is; null is none.
    private static string[] ReadPosAttType(JsonObjectReader json)
    {
        if (!json.TryGet("pos_att_type", out var value)) return [];
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString()!.ToLowerInvariant().Split('|').Select(x => x.Trim()).ToArray();
        if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String))
            return value.EnumerateArray().Select(x => x.GetString()!).ToArray();
        throw json.Invalid($"\"pos_att_type\" must be a string such as \"p2c|c2p\" or a list of strings, but is {JsonFile.Describe(value)}");
    }

    /// <summary>The attention as <c>rerank info</c> names it.</summary>
    public string DescribeAttention() =>
        $"disentangled: content + {string.Join(" + ", PosAttType)} over relative positions"
        + (PositionBuckets > 0 ? $" in {PositionBuckets} log buckets up to {MaxRelativePositions}" : $" clipped at ±{MaxRelativePositions}")
        + $", relative embeddings {(ShareAttKey ? "through the layer's query/key projections (share_att_key)" : "through pos_query_proj / pos_key_proj")}"
        + (NormRelEmbeddings ? ", LayerNorm'd" : "");
}
