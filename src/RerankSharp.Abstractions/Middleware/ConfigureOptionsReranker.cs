namespace RerankSharp.Scoring;

/// <summary>
/// Middleware that sets per-call options before the inner reranker sees them: an application's defaults (raw scores,
/// a document token cap) applied to every call, whether the caller passed options or not.
/// </summary>
public sealed class ConfigureOptionsReranker : DelegatingReranker
{
    private readonly Func<RerankOptions, RerankOptions> _configure;

    /// <param name="innerReranker">The reranker the configured calls go to.</param>
    /// <param name="configure">Gets the caller's options (a default instance when the caller passed none) and returns the ones to use.</param>
    public ConfigureOptionsReranker(IReranker innerReranker, Func<RerankOptions, RerankOptions> configure) : base(innerReranker)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configure = configure;
    }

    /// <inheritdoc />
    public override Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default) =>
        base.RerankAsync(query, documents, _configure(options ?? new RerankOptions())
            ?? throw new InvalidOperationException("The options callback returned null; return the options to use."), cancellationToken);
}
