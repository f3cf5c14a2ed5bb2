using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RerankSharp.Server.Contracts;

// Cohere v1 and Jina share one request and reply (Jina's is Cohere's with `usage`); v2 drops `model` and `usage`
// from the reply. Shapes from docs.cohere.com (v1/v2 rerank) and Jina's OpenAPI document.

/// <summary>Cohere v1 / Jina <c>POST /v1/rerank</c> request (also <c>POST /rerank</c> with <c>documents</c>).</summary>
public sealed record RerankRequest(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("documents"), Description("Strings, or objects with a string `text` (v1; or the fields named in rank_fields).")] IReadOnlyList<string> Documents,
    [property: JsonPropertyName("model"), Description("Echoed in the reply; the server runs the model it loaded.")] string? Model = null,
    [property: JsonPropertyName("top_n")] int? TopN = null,
    [property: JsonPropertyName("return_documents"), Description("Include each document's text; default false.")] bool ReturnDocuments = false,
    [property: JsonPropertyName("rank_fields")] IReadOnlyList<string>? RankFields = null,
    [property: JsonPropertyName("max_tokens_per_doc"), Description("Cohere v2: cap each document at this many tokens.")] int? MaxTokensPerDoc = null,
    [property: JsonPropertyName("truncate"), Description("Extension: cut pairs over the model's max length; null = the server's default.")] bool? Truncate = null,
    [property: JsonPropertyName("raw_scores"), Description("Extension: raw logits instead of sigmoid scores.")] bool RawScores = false,
    [property: JsonPropertyName("min_score"), Description("Extension: drop results scoring below this.")] float? MinScore = null,
    [property: JsonPropertyName("return_tokens"), Description("Extension: give each result the `tokens` of its pair.")] bool ReturnTokens = false,
    [property: JsonPropertyName("long_documents"), Description(LongDocumentFields.Mode)] string? LongDocuments = null,
    [property: JsonPropertyName("chunk_stride"), Description(LongDocumentFields.Stride)] int? ChunkStride = null,
    [property: JsonPropertyName("chunk_aggregation"), Description(LongDocumentFields.Aggregation)] string? ChunkAggregation = null,
    [property: JsonPropertyName("return_windows"), Description(LongDocumentFields.ReturnWindows)] bool ReturnWindows = false);

/// <summary>The reply of <c>POST /v1/rerank</c>, <c>/v2/rerank</c> and Jina-shaped <c>POST /rerank</c>.</summary>
public sealed record RerankResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("results")] IReadOnlyList<RerankResultItem> Results,
    [property: JsonPropertyName("meta")] RerankMeta Meta,
    [property: JsonPropertyName("model")] string? Model = null,
    [property: JsonPropertyName("usage")] RerankUsage? Usage = null);

public sealed record RerankResultItem(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("relevance_score")] float RelevanceScore,
    [property: JsonPropertyName("document")] RerankDocument? Document = null,
    [property: JsonPropertyName("truncated"), Description("Extension, present only when true: the pair was cut.")] bool? Truncated = null,
    [property: JsonPropertyName("tokens"), Description("Extension, with return_tokens: tokens of the query-document pair as the model read it, special tokens included.")] int? Tokens = null,
    [property: JsonPropertyName("window"), Description(LongDocumentFields.Window)] RerankWindow? Window = null);

public sealed record RerankDocument([property: JsonPropertyName("text")] string Text);

public sealed record RerankUsage([property: JsonPropertyName("total_tokens")] long TotalTokens);

public sealed record RerankMeta(
    [property: JsonPropertyName("api_version")] RerankApiVersion ApiVersion,
    [property: JsonPropertyName("billed_units")] RerankBilledUnits BilledUnits);

public sealed record RerankApiVersion(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("is_experimental")] bool? IsExperimental = null);

public sealed record RerankBilledUnits([property: JsonPropertyName("search_units")] int SearchUnits);
