using System.Diagnostics.Metrics;
using Prometheus;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;

namespace RerankSharp.Server;

/// <summary>
/// The server's metrics, one set of System.Diagnostics.Metrics instruments on the meter
/// <see cref="RerankServerTelemetry.MeterName"/>: requests by route and status, latency, documents per request, and the
/// batching queues as the library reports them (<see cref="IBatchingStatistics"/> of each served model). <c>/metrics</c>
/// writes them in Prometheus text (<see cref="MeterExposition"/>) and an OpenTelemetry SDK reads the same instruments
/// (<c>AddMeter("RerankSharp.Server")</c>). The meter comes from the server's own <see cref="IMeterFactory"/>, so
/// several servers in one process do not mix. The <c>rerank_*</c> families a one-model server has always had are
/// whole-server totals; the <c>rerank_model_*</c> families carry a <c>model</c> label.
/// </summary>
internal sealed class RerankMetrics : IDisposable
{
    private readonly RerankModelRegistry _models;
    private readonly object _attachGate = new();
    private readonly Dictionary<ServedModel, AttachedModel> _attached = [];
    private readonly InFlightRequests _inFlight;
    private readonly MeterExposition _exposition;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestSeconds;
    private readonly Counter<long> _grpcCalls;
    private readonly Histogram<double> _grpcCallSeconds;
    private readonly Histogram<int> _requestDocuments;
    private readonly Counter<long> _truncatedDocuments;
    private readonly Histogram<int> _batchRows;
    private readonly Histogram<int> _batchCallers;
    private readonly Histogram<long> _batchTokens;
    private readonly Histogram<double> _batchSeconds;
    private readonly Counter<long> _batchesMerged;
    private readonly Counter<long> _modelRequests;
    private readonly Counter<long> _modelDocuments;
    private double _tokensPerSecond;

