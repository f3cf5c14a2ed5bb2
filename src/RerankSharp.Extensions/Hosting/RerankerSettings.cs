using RerankSharp.Inference;
using RerankSharp.Onnx;
using RerankSharp.Remote;
using RerankSharp.Scoring;

namespace RerankSharp.Hosting;

/// <summary>
/// The <c>"Reranker"</c> configuration section: a model to load in this process, or — when <see cref="Endpoint"/> is
/// set — a server to call. Keys are the CLI's flags in PascalCase (<c>--max-batch-tokens</c> ↔ <c>MaxBatchTokens</c>),
/// and <c>RERANK_…</c> variables set them too when <c>AddRerankEnvironmentVariables()</c> is on the configuration.
/// </summary>
public sealed class RerankerSettings
{
    /// <summary>The section name in appsettings.json.</summary>
    public const string SectionName = "Reranker";

    /// <summary>The model used when <see cref="Model"/> is unset and no <see cref="Endpoint"/> is given.</summary>
    public const string DefaultModel = "BAAI/bge-reranker-v2-m3";

    /// <summary>In-process: a model folder or hub id (RERANK_MODEL). Remote: the model name sent to the server.</summary>
    public string? Model { get; set; }

    /// <summary>cpu, cuda or auto (RERANK_DEVICE).</summary>
    public Device Device { get; set; } = Device.Cpu;

    /// <summary>fp32 or int8 (RERANK_PRECISION).</summary>
    public Precision Precision { get; set; } = Precision.Fp32;

    /// <summary>Tokens per pair; null = the model's (RERANK_MAX_LENGTH).</summary>
    public int? MaxLength { get; set; }

    /// <summary>Most pairs per inference batch (RERANK_BATCH_SIZE).</summary>
    public int BatchSize { get; set; } = new CrossEncoderOptions().BatchSize;

    /// <summary>Most padded tokens per inference batch; null = the execution provider's default (RERANK_MAX_BATCH_TOKENS).</summary>
    public int? MaxBatchTokens { get; set; }

    /// <summary>Most tokens waiting before calls are refused as overloaded (RERANK_MAX_QUEUED_TOKENS).</summary>
    public long MaxQueuedTokens { get; set; } = 4_000_000;

    /// <summary>ONNX Runtime threads; null = one per logical processor (RERANK_THREADS).</summary>
    public int? Threads { get; set; }

    /// <summary>Raw logits instead of sigmoid scores for every call (RERANK_RAW=1).</summary>
    public bool Raw { get; set; }

    /// <summary>In-process: Sigmoid, Model (the activation the folder declares for sentence-transformers' CrossEncoder.predict) or None (RERANK_ACTIVATION).</summary>
    public ActivationMode Activation { get; set; } = ActivationMode.Sigmoid;

    /// <summary>
    /// In-process: hold the host's start until the model is loaded, so a model that fails to load fails the start.
    /// Default false: the host starts at once, the model loads in the background and the health check says "loading".
    /// </summary>
    public bool WaitForModel { get; set; }

    /// <summary>The server to call instead of loading a model (RERANK_ENDPOINT).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The API that server speaks (RERANK_API): RerankSharp, Tei, CohereV1, CohereV2, Jina, Vllm, Infinity, LlamaCpp.</summary>
    public RerankApi Api { get; set; } = RerankApi.RerankSharp;

    /// <summary>Bearer key for the server (RERANK_API_KEY, the variable <c>rerank serve</c> takes its keys from).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Most documents per request; null = the API's limit (RERANK_MAX_DOCUMENTS_PER_REQUEST).</summary>
    public int? MaxDocumentsPerRequest { get; set; }

    /// <summary>Split requests of one call in flight at once.</summary>
    public int MaxParallelRequests { get; set; } = 4;

    /// <summary>Longest wait for one attempt (RERANK_TIMEOUT, in seconds). Long documents on a CPU server take a while.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Longest wait for a call, retries and their delays included.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries of a request answered 408, 429, 502, 503 or 504, or not answered (RERANK_MAX_RETRIES).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay when the server sends no Retry-After; doubled (with jitter) for each retry.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The options of a <see cref="CrossEncoder"/> loaded from these settings.</summary>
    public CrossEncoderOptions ToCrossEncoderOptions() => new()
    {
        Device = Device,
        Precision = Precision,
        MaxLength = MaxLength,
        BatchSize = BatchSize,
        MaxBatchTokens = MaxBatchTokens,
        MaxQueuedTokens = MaxQueuedTokens,
        Threads = Threads,
        Activation = Activation,
    };

    /// <summary>The options of a <see cref="RemoteReranker"/> for <see cref="Endpoint"/>.</summary>
    public RemoteRerankerOptions ToRemoteOptions() => new()
    {
        Endpoint = Endpoint ?? throw new RerankException(RerankErrorKind.InvalidInput, "Reranker:Endpoint is not set; give the server's base address."),
        Api = Api,
        Model = Model,
        ApiKey = ApiKey,
        MaxDocumentsPerRequest = MaxDocumentsPerRequest,
        MaxParallelRequests = MaxParallelRequests,
    };

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero) throw new RerankException(RerankErrorKind.InvalidInput, $"Reranker:Timeout {Timeout} must be positive.");
        if (TotalTimeout <= Timeout) throw new RerankException(RerankErrorKind.InvalidInput, $"Reranker:TotalTimeout {TotalTimeout} must be longer than Reranker:Timeout {Timeout}.");
        if (MaxRetries is < 0 or > 100) throw new RerankException(RerankErrorKind.InvalidInput, $"Reranker:MaxRetries {MaxRetries} must be between 0 and 100.");
        if (RetryDelay < TimeSpan.Zero) throw new RerankException(RerankErrorKind.InvalidInput, $"Reranker:RetryDelay {RetryDelay} must not be negative.");
    }
}
