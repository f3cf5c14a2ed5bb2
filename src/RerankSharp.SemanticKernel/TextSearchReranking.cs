using Microsoft.SemanticKernel.Data;
using RerankSharp.Scoring;

namespace RerankSharp.SemanticKernel;

/// <summary>
/// Reranks Semantic Kernel text search results: <c>(await search.GetTextSearchResultsAsync(query, new() { Top = 20 })).RerankAsync(reranker, query, topN: 5)</c>,
/// or the whole search wrapped with <see cref="WithReranker{TRecord}"/> so a plugin made from it gets reranked results.
/// </summary>
public static class TextSearchReranking
{
    /// <summary>
    /// Reads all of <paramref name="results"/>, scores each <see cref="TextSearchResult.Value"/> against <paramref name="query"/>,
    /// and returns them best first, cut to <paramref name="topN"/>. <c>TotalCount</c> and <c>Metadata</c> are kept.
    /// </summary>
    public static async Task<KernelSearchResults<TextSearchResult>> RerankAsync(this KernelSearchResults<TextSearchResult> results, IReranker reranker,
        string query, int? topN = null, RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(results);
        var ranked = await RankAsync(results.Results, r => r.Value, reranker, query, topN, options, cancellationToken).ConfigureAwait(false);
        return new KernelSearchResults<TextSearchResult>(ranked.ToAsyncEnumerable(), results.TotalCount, results.Metadata);
    }

    /// <summary>As for <see cref="TextSearchResult"/>s, for the plain strings of <c>ITextSearch.SearchAsync</c>.</summary>
    public static async Task<KernelSearchResults<string>> RerankAsync(this KernelSearchResults<string> results, IReranker reranker,
        string query, int? topN = null, RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(results);
        var ranked = await RankAsync(results.Results, r => r, reranker, query, topN, options, cancellationToken).ConfigureAwait(false);
        return new KernelSearchResults<string>(ranked.ToAsyncEnumerable(), results.TotalCount, results.Metadata);
    }

    /// <summary>
    /// A text search that asks <paramref name="search"/> for <paramref name="candidates"/> results and returns the best
    /// <c>Top</c> of them by <paramref name="reranker"/>. <paramref name="recordText"/> gives the text of a raw record, for
    /// <c>GetSearchResultsAsync</c>; without it, records must be strings or <see cref="TextSearchResult"/>s.
    /// </summary>
    public static ITextSearch<TRecord> WithReranker<TRecord>(this ITextSearch<TRecord> search, IReranker reranker, int candidates = 20,
        Func<TRecord, string>? recordText = null)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentNullException.ThrowIfNull(reranker);
        ArgumentOutOfRangeException.ThrowIfLessThan(candidates, 1);
        return new RerankingTextSearch<TRecord>(search, reranker, candidates, recordText);
    }

    internal static async Task<IReadOnlyList<T>> RankAsync<T>(IAsyncEnumerable<T> results, Func<T, string?> text, IReranker reranker,
        string query, int? topN, RerankOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reranker);
        ArgumentNullException.ThrowIfNull(query);
        var candidates = new List<T>();
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false)) candidates.Add(result);
        if (candidates.Count == 0) return [];
        var documents = candidates.Select((c, i) => text(c) ?? throw new RerankException(RerankErrorKind.InvalidInput,
            $"Search result {i} has no text to rank; give the search a string mapper that returns one.")).ToList();
        var callOptions = topN is null ? options : (options ?? new RerankOptions()) with { TopN = topN };
        var ranked = await reranker.RerankAsync(query, documents, callOptions, cancellationToken).ConfigureAwait(false);
        return ranked.Select(r => candidates[r.Index]).ToList();
    }
}

/// <summary>The search <see cref="TextSearchReranking.WithReranker{TRecord}"/> makes.</summary>
internal sealed class RerankingTextSearch<TRecord>(ITextSearch<TRecord> inner, IReranker reranker, int candidates, Func<TRecord, string>? recordText)
    : ITextSearch<TRecord>
{
    public async Task<KernelSearchResults<string>> SearchAsync(string query, TextSearchOptions<TRecord>? searchOptions = null, CancellationToken cancellationToken = default)
    {
        var (wide, top) = Widen(searchOptions);
        var found = await inner.SearchAsync(query, wide, cancellationToken).ConfigureAwait(false);
        return await found.RerankAsync(reranker, query, top, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<KernelSearchResults<TextSearchResult>> GetTextSearchResultsAsync(string query, TextSearchOptions<TRecord>? searchOptions = null,
        CancellationToken cancellationToken = default)
    {
        var (wide, top) = Widen(searchOptions);
        var found = await inner.GetTextSearchResultsAsync(query, wide, cancellationToken).ConfigureAwait(false);
        return await found.RerankAsync(reranker, query, top, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<KernelSearchResults<TRecord>> GetSearchResultsAsync(string query, TextSearchOptions<TRecord>? searchOptions = null,
        CancellationToken cancellationToken = default)
    {
        var (wide, top) = Widen(searchOptions);
        var found = await inner.GetSearchResultsAsync(query, wide, cancellationToken).ConfigureAwait(false);
        var text = recordText ?? (record => record switch
        {
            string s => s,
            TextSearchResult r => r.Value,
            _ => throw new RerankException(RerankErrorKind.InvalidInput,
                $"A search result of type {typeof(TRecord).Name} has no known text; pass recordText to WithReranker to say where it is."),
        });
        var ranked = await TextSearchReranking.RankAsync(found.Results, text, reranker, query, top, null, cancellationToken).ConfigureAwait(false);
        return new KernelSearchResults<TRecord>(ranked.ToAsyncEnumerable(), found.TotalCount, found.Metadata);
    }

    // Ask the inner search for the candidates, keep the caller's Top for the reranked answer.
    private (TextSearchOptions<TRecord> Wide, int Top) Widen(TextSearchOptions<TRecord>? options)
    {
        options ??= new TextSearchOptions<TRecord>();
        var wide = new TextSearchOptions<TRecord>
        {
            Top = Math.Max(candidates, options.Top),
            Skip = options.Skip,
            Filter = options.Filter,
            IncludeTotalCount = options.IncludeTotalCount,
        };
        return (wide, options.Top);
    }
}