    public RerankMetrics(RerankModelRegistry models, InFlightRequests inFlight, IMeterFactory meters)
    {
        _models = models;
        _inFlight = inFlight;
        var meter = meters.Create(new MeterOptions(RerankServerTelemetry.MeterName) { Version = typeof(RerankMetrics).Assembly.GetName().Version?.ToString() });
        _exposition = new MeterExposition(meter);
        T Add<T>(T instrument, params string[] labels) where T : Instrument
        {
            _exposition.Add(instrument, labels);
            return instrument;
        }
        static InstrumentAdvice<T> Buckets<T>(params T[] bounds) where T : struct => new() { HistogramBucketBoundaries = bounds };
        static double[] Doubling(double first, int count) => Enumerable.Range(0, count).Select(i => first * Math.Pow(2, i)).ToArray();

        _requests = Add(meter.CreateCounter<long>("rerank.http.requests", "{request}", "HTTP requests by route and status."), "route", "status");
        _requestSeconds = Add(meter.CreateHistogram("rerank.http.request.duration", "s", "Time from the request's arrival to its answer, by route.",
            advice: Buckets(Doubling(0.001, 18))), "route");
        _grpcCalls = Add(meter.CreateCounter<long>("rerank.grpc.requests", "{call}", "gRPC calls by method and status code."), "method", "code");
        _grpcCallSeconds = Add(meter.CreateHistogram("rerank.grpc.request.duration", "s", "Time from a gRPC call's arrival to its answer, by method.",
            advice: Buckets(Doubling(0.001, 18))), "method");
        _requestDocuments = Add(meter.CreateHistogram("rerank.request.documents", "{document}", "Documents per rerank request.",
            advice: Buckets(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)));
        _truncatedDocuments = Add(meter.CreateCounter<long>("rerank.truncated_documents", "{document}", "Documents whose pair was cut to the max length."));
        _batchRows = Add(meter.CreateHistogram("rerank.batch.size", "{pair}", "Pairs per inference batch.",
            advice: Buckets(1, 2, 4, 8, 16, 32, 64, 128)));
        _batchCallers = Add(meter.CreateHistogram("rerank.batch.requests", "{request}",
            "Distinct requests (callers) whose pairs shared an inference batch; above 1 means batching merged requests.", advice: Buckets(1, 2, 3, 4, 6, 8, 16, 32)));
        _batchTokens = Add(meter.CreateHistogram("rerank.batch.tokens", "{token}", "Tokens per inference batch, padding not counted.",
            advice: Buckets(Doubling(16, 12).Select(b => (long)b).ToArray())));
        _batchSeconds = Add(meter.CreateHistogram("rerank.batch.duration", "s", "Time of one inference batch.", advice: Buckets(Doubling(0.0005, 18))));
        _batchesMerged = Add(meter.CreateCounter<long>("rerank.batches_merged", "{batch}", "Inference batches that held pairs of more than one request."));
        Add(meter.CreateObservableGauge("rerank.requests_in_flight", () => _inFlight.Count, "{request}",
            "Scoring requests (HTTP and gRPC) being handled now (429 / RESOURCE_EXHAUSTED beyond --max-concurrent-requests)."));
        Add(meter.CreateObservableGauge("rerank.queue_depth", () => Current().Sum(m => (long)m.Statistics.QueuedSequences), "{pair}", "Pairs waiting in the batching queue."));
        Add(meter.CreateObservableGauge("rerank.queued_tokens", () => Current().Sum(m => m.Statistics.QueuedTokens), "{token}", "Tokens waiting in the batching queue."));
        Add(meter.CreateObservableGauge("rerank.queued_tokens_limit", () => Current().Sum(m => m.Statistics.MaxQueuedTokens), "{token}", "Queued tokens beyond which requests get 429."));
        Add(meter.CreateObservableCounter("rerank.batches", () => Current().Sum(m => m.Statistics.BatchesRun + m.Retired.BatchesRun), "{batch}", "Inference batches run."));
        Add(meter.CreateObservableCounter("rerank.pairs", () => Current().Sum(m => m.Statistics.SequencesRun + m.Retired.SequencesRun), "{pair}", "Query-document pairs scored."));
        Add(meter.CreateObservableCounter("rerank.tokens", () => Current().Sum(m => m.Statistics.TokensRun + m.Retired.TokensRun), "{token}", "Tokens processed (padding not counted)."));
        Add(meter.CreateObservableCounter("rerank.padded_tokens", () => Current().Sum(m => m.Statistics.PaddedTokensRun + m.Retired.PaddedTokensRun), "{token}",
            "Tokens computed including padding (rows × padded length)."));
        _modelRequests = Add(meter.CreateCounter<long>("rerank.model.requests", "{request}", "Scoring requests answered, by served model."), "model");
        _modelDocuments = Add(meter.CreateCounter<long>("rerank.model.documents", "{document}", "Documents scored, by served model."), "model");
        Add(meter.CreateObservableCounter("rerank.model.batches", () => PerModel(m => m.Statistics.BatchesRun + m.Retired.BatchesRun), "{batch}", "Inference batches run, by served model."), "model");
        Add(meter.CreateObservableCounter("rerank.model.pairs", () => PerModel(m => m.Statistics.SequencesRun + m.Retired.SequencesRun), "{pair}",
            "Query-document pairs scored, by served model."), "model");
        Add(meter.CreateObservableCounter("rerank.model.tokens", () => PerModel(m => m.Statistics.TokensRun + m.Retired.TokensRun), "{token}",
            "Tokens processed (padding not counted), by served model."), "model");
        Add(meter.CreateObservableGauge("rerank.model.queued_tokens", () => PerModel(m => m.Statistics.QueuedTokens), "{token}", "Tokens waiting in the model's batching queue."), "model");
        Add(meter.CreateObservableGauge("rerank.model.loaded", () => _models.Models.Select(m => Tagged(m, m.State == ServedModelState.Ready ? 1L : 0L)), null,
            "1 while the model is in memory, 0 while unloaded or failed."), "model");
        Add(meter.CreateObservableCounter("rerank.model.loads", () => _models.Models.Select(m => Tagged(m, m.Loads)), "{load}",
            "Times the model was loaded (more than 1: unloaded and loaded again for the memory budget)."), "model");
        Add(meter.CreateObservableCounter("rerank.model.unloads", () => _models.Models.Select(m => Tagged(m, m.Unloads)), "{unload}",
            "Times the model was unloaded to stay within --max-memory."), "model");
        Add(meter.CreateObservableGauge("rerank.models.memory", () => _models.LoadedBytes, "By", "Weight bytes of the models in memory, as counted against --max-memory."));
        _exposition.Start();

        models.ModelLoaded += Attach;
        models.ModelUnloading += Detach;
        foreach (var model in models.Models)
            if (model.Current is { } reranker) Attach(model, reranker);
    }

