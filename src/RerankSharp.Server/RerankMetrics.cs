using Prometheus;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;

namespace RerankSharp.Server;

/// <summary>
/// The Prometheus metrics of one server, in a registry of its own (several servers in one process do not mix):
/// requests by route and status, latency, documents per request, and the batching queues as the library reports them
/// (<see cref="IBatchingStatistics"/> of each served model). The <c>rerank_*</c> families a one-model server has
/// always had are whole-server totals; the <c>rerank_model_*</c> families carry a <c>model</c> label.
/// </summary>
internal sealed class RerankMetrics : IDisposable
{
    private readonly RerankModelRegistry _models;
    private readonly object _attachGate = new();
    private readonly Dictionary<ServedModel, AttachedModel> _attached = [];
    private readonly Counter _modelRequests;
    private readonly Counter _modelDocuments;
    private readonly Counter _modelBatches;
    private readonly Counter _modelPairs;
    private readonly Counter _modelTokens;
    private readonly Gauge _modelQueueTokens;
    private readonly Gauge _modelLoaded;
    private readonly Counter _modelLoads;
    private readonly Counter _modelUnloads;
    private readonly Gauge _modelsMemory;
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

    public RerankMetrics(RerankModelRegistry models, InFlightRequests inFlight)
    {
        _models = models;
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
        _modelRequests = factory.CreateCounter("rerank_model_requests_total", "Scoring requests answered, by served model.", "model");
        _modelDocuments = factory.CreateCounter("rerank_model_documents_total", "Documents scored, by served model.", "model");
        _modelBatches = factory.CreateCounter("rerank_model_batches_total", "Inference batches run, by served model.", "model");
        _modelPairs = factory.CreateCounter("rerank_model_pairs_total", "Query-document pairs scored, by served model.", "model");
        _modelTokens = factory.CreateCounter("rerank_model_tokens_total", "Tokens processed (padding not counted), by served model.", "model");
        _modelQueueTokens = factory.CreateGauge("rerank_model_queued_tokens", "Tokens waiting in the model's batching queue.", "model");
        _modelLoaded = factory.CreateGauge("rerank_model_loaded", "1 while the model is in memory, 0 while unloaded or failed.", "model");
        _modelLoads = factory.CreateCounter("rerank_model_loads_total", "Times the model was loaded (more than 1: unloaded and loaded again for the memory budget).", "model");
        _modelUnloads = factory.CreateCounter("rerank_model_unloads_total", "Times the model was unloaded to stay within --max-memory.", "model");
        _modelsMemory = factory.CreateGauge("rerank_models_memory_bytes", "Weight bytes of the models in memory, as counted against --max-memory.");
        Registry.AddBeforeCollectCallback(ReadQueue);
        models.ModelLoaded += Attach;
        models.ModelUnloading += Detach;
        foreach (var model in models.Models)
            if (model.Current is { } reranker) Attach(model, reranker);
    }

    /// <summary>What has been read of one loaded model: its statistics, and the totals of its earlier loads.</summary>
    private sealed class AttachedModel
    {
        public IBatchingStatistics? Statistics;
        public EventHandler<BatchReport>? Handler;
        public QueueStatistics Retired = new(0, 0, 0, 0, 0, 0, 0);
    }

    private void Attach(ServedModel model, IReranker reranker)
    {
        lock (_attachGate)
        {
            if (!_attached.TryGetValue(model, out var attached)) _attached[model] = attached = new AttachedModel();
            if (attached.Statistics is not null) return;
            // Through middleware too: statistics are read, not called around.
            attached.Statistics = reranker.GetService<IBatchingStatistics>();
            if (attached.Statistics is not null)
            {
                attached.Handler = OnBatch;
                attached.Statistics.BatchCompleted += attached.Handler;
            }
        }
    }

