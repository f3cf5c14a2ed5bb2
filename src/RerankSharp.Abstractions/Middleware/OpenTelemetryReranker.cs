using System.Diagnostics;

namespace RerankSharp.Scoring;

/// <summary>
/// Middleware that traces each call as a span of <see cref="RerankTelemetry.SourceName"/> and records its duration and
/// document count as metrics, under the names in <see cref="RerankTelemetry"/>. It costs next to nothing while nobody
/// listens, and needs no OpenTelemetry package: the SDK subscribes to the source and meter by name.
/// </summary>
public sealed class OpenTelemetryReranker : DelegatingReranker
{
    private readonly RerankerMetadata? _metadata;

    public OpenTelemetryReranker(IReranker innerReranker) : base(innerReranker) =>
        _metadata = innerReranker.GetService<RerankerMetadata>();

    /// <summary>
    /// Put the query text on the span as <c>rerank.request.query</c>. Off by default: queries can carry personal data.
    /// </summary>
    public bool EnableSensitiveData { get; set; }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var model = _metadata?.ModelId;
        var provider = _metadata?.ProviderName;
        var remote = _metadata?.ProviderUri;
        using var activity = RerankTelemetry.ActivitySource.StartActivity(model is null ? RerankTelemetry.OperationName : $"{RerankTelemetry.OperationName} {model}",
            remote is null ? ActivityKind.Internal : ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(RerankTelemetry.Attributes.OperationName, RerankTelemetry.OperationName);
            activity.SetTag(RerankTelemetry.Attributes.ProviderName, provider);
            activity.SetTag(RerankTelemetry.Attributes.RequestModel, model);
            if (remote is not null)
            {
                activity.SetTag(RerankTelemetry.Attributes.ServerAddress, remote.Host);
                activity.SetTag(RerankTelemetry.Attributes.ServerPort, remote.Port);
            }
            activity.SetTag(RerankTelemetry.Attributes.RequestDocuments, documents.Count);
            if (options?.TopN is { } topN) activity.SetTag(RerankTelemetry.Attributes.RequestTopN, topN);
            if (options?.RawScores == true) activity.SetTag(RerankTelemetry.Attributes.RequestRawScores, true);
            if (EnableSensitiveData) activity.SetTag(RerankTelemetry.Attributes.RequestQuery, query);
        }

        var started = Stopwatch.GetTimestamp();
        string? errorType = null;
        try
        {
            var results = await base.RerankAsync(query, documents, options, cancellationToken).ConfigureAwait(false);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag(RerankTelemetry.Attributes.ResponseResults, results.Count);
                if (results.Count > 0) activity.SetTag(RerankTelemetry.Attributes.ResponseTopScore, results[0].Score);
            }
            return results;
        }
        catch (Exception e)
        {
            // The error kind is what a dashboard groups on; the exception type only when it is not ours.
            errorType = e switch
            {
                RerankException r => r.Kind.ToString(),
                OperationCanceledException => "canceled",
                _ => e.GetType().FullName,
            };
            activity?.SetTag(RerankTelemetry.Attributes.ErrorType, errorType);
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
        finally
        {
            var tags = new TagList
            {
                { RerankTelemetry.Attributes.OperationName, RerankTelemetry.OperationName },
                { RerankTelemetry.Attributes.ProviderName, provider },
                { RerankTelemetry.Attributes.RequestModel, model },
            };
            if (remote is not null)
            {
                tags.Add(RerankTelemetry.Attributes.ServerAddress, remote.Host);
                tags.Add(RerankTelemetry.Attributes.ServerPort, remote.Port);
            }
            if (errorType is not null) tags.Add(RerankTelemetry.Attributes.ErrorType, errorType);
            if (RerankTelemetry.OperationDuration.Enabled)
                RerankTelemetry.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            if (RerankTelemetry.Documents.Enabled) RerankTelemetry.Documents.Record(documents.Count, tags);
        }
    }
}
