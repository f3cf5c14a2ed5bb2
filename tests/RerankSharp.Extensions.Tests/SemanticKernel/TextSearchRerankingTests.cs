using Microsoft.SemanticKernel.Data;
using RerankSharp.Extensions.Tests.VectorData;
using RerankSharp.SemanticKernel;

namespace RerankSharp.Extensions.Tests.SemanticKernel;

public class TextSearchRerankingTests
{
    private sealed class ListSearch(params string[] texts) : ITextSearch<string>
    {
        public List<TextSearchOptions<string>?> Asked { get; } = [];

        private KernelSearchResults<T> Results<T>(TextSearchOptions<string>? options, Func<string, T> map)
        {
            Asked.Add(options);
            var top = options?.Top ?? 5;
            return new KernelSearchResults<T>(texts.Take(top).Select(map).ToAsyncEnumerable(), texts.Length, new Dictionary<string, object?> { ["source"] = "list" });
        }

        public Task<KernelSearchResults<string>> SearchAsync(string query, TextSearchOptions<string>? searchOptions = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(Results(searchOptions, t => t));

        public Task<KernelSearchResults<TextSearchResult>> GetTextSearchResultsAsync(string query, TextSearchOptions<string>? searchOptions = null,
            CancellationToken cancellationToken = default) =>
            Task.FromResult(Results(searchOptions, t => new TextSearchResult(t) { Name = $"doc {t.Length}" }));

        public Task<KernelSearchResults<string>> GetSearchResultsAsync(string query, TextSearchOptions<string>? searchOptions = null,
            CancellationToken cancellationToken = default) =>
            Task.FromResult(Results(searchOptions, t => t));
    }

    private static async Task<List<T>> ListAsync<T>(KernelSearchResults<T> results)
    {
        var list = new List<T>();
        await foreach (var r in results.Results) list.Add(r);
        return list;
    }

    [Fact]
    public async Task Text_search_results_are_reordered_by_the_reranker_keeping_count_and_metadata()
    {
        var search = new ListSearch("bb", "dddd", "a", "ccc");
        var found = await search.GetTextSearchResultsAsync("q", new TextSearchOptions<string> { Top = 4 });

        var reranked = await found.RerankAsync(new VectorSearchRerankingTests.LengthReranker(), "q", topN: 3);

        Assert.Equal(["dddd", "ccc", "bb"], (await ListAsync(reranked)).Select(r => r.Value));
        Assert.Equal("doc 4", (await ListAsync(reranked))[0].Name);
        Assert.Equal(4, reranked.TotalCount);
        Assert.Equal("list", reranked.Metadata!["source"]);
    }

    [Fact]
    public async Task A_search_with_a_reranker_asks_for_the_candidates_and_returns_the_best_top()
    {
        var inner = new ListSearch("bb", "dddd", "a", "ccc", "eeeee", "f");
        var search = inner.WithReranker(new VectorSearchRerankingTests.LengthReranker(), candidates: 6);

        var strings = await search.SearchAsync("q", new TextSearchOptions<string> { Top = 2 });
        var records = await search.GetSearchResultsAsync("q", new TextSearchOptions<string> { Top = 1 });
        var results = await search.GetTextSearchResultsAsync("q");

        Assert.Equal(["eeeee", "dddd"], await ListAsync(strings));
        Assert.Equal(["eeeee"], await ListAsync(records));
        Assert.Equal(5, (await ListAsync(results)).Count);   // SK's default Top, out of 6 candidates
        Assert.All(inner.Asked, o => Assert.Equal(6, o!.Top));
    }
}
