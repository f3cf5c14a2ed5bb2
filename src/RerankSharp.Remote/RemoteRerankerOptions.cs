namespace RerankSharp.Remote;

/// <summary>Where a <see cref="RemoteReranker"/> sends its requests and how it cuts them.</summary>
public sealed record RemoteRerankerOptions
{
    /// <summary>The server's base address (scheme, host, port, and any path prefix), e.g. <c>http://reranker:8080</c>.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The API the server speaks; default: <c>rerank serve</c>'s.</summary>
    public RerankApi Api { get; init; } = RerankApi.RerankSharp;

    /// <summary>The model name sent with each request (required by Cohere v2 and Jina; others serve one model).</summary>
    public string? Model { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer …</c>; null sends none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Most documents in one request; longer lists are split and the replies merged in order. Null: the API's own limit
    /// (TEI 32, RerankSharp and Cohere 1,000, Infinity 2,048, none for the rest).
    /// </summary>
    public int? MaxDocumentsPerRequest { get; init; }

    /// <summary>Split requests of one call in flight at once.</summary>
    public int MaxParallelRequests { get; init; } = 4;

    /// <summary>The route, when the server is not at the API's usual one (e.g. <c>/rerank</c> on vLLM).</summary>
    public string? Path { get; init; }

    internal void Validate()
    {
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Endpoint {Endpoint} is not an http(s) address; give the server's base address, e.g. http://localhost:8080.");
        if (MaxDocumentsPerRequest is < 1)
            throw new RerankException(RerankErrorKind.InvalidInput, $"MaxDocumentsPerRequest {MaxDocumentsPerRequest} must be at least 1.");
        if (MaxParallelRequests < 1)
            throw new RerankException(RerankErrorKind.InvalidInput, $"MaxParallelRequests {MaxParallelRequests} must be at least 1.");
        if (!Enum.IsDefined(Api))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Api {Api} is not one of {string.Join(", ", Enum.GetNames<RerankApi>())}.");
    }
}
