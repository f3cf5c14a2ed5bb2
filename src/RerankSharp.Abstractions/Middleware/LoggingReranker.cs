using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace RerankSharp.Scoring;

/// <summary>
/// Middleware that logs each call: at Debug what was asked and how long it took, at Trace also the query and the
/// ranking, failures at Error. Texts reach the log only at Trace, which production configurations leave off.
/// </summary>
public sealed partial class LoggingReranker : DelegatingReranker
{
    private readonly ILogger _logger;

    public LoggingReranker(IReranker innerReranker, ILogger logger) : base(innerReranker)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (_logger.IsEnabled(LogLevel.Trace)) LogInvokedSensitive(documents.Count, options?.TopN, query);
        else LogInvoked(documents.Count, options?.TopN);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var results = await base.RerankAsync(query, documents, options, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (_logger.IsEnabled(LogLevel.Trace))
                LogCompletedSensitive(elapsed, results.Count, string.Join(", ", results.Select(r => $"#{r.Index} {r.Score:G6}")));
            else LogCompleted(elapsed, results.Count, results.Count > 0 ? results[0].Score : null);
            return results;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCanceled(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
        catch (Exception e)
        {
            LogFailed(e, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    [LoggerMessage(LogLevel.Debug, "RerankAsync invoked: {DocumentCount} documents, top_n {TopN}.")]
    private partial void LogInvoked(int documentCount, int? topN);

    [LoggerMessage(LogLevel.Trace, "RerankAsync invoked: {DocumentCount} documents, top_n {TopN}, query {Query}.")]
    private partial void LogInvokedSensitive(int documentCount, int? topN, string query);

    [LoggerMessage(LogLevel.Debug, "RerankAsync completed in {ElapsedMilliseconds:F1} ms: {ResultCount} results, best score {BestScore}.")]
    private partial void LogCompleted(double elapsedMilliseconds, int resultCount, float? bestScore);

    [LoggerMessage(LogLevel.Trace, "RerankAsync completed in {ElapsedMilliseconds:F1} ms: {ResultCount} results: {Ranking}.")]
    private partial void LogCompletedSensitive(double elapsedMilliseconds, int resultCount, string ranking);

    [LoggerMessage(LogLevel.Debug, "RerankAsync canceled after {ElapsedMilliseconds:F1} ms.")]
    private partial void LogCanceled(double elapsedMilliseconds);

    [LoggerMessage(LogLevel.Error, "RerankAsync failed after {ElapsedMilliseconds:F1} ms.")]
    private partial void LogFailed(Exception exception, double elapsedMilliseconds);
}