    private void Detach(ServedModel model, IReranker reranker)
    {
        lock (_attachGate)
        {
            if (!_attached.TryGetValue(model, out var attached) || attached.Statistics is null) return;
            // A reloaded model starts counting from 0; the totals carry on from what it had run.
            attached.Retired = Add(attached.Retired, attached.Statistics.QueueStatistics);
            attached.Statistics.BatchCompleted -= attached.Handler;
            attached.Statistics = null;
        }
    }

    private static QueueStatistics Add(QueueStatistics a, QueueStatistics b) => new(0, 0, 0, a.BatchesRun + b.BatchesRun,
        a.SequencesRun + b.SequencesRun, a.TokensRun + b.TokensRun, a.PaddedTokensRun + b.PaddedTokensRun);

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

    public void RecordDocuments(string model, DocumentScores scores)
    {
        _modelRequests.WithLabels(model).Inc();
        _modelDocuments.WithLabels(model).Inc(scores.Scores.Length);
        _requestDocuments.Observe(scores.Scores.Length);
        _truncatedDocuments.Inc(scores.Truncated.Count(t => t));
    }

    /// <summary>A Retry-After for a full queue: the waiting tokens over the recent throughput, 1–60 s.</summary>
    public int SecondsUntilQueueDrains()
    {
        var rate = Volatile.Read(ref _tokensPerSecond);
        if (rate <= 0) return 1;
        return (int)Math.Clamp(Math.Ceiling(Current().Sum(s => s.Statistics.QueuedTokens) / rate), 1, 60);
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

    private List<(ServedModel Model, QueueStatistics Statistics, QueueStatistics Retired)> Current()
    {
        lock (_attachGate)
            return _attached.Select(a => (a.Key, a.Value.Statistics?.QueueStatistics ?? new QueueStatistics(0, 0, 0, 0, 0, 0, 0), a.Value.Retired)).ToList();
    }

    private void ReadQueue()
    {
        // A reranker that loads in the background (a hosted one) has its statistics only once loaded.
        foreach (var model in _models.Models)
            if (model.Current is { } reranker) Attach(model, reranker);
        var models = Current();
        _requestsInFlight.Set(_inFlight.Count);
        _queueSequences.Set(models.Sum(m => m.Statistics.QueuedSequences));
        _queueTokens.Set(models.Sum(m => m.Statistics.QueuedTokens));
        _queueMaxTokens.Set(models.Sum(m => m.Statistics.MaxQueuedTokens));
        _batches.IncTo(models.Sum(m => m.Statistics.BatchesRun + m.Retired.BatchesRun));
        _sequences.IncTo(models.Sum(m => m.Statistics.SequencesRun + m.Retired.SequencesRun));
        _tokens.IncTo(models.Sum(m => m.Statistics.TokensRun + m.Retired.TokensRun));
        _paddedTokens.IncTo(models.Sum(m => m.Statistics.PaddedTokensRun + m.Retired.PaddedTokensRun));
        foreach (var (model, statistics, retired) in models)
        {
            _modelBatches.WithLabels(model.Name).IncTo(statistics.BatchesRun + retired.BatchesRun);
            _modelPairs.WithLabels(model.Name).IncTo(statistics.SequencesRun + retired.SequencesRun);
            _modelTokens.WithLabels(model.Name).IncTo(statistics.TokensRun + retired.TokensRun);
            _modelQueueTokens.WithLabels(model.Name).Set(statistics.QueuedTokens);
        }
        foreach (var model in _models.Models)
        {
            _modelLoaded.WithLabels(model.Name).Set(model.State == ServedModelState.Ready ? 1 : 0);
            _modelLoads.WithLabels(model.Name).IncTo(model.Loads);
            _modelUnloads.WithLabels(model.Name).IncTo(model.Unloads);
        }
        _modelsMemory.Set(_models.LoadedBytes);
    }

    public void Dispose()
    {
        _models.ModelLoaded -= Attach;
        _models.ModelUnloading -= Detach;
        lock (_attachGate)
            foreach (var attached in _attached.Values)
                if (attached.Statistics is not null) attached.Statistics.BatchCompleted -= attached.Handler;
    }
}
