namespace RerankSharp.Scoring;

/// <summary>Scores documents against a query and returns them best first.</summary>
/// <remarks>
/// Implementations are thread-safe: many callers may rerank at once, and their pairs are batched together.
/// Middleware (logging, telemetry, a score cache) wraps an implementation through <see cref="RerankerBuilder"/>.
/// </remarks>
public interface IReranker : IDisposable
{
    Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// An object of <paramref name="serviceType"/> this reranker or one it wraps holds — its <see cref="RerankerMetadata"/>,
    /// the <c>CrossEncoder</c> under a middleware chain — or null. Microsoft.Extensions.AI's <c>GetService</c> pattern.
    /// </summary>
    object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }
}
