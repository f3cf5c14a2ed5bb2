using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RerankSharp.Scoring;

/// <summary>
/// The names RerankSharp's traces and metrics are published under, for an OpenTelemetry SDK (or any
/// <see cref="ActivityListener"/> / <see cref="MeterListener"/>) to subscribe to. The attribute names follow the
/// OpenTelemetry GenAI semantic conventions where one fits (<c>gen_ai.*</c>, <c>server.*</c>, <c>error.type</c>);
/// what is particular to reranking is under <c>rerank.*</c>. docs/dotnet.md lists them all.
/// </summary>
public static class RerankTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> and <see cref="Meter"/> name: <c>AddSource("RerankSharp")</c>, <c>AddMeter("RerankSharp")</c>.</summary>
    public const string SourceName = "RerankSharp";

    /// <summary>The value of <c>gen_ai.operation.name</c> on every span and measurement.</summary>
    public const string OperationName = "rerank";

    /// <summary>Histogram, seconds: one rerank call, end to end, as the caller waited for it.</summary>
    public const string OperationDurationMetric = "gen_ai.client.operation.duration";

    /// <summary>Histogram, documents: how many documents one call ranked.</summary>
    public const string DocumentsMetric = "rerank.client.documents";

    /// <summary>Counter, lookups: score-cache lookups, tagged <c>rerank.cache.hit</c> true or false.</summary>
    public const string CacheLookupsMetric = "rerank.cache.lookups";

    internal static readonly ActivitySource ActivitySource = new(SourceName, typeof(RerankTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Meter Meter = new(SourceName, typeof(RerankTelemetry).Assembly.GetName().Version?.ToString());

    // The GenAI conventions' advice for operation durations: 10 ms doubling to ~82 s.
    internal static readonly Histogram<double> OperationDuration = Meter.CreateHistogram(OperationDurationMetric, "s",
        "Duration of rerank calls.", advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
        });

    internal static readonly Histogram<int> Documents = Meter.CreateHistogram(DocumentsMetric, "{document}",
        "Documents ranked per rerank call.", advice: new InstrumentAdvice<int>
        {
            HistogramBucketBoundaries = [1, 4, 16, 32, 64, 128, 256, 512, 1024],
        });

    internal static readonly Counter<long> CacheLookups = Meter.CreateCounter<long>(CacheLookupsMetric, "{lookup}",
        "Score-cache lookups, one per document, tagged rerank.cache.hit.");

    /// <summary>Attribute names used on spans and measurements.</summary>
    public static class Attributes
    {
        public const string OperationName = "gen_ai.operation.name";
        public const string ProviderName = "gen_ai.provider.name";
        public const string RequestModel = "gen_ai.request.model";
        public const string ServerAddress = "server.address";
        public const string ServerPort = "server.port";
        public const string ErrorType = "error.type";
        public const string RequestDocuments = "rerank.request.documents";
        public const string RequestTopN = "rerank.request.top_n";
        public const string RequestRawScores = "rerank.request.raw_scores";
        public const string RequestQuery = "rerank.request.query";
        public const string ResponseResults = "rerank.response.results";
        public const string ResponseTopScore = "rerank.response.top_score";
        public const string CacheHit = "rerank.cache.hit";
    }
}
