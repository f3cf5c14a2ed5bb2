using Microsoft.Extensions.VectorData;
using RerankSharp.Scoring;

namespace RerankSharp.VectorData;

/// <summary>
/// Reranks what a vector search returned: retrieve many candidates cheaply by embedding, then let a cross-encoder
/// read each one with the query and keep the best. <c>collection.SearchAsync(query, 20).RerankAsync(reranker, query, r => r.Record.Text, topN: 5)</c>.
/// </summary>
public static class VectorSearchReranking
{
    /// <summary>
    /// Reads all of <paramref name="results"/>, scores each one's <paramref name="text"/> against <paramref name="query"/>
    /// and returns them best first, cut to <paramref name="topN"/>, each with the reranker's score in place of the
    /// vector search's (equal scores keep the search's order).
    /// </summary>
    public static async Task<IReadOnlyList<VectorSearchResult<TRecord>>> RerankAsync<TRecord>(this IAsyncEnumerable<VectorSearchResult<TRecord>> results,
        IReranker reranker, string query, Func<VectorSearchResult<TRecord>, string> text, int? topN = null, RerankOptions? options = null,
        CancellationToken cancellationToken = default)
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(reranker);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(text);
        var candidates = new List<VectorSearchResult<TRecord>>();
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false)) candidates.Add(result);
        return await candidates.RerankAsync(reranker, query, text, topN, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc cref="RerankAsync{TRecord}(IAsyncEnumerable{VectorSearchResult{TRecord}}, IReranker, string, Func{VectorSearchResult{TRecord}, string}, int?, RerankOptions?, CancellationToken)"/>
    public static async Task<IReadOnlyList<VectorSearchResult<TRecord>>> RerankAsync<TRecord>(this IReadOnlyList<VectorSearchResult<TRecord>> results,
        IReranker reranker, string query, Func<VectorSearchResult<TRecord>, string> text, int? topN = null, RerankOptions? options = null,
        CancellationToken cancellationToken = default)
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(reranker);
        ArgumentNullException.ThrowIfNull(text);
        if (results.Count == 0) return [];
        var documents = new string[results.Count];
        for (var i = 0; i < documents.Length; i++)
            documents[i] = text(results[i]) ?? throw new RerankException(RerankErrorKind.InvalidInput,
                $"The text selector returned null for search result {i}; return the text to rank (an empty string if it has none).");
        var callOptions = topN is null ? options : (options ?? new RerankOptions()) with { TopN = topN };
        var ranked = await reranker.RerankAsync(query, documents, callOptions, cancellationToken).ConfigureAwait(false);
        return ranked.Select(r => new VectorSearchResult<TRecord>(results[r.Index].Record, r.Score)).ToList();
    }
}
