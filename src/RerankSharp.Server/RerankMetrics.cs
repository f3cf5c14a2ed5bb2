using Prometheus;
using RerankSharp.Scoring;

namespace RerankSharp.Server;

/// <summary>
/// The Prometheus metrics of one server, in a registry of its own (several servers in one process do not mix):
/// requests by route and status, latency, documents per request, and the batching queue as the library reports it.
/// </summary>
internal sealed class RerankMetrics : IDisposable
{
    private readonly CrossEncoder _encoder;
    private readonly InFlightRequests _inFlight;
    private readonly Gauge _requestsInFlight;
    private readonly Counter _requests;
    private readonly Histogram _requestSeconds;
    private readonly Counter _grpcCalls;
    private readonly Histogram _grpcCallSeconds;
    private readonly Histogram _requestDocuments;
    private readonly Counter _truncatedDocuments;
    private readonly Histogram _batchRows;
    private readonly Histogram _batchCallers;
    private readonly Histogram _batchTokens;
    private readonly Histogram _batchSeconds;
    private readonly Counter _batchesMerged;
    private readonly Gauge _queueSequences;
    private readonly Gauge _queueTokens;
    private readonly Gauge _queueMaxTokens;
    private readonly Counter _batches;
    private readonly Counter _sequences;
    private readonly Counter _tokens;
    private readonly Counter _paddedTokens;
    private double _tokensPerSecond;

    public RerankMetrics(CrossEncoder encoder, InFlightRequests inFlight)
    {
        _encoder = encoder;
        _inFlight = inFlight;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("rerank_http_requests_total", "HTTP requests by route and status.", "route", "status");
        _requestSeconds = factory.CreateHistogram("rerank_http_request_duration_seconds", "Time from the request's arrival to its answer, by route.",
            new HistogramConfiguration { LabelNames = ["route"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 18) });
        _grpcCalls = factory.CreateCounter("rerank_grpc_requests_total", "gRPC calls by method and status code.", "method", "code");
        _grpcCallSeconds = factory.CreateHistogram("rerank_grpc_request_duration_seconds", "Time from a gRPC call's arrival to its answer, by method.",
            new HistogramConfiguration { LabelNames = ["method"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 18) });
        _requestDocuments = factory.CreateHistogram("rerank_request_documents", "Documents per rerank request.",
            new HistogramConfiguration { Buckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] });
        _truncatedDocuments = factory.CreateCounter("rerank_truncated_documents_total", "Documents whose pair was cut to the max length.");
        _batchRows = factory.CreateHistogram("rerank_batch_size", "Pairs per inference batch.",
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128] });
        _batchCallers = factory.CreateHistogram("rerank_batch_requests", "Distinct requests (callers) whose pairs shared an inference batch; above 1 means batching merged requests.",
            new HistogramConfiguration { Buckets = [1, 2, 3, 4, 6, 8, 16, 32] });
        _batchTokens = factory.CreateHistogram("rerank_batch_tokens", "Tokens per inference batch, padding not counted.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(16, 2, 12) });
        _batchSeconds = factory.CreateHistogram("rerank_batch_duration_seconds", "Time of one inference batch.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 18) });
        _batchesMerged = factory.CreateCounter("rerank_batches_merged_total", "Inference batches that held pairs of more than one request.");
        _requestsInFlight = factory.CreateGauge("rerank_requests_in_flight", "Scoring requests (HTTP and gRPC) being handled now (429 / RESOURCE_EXHAUSTED beyond --max-concurrent-requests).");
        _queueSequences = factory.CreateGauge("rerank_queue_depth", "Pairs waiting in the batching queue.");
        _queueTokens = factory.CreateGauge("rerank_queued_tokens", "Tokens waiting in the batching queue.");
        _queueMaxTokens = factory.CreateGauge("rerank_queued_tokens_limit", "Queued tokens beyond which requests get 429.");
        _batches = factory.CreateCounter("rerank_batches_total", "Inference batches run.");
        _sequences = factory.CreateCounter("rerank_pairs_total", "Query-document pairs scored.");
        _tokens = factory.CreateCounter("rerank_tokens_total", "Tokens processed (padding not counted).");
        _paddedTokens = factory.CreateCounter("rerank_padded_tokens_total", "Tokens computed including padding (rows × padded length).");
        Registry.AddBeforeCollectCallback(ReadQueue);
        encoder.BatchCompleted += OnBatch;
    }

    public CollectorRegistry Registry { get; }

    public void RecordRequest(string route, int status, TimeSpan elapsed)
    {
        _requests.WithLabels(route, status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        _requestSeconds.WithLabels(route).Observe(elapsed.TotalSeconds);
    }

    /// <summary>One gRPC call, by its full method name (<c>/tei.v1.Rerank/Rerank</c>) and status code name (<c>OK</c>, <c>InvalidArgument</c>).</summary>
    public void RecordGrpcCall(string method, string code, TimeSpan elapsed)
    {
        _grpcCalls.WithLabels(method, code).Inc();
        _grpcCallSeconds.WithLabels(method).Observe(elapsed.TotalSeconds);
    }

    public void RecordDocuments(DocumentScores scores)
    {
        _requestDocuments.Observe(scores.Scores.Length);
        _truncatedDocuments.Inc(scores.Truncated.Count(t => t));
    }

    /// <summary>A Retry-After for a full queue: the waiting tokens over the recent throughput, 1–60 s.</summary>
    public int SecondsUntilQueueDrains()
    {
        var rate = Volatile.Read(ref _tokensPerSecond);
        if (rate <= 0) return 1;
        return (int)Math.Clamp(Math.Ceiling(_encoder.QueueStatistics.QueuedTokens / rate), 1, 60);
    }

    // Runs on the encoder's worker thread: keep it to a few atomic updates.
    private void OnBatch(object? sender, BatchReport report)
    {
        _batchRows.Observe(report.Rows);
        _batchCallers.Observe(report.Callers);
        _batchTokens.Observe(report.Tokens);
        _batchSeconds.Observe(report.Duration.TotalSeconds);
        if (report.Callers > 1) _batchesMerged.Inc();
        if (report.Duration > TimeSpan.Zero)
        {
            var rate = report.Tokens / report.Duration.TotalSeconds;
            var previous = Volatile.Read(ref _tokensPerSecond);
            Volatile.Write(ref _tokensPerSecond, previous == 0 ? rate : 0.8 * previous + 0.2 * rate);
        }
    }

    private void ReadQueue()
    {
        var statistics = _encoder.QueueStatistics;
        _requestsInFlight.Set(_inFlight.Count);
        _queueSequences.Set(statistics.QueuedSequences);
        _queueTokens.Set(statistics.QueuedTokens);
        _queueMaxTokens.Set(statistics.MaxQueuedTokens);
        _batches.IncTo(statistics.BatchesRun);
        _sequences.IncTo(statistics.SequencesRun);
        _tokens.IncTo(statistics.TokensRun);
        _paddedTokens.IncTo(statistics.PaddedTokensRun);
    }

    public void Dispose() => _encoder.BatchCompleted -= OnBatch;
}
