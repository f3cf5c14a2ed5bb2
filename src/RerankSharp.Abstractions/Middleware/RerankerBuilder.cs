namespace RerankSharp.Scoring;

/// <summary>
/// Builds a reranker pipeline: an inner reranker (a <c>CrossEncoder</c>, a remote one) wrapped by middleware added
/// with <c>Use…</c>. The first middleware added is the outermost: it sees a call first and its result last.
/// </summary>
/// <example>
/// <code>
/// IReranker reranker = encoder.AsBuilder().UseLogging(loggerFactory).UseOpenTelemetry().UseScoreCache(10_000).Build();
/// </code>
/// </example>
public sealed class RerankerBuilder
{
    private readonly Func<IServiceProvider, IReranker> _innerFactory;
    private readonly List<Func<IReranker, IServiceProvider, IReranker>> _factories = [];

    public RerankerBuilder(IReranker innerReranker)
    {
        ArgumentNullException.ThrowIfNull(innerReranker);
        _innerFactory = _ => innerReranker;
    }

    /// <summary>A pipeline whose inner reranker is made from the services it is built with (dependency injection).</summary>
    public RerankerBuilder(Func<IServiceProvider, IReranker> innerRerankerFactory)
    {
        ArgumentNullException.ThrowIfNull(innerRerankerFactory);
        _innerFactory = innerRerankerFactory;
    }

    /// <summary>Adds a middleware: inside the ones added before it, outside the ones added after.</summary>
    public RerankerBuilder Use(Func<IReranker, IReranker> rerankerFactory)
    {
        ArgumentNullException.ThrowIfNull(rerankerFactory);
        return Use((inner, _) => rerankerFactory(inner));
    }

    /// <summary>Adds a middleware that takes what it needs (a logger factory, options) from the pipeline's services.</summary>
    public RerankerBuilder Use(Func<IReranker, IServiceProvider, IReranker> rerankerFactory)
    {
        ArgumentNullException.ThrowIfNull(rerankerFactory);
        _factories.Add(rerankerFactory);
        return this;
    }

    /// <summary>Makes the pipeline; <paramref name="services"/> feeds factories that ask for services (none: an empty provider).</summary>
    public IReranker Build(IServiceProvider? services = null)
    {
        services ??= EmptyServiceProvider.Instance;
        var reranker = _innerFactory(services);
        // Applied from the last added inward-out, so the first added ends up outermost.
        for (var i = _factories.Count - 1; i >= 0; i--)
            reranker = _factories[i](reranker, services)
                ?? throw new InvalidOperationException($"Middleware factory {i} of the {nameof(RerankerBuilder)} returned null; it must return a reranker.");
        return reranker;
    }

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
