using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tokenization;

namespace RerankSharp.Remote;

/// <summary>
/// One server's request and reply shapes (exact forms: shared/research/anchors.md §b). Each knows which per-call
/// options its server honours; asking for one it does not is an error rather than a setting silently dropped.
/// </summary>
internal sealed record RerankApiShape(
    RerankApi Api,
    string ProviderName,
    string Path,
    int? MaxDocumentsPerRequest,
    string? HealthPath,
    bool TopN,
    bool ModelRequired,
    RawScoresSupport RawScores,
    bool TruncationControl,
    string? MaxDocumentTokensField)
{
    public static RerankApiShape For(RerankApi api) => api switch
    {
        // Our own server's Cohere route reads every option the engine has (docs/server.md).
        RerankApi.RerankSharp => new(api, RerankerMetadata.InProcessProvider, "/v1/rerank", 1000, "/health", TopN: true, ModelRequired: false,
            RawScoresSupport.Field, TruncationControl: true, "max_tokens_per_doc"),
        // TEI: --max-client-batch-size defaults to 32; no top_n field (the client cuts).
        RerankApi.Tei => new(api, "tei", "/rerank", 32, "/health", TopN: false, ModelRequired: false,
            RawScoresSupport.Field, TruncationControl: true, null),
        // Cohere recommends at most 1,000 documents per call.
        RerankApi.CohereV1 => new(api, "cohere", "/v1/rerank", 1000, null, TopN: true, ModelRequired: false,
            RawScoresSupport.None, TruncationControl: false, null),
        RerankApi.CohereV2 => new(api, "cohere", "/v2/rerank", 1000, null, TopN: true, ModelRequired: true,
            RawScoresSupport.None, TruncationControl: false, "max_tokens_per_doc"),
        RerankApi.Jina => new(api, "jina", "/v1/rerank", null, null, TopN: true, ModelRequired: true,
            RawScoresSupport.None, TruncationControl: false, null),
        // vLLM: activation on by default; use_activation=false gives the logits.
        RerankApi.Vllm => new(api, "vllm", "/v1/rerank", null, "/health", TopN: true, ModelRequired: false,
            RawScoresSupport.UseActivationField, TruncationControl: false, null),
        // Infinity caps a request at 2,048 documents.
        RerankApi.Infinity => new(api, "infinity", "/rerank", 2048, "/health", TopN: true, ModelRequired: false,
            RawScoresSupport.Field, TruncationControl: false, null),
        // llama.cpp answers with the logit (embd[0]) only; the sigmoid is applied here.
        RerankApi.LlamaCpp => new(api, "llama_cpp", "/v1/rerank", null, "/health", TopN: true, ModelRequired: false,
            RawScoresSupport.AlwaysRaw, TruncationControl: false, null),
        _ => throw new ArgumentOutOfRangeException(nameof(api), api, "Unknown rerank API."),
    };

    /// <summary>Refuses options this server cannot honour, naming what to do instead.</summary>
    public void Check(RerankOptions options, string? model)
    {
        if (ModelRequired && string.IsNullOrEmpty(model))
            throw Unsupported($"{Api} needs a model name; set RemoteRerankerOptions.Model (\"Reranker:Model\").");
        if (options.RawScores && RawScores == RawScoresSupport.None)
            throw Unsupported($"{Api} does not return raw logits; leave RawScores off or use a server that has them (RerankSharp, TEI, vLLM, Infinity, llama.cpp).");
        if (options.Truncation is not null)
            throw Unsupported($"The truncation strategy is the server's; leave RerankOptions.Truncation null with a remote reranker.");
        if (!TruncationControl && (!options.Truncate || options.TruncationDirection != TruncationDirection.Right))
            throw Unsupported($"{Api} always truncates on its own terms; leave Truncate true and TruncationDirection Right, or use RerankSharp or TEI.");
        if (options.MaxDocumentTokens is not null && MaxDocumentTokensField is null)
            throw Unsupported($"{Api} has no per-document token cap; leave MaxDocumentTokens null, or use RerankSharp or Cohere v2.");
        if (options.ReturnWindows)
            throw Unsupported("A remote reranker returns scores only; for the window behind each score send \"return_windows\": true to rerank serve yourself, or use CrossEncoder in process.");
        var chunking = options.LongDocuments != LongDocumentMode.Truncate || options.ChunkStride is not null || options.ChunkAggregation != WindowAggregation.Max;
        if (chunking && Api != RerankApi.RerankSharp)
            throw Unsupported($"{Api} cuts long documents and cannot score them in windows; leave LongDocuments Truncate and the chunk settings unset, or use RerankSharp.");
    }

    private RerankException Unsupported(string message) => new(RerankErrorKind.InvalidInput, message);

    /// <summary>The request body for one slice of the documents.</summary>
    public JsonObject Request(string query, IReadOnlyList<string> documents, RerankOptions options, int? topN, string? model)
    {
        var body = new JsonObject();
        if (model is not null && Api != RerankApi.Tei) body["model"] = model;
        body["query"] = query;
        var texts = new JsonArray();
        foreach (var document in documents) texts.Add(document);
        body[Api == RerankApi.Tei ? "texts" : "documents"] = texts;
        if (TopN && topN is not null) body["top_n"] = topN.Value;
        switch (Api)
        {
            case RerankApi.Tei:
                body["return_text"] = false;
                break;
            case RerankApi.CohereV2 or RerankApi.LlamaCpp or RerankApi.Vllm:
                break;   // no return_documents field (Cohere v2 dropped it; vLLM always echoes; llama.cpp never does)
            default:
                body["return_documents"] = false;
                break;
        }
        if (RawScores == RawScoresSupport.Field) body["raw_scores"] = options.RawScores;
        if (RawScores == RawScoresSupport.UseActivationField && options.RawScores) body["use_activation"] = false;
        if (TruncationControl)
        {
            body["truncate"] = options.Truncate;
            body["truncation_direction"] = options.TruncationDirection == TruncationDirection.Left ? "left" : "right";
        }
        if (options.MaxDocumentTokens is { } cap) body[MaxDocumentTokensField!] = cap;
        if (Api == RerankApi.RerankSharp)
        {
            // Sent always, as truncate is: the caller's choice wins over the server's --long-documents default.
            body["long_documents"] = options.LongDocuments == LongDocumentMode.Chunk ? "chunk" : "truncate";
            if (options.ChunkStride is { } stride) body["chunk_stride"] = stride;
            body["chunk_aggregation"] = options.ChunkAggregation.ToString().ToLowerInvariant();
        }
        return body;
    }

    /// <summary>
    /// (index, score) pairs of a reply: TEI's bare array of {index, score}, or everyone else's {results: [{index, relevance_score}]}.
    /// </summary>
    public IReadOnlyList<(int Index, float Score)> Results(JsonNode? reply, int documentCount)
    {
        var items = reply switch
        {
            JsonArray array when Api is RerankApi.Tei => array,
            JsonObject obj when obj["results"] is JsonArray results => results,
            _ => throw Malformed(Api is RerankApi.Tei ? "a JSON array of {index, score}" : "an object with a `results` array"),
        };
        var scoreField = Api is RerankApi.Tei ? "score" : "relevance_score";
        var parsed = new List<(int, float)>(items.Count);
        foreach (var item in items)
        {
            if (item?["index"] is not JsonValue indexValue || !indexValue.TryGetValue<int>(out var index) || index < 0 || index >= documentCount)
                throw Malformed($"results whose `index` is a position among the {documentCount} documents sent");
            if (item[scoreField] is not JsonValue scoreValue || !scoreValue.TryGetValue<double>(out var score) || !double.IsFinite(score))
                throw Malformed($"a finite number in `{scoreField}` of every result");
            parsed.Add((index, (float)score));
        }
        return parsed;
    }

    private RerankException Malformed(string expected) =>
        new(RerankErrorKind.Backend, $"The {Api} server's reply is not what {Api} sends: expected {expected}. Check RemoteRerankerOptions.Api matches the server.");
}

/// <summary>How a server gives logits rather than sigmoid scores.</summary>
internal enum RawScoresSupport
{
    /// <summary>It cannot.</summary>
    None,
    /// <summary>A <c>raw_scores</c> boolean.</summary>
    Field,
    /// <summary>vLLM's <c>use_activation: false</c>.</summary>
    UseActivationField,
    /// <summary>It only ever returns logits.</summary>
    AlwaysRaw,
}