    private static Measurement<long> Tagged(ServedModel model, long value) => new(value, new KeyValuePair<string, object?>("model", model.Name));

    private IEnumerable<Measurement<long>> PerModel(Func<(ServedModel Model, QueueStatistics Statistics, QueueStatistics Retired), long> value) =>
        Current().Select(m => Tagged(m.Model, value(m)));

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

    /// <summary>The Prometheus series of this server's instruments, for <c>/metrics</c>.</summary>
    public CollectorRegistry Registry => _exposition.Registry;

    public void RecordRequest(string route, int status, TimeSpan elapsed)
    {
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("status", status));
        _requestSeconds.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("route", route));
    }

    /// <summary>One gRPC call, by its full method name (<c>/tei.v1.Rerank/Rerank</c>) and status code name (<c>OK</c>, <c>InvalidArgument</c>).</summary>
    public void RecordGrpcCall(string method, string code, TimeSpan elapsed)
    {
        _grpcCalls.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", code));
        _grpcCallSeconds.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("method", method));
    }

    public void RecordDocuments(string model, DocumentScores scores)
    {
        var tag = new KeyValuePair<string, object?>("model", model);
        _modelRequests.Add(1, tag);
        _modelDocuments.Add(scores.Scores.Length, tag);
        _requestDocuments.Record(scores.Scores.Length);
        _truncatedDocuments.Add(scores.Truncated.Count(t => t));
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
        _batchRows.Record(report.Rows);
        _batchCallers.Record(report.Callers);
        _batchTokens.Record(report.Tokens);
        _batchSeconds.Record(report.Duration.TotalSeconds);
        if (report.Callers > 1) _batchesMerged.Add(1);
        if (report.Duration > TimeSpan.Zero)
        {
            var rate = report.Tokens / report.Duration.TotalSeconds;
            var previous = Volatile.Read(ref _tokensPerSecond);
            Volatile.Write(ref _tokensPerSecond, previous == 0 ? rate : 0.8 * previous + 0.2 * rate);
        }
    }

    private List<(ServedModel Model, QueueStatistics Statistics, QueueStatistics Retired)> Current()
    {
        // A reranker that loads in the background (a hosted one) has its statistics only once loaded.
        foreach (var model in _models.Models)
            if (model.Current is { } reranker) Attach(model, reranker);
        lock (_attachGate)
            return _attached.Select(a => (a.Key, a.Value.Statistics?.QueueStatistics ?? new QueueStatistics(0, 0, 0, 0, 0, 0, 0), a.Value.Retired)).ToList();
    }

    public void Dispose()
    {
        _exposition.Dispose();
        _models.ModelLoaded -= Attach;
        _models.ModelUnloading -= Detach;
        lock (_attachGate)
            foreach (var attached in _attached.Values)
                if (attached.Statistics is not null) attached.Statistics.BatchCompleted -= attached.Handler;
    }
}
