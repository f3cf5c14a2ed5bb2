namespace RerankSharp.Scoring;

/// <summary>
/// What a reranker is, for telemetry and cache keys: ask for it with <c>reranker.GetService&lt;RerankerMetadata&gt;()</c>.
/// </summary>
/// <param name="ProviderName">Who computes the scores, e.g. <c>rerank_sharp</c> in-process or the remote API's name (<c>tei</c>, <c>cohere</c>…).</param>
/// <param name="ProviderUri">The server called, or null in-process.</param>
/// <param name="ModelId">The model that scores: a hub id, a folder name or the remote model name; null when the server decides.</param>
public sealed record RerankerMetadata(string ProviderName, Uri? ProviderUri = null, string? ModelId = null)
{
    /// <summary>
    /// The reranker scores each document against the others of the call (a listwise model, jina-reranker-v3): a
    /// document's score is not a function of (query, document) alone, so it cannot be cached or compared across calls.
    /// </summary>
    public bool Listwise { get; init; }

    /// <summary>The provider name of a <c>CrossEncoder</c> scoring in this process.</summary>
    public const string InProcessProvider = "rerank_sharp";
}
