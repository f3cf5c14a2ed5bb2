namespace RerankSharp.Hosting;

/// <summary>Where a hosted reranker is in its life: what the health check reports.</summary>
public enum RerankerState
{
    /// <summary>Nothing asked for the model yet (the host has not started).</summary>
    NotStarted,
    /// <summary>The model is being downloaded or loaded.</summary>
    Loading,
    /// <summary>Calls are answered.</summary>
    Ready,
    /// <summary>The model failed to load; calls fail with the same error.</summary>
    Failed,
}

/// <summary>The state of a registered reranker and a description of it, for <see cref="RerankerHealthCheck"/>.</summary>
internal interface IRerankerReadiness
{
    Task<(RerankerState State, string Description, Exception? Error)> CheckAsync(CancellationToken cancellationToken);
}
