using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

/// <summary>
/// A reranker whose scores come from <see cref="Score"/> (default: the document's length), recording every call;
/// <see cref="OnRerank"/> replaces the whole call when a test needs a failure or a wait.
/// </summary>
internal sealed class FakeReranker : IReranker
{
    public Func<string, string, float> Score { get; set; } = (_, document) => document.Length;

    public Func<string, IReadOnlyList<string>, RerankOptions?, CancellationToken, Task<IReadOnlyList<RerankResult>>>? OnRerank { get; set; }

    public RerankerMetadata Metadata { get; set; } = new("fake", null, "fake-model");

    public List<(string Query, IReadOnlyList<string> Documents, RerankOptions? Options)> Calls { get; } = [];

    public bool Disposed { get; private set; }

    public Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents, RerankOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        lock (Calls) Calls.Add((query, documents.ToList(), options));
        if (OnRerank is not null) return OnRerank(query, documents, options, cancellationToken);
        var scores = documents.Select(d => Score(query, d)).ToList();
        return Task.FromResult(CrossEncoder.RankScores(scores, documents, options?.TopN));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(RerankerMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => Disposed = true;
}
