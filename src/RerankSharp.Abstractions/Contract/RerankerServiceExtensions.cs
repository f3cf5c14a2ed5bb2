namespace RerankSharp.Scoring;

/// <summary>Typed access to <see cref="IReranker.GetService"/>.</summary>
public static class RerankerServiceExtensions
{
    /// <summary>The <typeparamref name="TService"/> the reranker (or one it wraps) holds, or null.</summary>
    public static TService? GetService<TService>(this IReranker reranker, object? serviceKey = null) where TService : class
    {
        ArgumentNullException.ThrowIfNull(reranker);
        return reranker.GetService(typeof(TService), serviceKey) as TService;
    }
}
