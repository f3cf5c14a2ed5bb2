namespace RerankSharp.Server;

/// <summary>
/// Limits, defaults and access rules of the rerank endpoints. Batching limits (tokens per batch, tokens queued)
/// belong to the <see cref="Scoring.CrossEncoder"/> and are set when it is loaded.
/// </summary>
public sealed class RerankServerOptions
{
    /// <summary>The model name put in responses when a request names none.</summary>
    public string ModelName { get; set; } = "bge-reranker-v2-m3";

    /// <summary>Largest request body; larger ones get 413. Default 16 MiB (1,000 documents of ~16 KB).</summary>
    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Most documents in one request (Cohere's and Voyage's 1,000). They are split across batches by the token
    /// budget, so this is a guard against abuse, not a batch size.
    /// </summary>
    public int MaxDocuments { get; set; } = 1000;

    /// <summary>Requests being handled at once beyond which new ones get 429 (TEI's 512).</summary>
    public int MaxConcurrentRequests { get; set; } = 512;

    /// <summary>Cut pairs longer than the model's max length when a request does not say (TEI's <c>--auto-truncate</c>).</summary>
    public bool AutoTruncate { get; set; } = true;

    /// <summary>Documents longer than the max length when a request does not say (<c>long_documents</c>): cut (default) or chunked.</summary>
    public Scoring.LongDocumentMode LongDocuments { get; set; } = Scoring.LongDocumentMode.Truncate;

    /// <summary>Tokens consecutive windows share when a request does not set <c>chunk_stride</c>; null = a quarter of the window.</summary>
    public int? ChunkStride { get; set; }

    /// <summary>How window scores combine when a request does not set <c>chunk_aggregation</c>.</summary>
    public Scoring.WindowAggregation ChunkAggregation { get; set; } = Scoring.WindowAggregation.Max;

    /// <summary>Drop results scoring below this when a request does not set <c>min_score</c>; null keeps all.</summary>
    public float? MinScore { get; set; }

    /// <summary>Accepted bearer tokens; empty = no authentication.</summary>
    public IList<string> ApiKeys { get; set; } = [];

    /// <summary>Answer <c>GET /health</c> without a key (for load balancers and probes).</summary>
    public bool OpenHealth { get; set; }

    /// <summary>Answer <c>GET /metrics</c> without a key (for a Prometheus scraper without credentials).</summary>
    public bool OpenMetrics { get; set; }

    /// <summary>
    /// How long a stopping server keeps listening at least, answering 503 to new requests and to <c>GET /health</c>,
    /// before it closes its listener (it also waits for the requests in flight, within the host's shutdown timeout).
    /// Set it to the readiness probe's period behind a load balancer, so the instance is taken out before connections
    /// are refused. Default 0: close as soon as the requests in flight are done.
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Nesting beyond this in a request body is refused before anything reads it.</summary>
    public int MaxJsonDepth { get; set; } = 32;

    internal void Validate()
    {
        if (MaxBodyBytes < 1 || MaxBodyBytes > Array.MaxLength - 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), MaxBodyBytes, $"The body limit must be between 1 byte and {Array.MaxLength - 1} bytes.");
        if (MaxDocuments < 1) throw new ArgumentOutOfRangeException(nameof(MaxDocuments), MaxDocuments, "At least one document per request must be allowed.");
        if (MaxConcurrentRequests < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, "At least one request at a time must be allowed.");
        if (ChunkStride is < 0) throw new ArgumentOutOfRangeException(nameof(ChunkStride), ChunkStride, "The chunk stride must not be negative.");
        if (MaxJsonDepth < 4) throw new ArgumentOutOfRangeException(nameof(MaxJsonDepth), MaxJsonDepth, "Request bodies nest at least 3 deep.");
        if (DrainDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DrainDelay), DrainDelay, "The drain delay cannot be negative.");
        if (ApiKeys.Any(string.IsNullOrEmpty)) throw new ArgumentException("An API key is empty; remove it or give it a value.", nameof(ApiKeys));
    }
}
