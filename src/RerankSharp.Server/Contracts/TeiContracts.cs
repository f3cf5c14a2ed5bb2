using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RerankSharp.Server.Contracts;

// The shapes of text-embeddings-inference (router/src/http/types.rs), so TEI clients work unchanged.

/// <summary>TEI <c>POST /rerank</c> request.</summary>
public sealed record TeiRerankRequest(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("texts")] IReadOnlyList<string> Texts,
    [property: JsonPropertyName("truncate"), Description("Cut pairs over the model's max length; null = the server's --auto-truncate.")] bool? Truncate = null,
    [property: JsonPropertyName("truncation_direction"), Description("left or right (any case); default right.")] string? TruncationDirection = null,
    [property: JsonPropertyName("raw_scores"), Description("Raw logits instead of sigmoid scores in [0, 1].")] bool RawScores = false,
    [property: JsonPropertyName("return_text")] bool ReturnText = false,
    [property: JsonPropertyName("min_score"), Description("Extension: drop results scoring below this.")] float? MinScore = null,
    [property: JsonPropertyName("return_tokens"), Description("Extension: give each result the `tokens` of its pair.")] bool ReturnTokens = false,
    [property: JsonPropertyName("long_documents"), Description(LongDocumentFields.Mode)] string? LongDocuments = null,
    [property: JsonPropertyName("chunk_stride"), Description(LongDocumentFields.Stride)] int? ChunkStride = null,
    [property: JsonPropertyName("chunk_aggregation"), Description(LongDocumentFields.Aggregation)] string? ChunkAggregation = null,
    [property: JsonPropertyName("return_windows"), Description(LongDocumentFields.ReturnWindows)] bool ReturnWindows = false);

/// <summary>One entry of TEI's bare-array <c>POST /rerank</c> reply, best first.</summary>
public sealed record TeiRank(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("score")] float Score,
    [property: JsonPropertyName("text")] string? Text = null,
    [property: JsonPropertyName("truncated"), Description("Extension, present only when true: the pair was cut to the max length.")] bool? Truncated = null,
    [property: JsonPropertyName("tokens"), Description("Extension, with return_tokens: tokens of the query-document pair as the model read it, special tokens included.")] int? Tokens = null,
    [property: JsonPropertyName("window"), Description(LongDocumentFields.Window)] RerankWindow? Window = null);

/// <summary>TEI <c>POST /tokenize</c> request: one text or a list.</summary>
public sealed record TeiTokenizeRequest(
    [property: JsonPropertyName("inputs")] IReadOnlyList<string> Inputs,
    [property: JsonPropertyName("add_special_tokens")] bool AddSpecialTokens = true);

/// <summary>One token of a <c>POST /tokenize</c> reply. <c>text</c> is the vocabulary piece; character offsets are not tracked, so <c>start</c>/<c>stop</c> are null.</summary>
public sealed record TeiToken(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("special")] bool Special,
    [property: JsonPropertyName("start"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Start,
    [property: JsonPropertyName("stop"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Stop);

/// <summary>TEI <c>GET /info</c>, plus this server's own limits.</summary>
public sealed record TeiInfo(
    [property: JsonPropertyName("model_id")] string ModelId,
    [property: JsonPropertyName("model_sha"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? ModelSha,
    [property: JsonPropertyName("model_dtype")] string ModelDtype,
    [property: JsonPropertyName("model_type")] TeiModelType ModelType,
    [property: JsonPropertyName("max_concurrent_requests")] int MaxConcurrentRequests,
    [property: JsonPropertyName("max_input_length")] int MaxInputLength,
    [property: JsonPropertyName("max_batch_tokens")] int MaxBatchTokens,
    [property: JsonPropertyName("max_batch_requests"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? MaxBatchRequests,
    [property: JsonPropertyName("max_client_batch_size")] int MaxClientBatchSize,
    [property: JsonPropertyName("auto_truncate")] bool AutoTruncate,
    [property: JsonPropertyName("tokenization_workers")] int TokenizationWorkers,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("max_batch_size")] int MaxBatchSize,
    [property: JsonPropertyName("max_queued_tokens")] long MaxQueuedTokens,
    [property: JsonPropertyName("max_body_bytes")] long MaxBodyBytes,
    [property: JsonPropertyName("execution_provider")] string ExecutionProvider);

public sealed record TeiModelType([property: JsonPropertyName("reranker")] TeiClassifierModel Reranker);

public sealed record TeiClassifierModel(
    [property: JsonPropertyName("id2label")] IReadOnlyDictionary<string, string> Id2Label,
    [property: JsonPropertyName("label2id")] IReadOnlyDictionary<string, int> Label2Id);
