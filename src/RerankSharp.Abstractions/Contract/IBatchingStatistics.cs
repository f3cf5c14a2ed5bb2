namespace RerankSharp.Scoring;

/// <summary>
/// What a reranker with a batching queue reports for metrics: the queue now (<see cref="QueueStatistics"/>) and each
/// batch as it completes. Ask with <c>reranker.GetService&lt;IBatchingStatistics&gt;()</c>: middleware passes the
/// question through to the engine it wraps.
/// </summary>
public interface IBatchingStatistics
{
    /// <summary>What waits in the batching queue now and what has run since load.</summary>
    QueueStatistics QueueStatistics { get; }

    /// <summary>
    /// Raised on the worker thread after each inference batch. Handlers must be quick and must not block; an exception
    /// from one is logged and otherwise ignored.
    /// </summary>
    event EventHandler<BatchReport>? BatchCompleted;
}
