namespace RerankSharp.Scoring;

/// <summary>
/// A reranker that passes every call to an inner one: the base of middleware added with <see cref="RerankerBuilder.Use(Func{IReranker, IReranker})"/>.
/// Override what the middleware changes; the rest goes through untouched.
/// </summary>
/// <remarks>Disposing it disposes the inner reranker, so disposing the outermost one of a pipeline releases the model.</remarks>
public abstract class DelegatingReranker : IReranker
{
    protected DelegatingReranker(IReranker innerReranker)
    {
        ArgumentNullException.ThrowIfNull(innerReranker);
        InnerReranker = innerReranker;
    }

    /// <summary>The reranker calls are passed to.</summary>
    protected IReranker InnerReranker { get; }

    /// <inheritdoc />
    public virtual Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default) =>
        InnerReranker.RerankAsync(query, documents, options, cancellationToken);

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : InnerReranker.GetService(serviceType, serviceKey);
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) InnerReranker.Dispose();
    }
}
