using System.Globalization;
using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// The keys of a GTE "new" <c>config.json</c> (<c>model_type</c> "new", the <c>Alibaba-NLP/new-impl</c> code its
/// <c>auto_map</c> names) beyond <see cref="ModelConfig"/>'s, named as the file names them, with <c>NewConfig</c>'s
/// defaults (new-impl's configuration.py, as mirrored in xuhaike/SparseCL gte/configuration.py @03dd0e1c).
/// </summary>
/// <remarks>
/// NewConfig's defaults differ from BERT's where a GTE config may leave a key out: <c>position_embedding_type</c> is
/// "rope" and <c>type_vocab_size</c> 1. <c>unpad_inputs</c> and <c>use_memory_efficient_attention</c> choose how
/// new-impl computes attention (sequences packed without pads under xformers' block-diagonal mask, or padded with the
/// extended mask); the results are the same, so both are read only for <c>rerank info</c>.
/// </remarks>
internal sealed record GteConfig
{
    private const string FixIt = "fix config.json or re-download the model from the Hugging Face hub";

    /// <summary><c>position_embedding_type</c>: "rope" (rotary positions), or new-impl's "absolute" table.</summary>
    public string PositionEmbeddingType { get; init; } = "rope";

    /// <summary><c>rope_theta</c>, the rotary base.</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary><c>rope_scaling.type</c> (or <c>rope_type</c>), null without scaling.</summary>
    public string? RopeScalingType { get; init; }

    /// <summary><c>rope_scaling.factor</c>.</summary>
    public double RopeScalingFactor { get; init; } = 1;

    /// <summary><c>rope_scaling.mixed_b</c>: new-impl's mixed NTK variant when present.</summary>
    public double? RopeScalingMixedB { get; init; }

    /// <summary><c>type_vocab_size</c>: 0 means no token type embeddings.</summary>
    public int TypeVocabSize { get; init; } = 1;

    /// <summary><c>layer_norm_type</c>: "layer_norm" or new-impl's "rms_norm".</summary>
    public string LayerNormType { get; init; } = "layer_norm";

    /// <summary><c>pack_qkv</c>: one merged <c>qkv_proj</c> (true) or <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>.</summary>
    public bool PackQkv { get; init; } = true;

    /// <summary><c>logn_attention_scale</c>: scale queries by log(length) / log(max_position_embeddings).</summary>
    public bool LognAttentionScale { get; init; }

    /// <summary><c>unpad_inputs</c>: how new-impl lays out a batch (same results).</summary>
    public bool UnpadInputs { get; init; }

    /// <summary><c>use_memory_efficient_attention</c>: xformers' kernel instead of the eager/SDPA one (same results).</summary>
    public bool UseMemoryEfficientAttention { get; init; }

    /// <summary>Whether the rotary frequencies are NTK-scaled (factor above 1; factor 1 is the plain rope).</summary>
    public bool NtkScaled => RopeScalingType is not null && RopeScalingFactor > 1;

    /// <summary>Reads the GTE keys of <paramref name="path"/>.</summary>
    /// <exception cref="RerankException">InvalidModel for a malformed value.</exception>
    public static GteConfig Load(string path)
    {
        using JsonDocument document = JsonFile.Read(path, FixIt);
        var json = JsonObjectReader.Root(document, path, FixIt);
        string? scalingType = null;
        double factor = 1;
        double? mixedB = null;
        if (json.OptionalObject("rope_scaling") is { } rope)
        {
            // new-impl reads rope_scaling["type"]; later transformers configs spell it rope_type (read as TEI does).
            scalingType = rope.OptionalString("type") ?? rope.OptionalString("rope_type")
                ?? throw json.Invalid("\"rope_scaling\" has no \"type\"");
            factor = rope.OptionalPositiveDouble("factor") ?? throw json.Invalid("\"rope_scaling\" has no \"factor\"");
            mixedB = rope.OptionalPositiveDouble("mixed_b");
        }
        return new GteConfig
        {
            PositionEmbeddingType = json.OptionalString("position_embedding_type") ?? "rope",
            RopeTheta = json.OptionalPositiveDouble("rope_theta") ?? 10000,
            RopeScalingType = scalingType,
            RopeScalingFactor = factor,
            RopeScalingMixedB = mixedB,
            TypeVocabSize = json.OptionalInt("type_vocab_size", min: 0) ?? 1,
            LayerNormType = json.OptionalString("layer_norm_type") ?? "layer_norm",
            PackQkv = json.OptionalBool("pack_qkv") ?? true,
            LognAttentionScale = json.OptionalBool("logn_attention_scale") ?? false,
            UnpadInputs = json.OptionalBool("unpad_inputs") ?? false,
            UseMemoryEfficientAttention = json.OptionalBool("use_memory_efficient_attention") ?? false,
        };
    }

    /// <summary>The rotary scaling as <c>rerank info</c> names it.</summary>
    public string DescribeRope()
    {
        var theta = RopeTheta.ToString("R", CultureInfo.InvariantCulture);
        if (RopeScalingType is null) return $"rope theta {theta}, no scaling (rope_scaling null)";
        var f = RopeScalingFactor.ToString("R", CultureInfo.InvariantCulture);
        return NtkScaled
            ? $"rope theta {theta}, fixed NTK scaling × {f} (rope_scaling {{type {RopeScalingType}, factor {f}}}: base {(RopeTheta * RopeScalingFactor).ToString("R", CultureInfo.InvariantCulture)}, frequencies / {f}^(2/head size))"
            : $"rope theta {theta}, rope_scaling factor {f} (no change)";
    }
}
