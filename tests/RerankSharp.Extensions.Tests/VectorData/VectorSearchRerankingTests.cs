using Microsoft.Extensions.VectorData;
using RerankSharp.Scoring;
using RerankSharp.VectorData;

namespace RerankSharp.Extensions.Tests.VectorData;

public class VectorSearchRerankingTests
{
    private sealed record Doc(string Text);

    /// <summary>Scores a document by its length and records what it was asked.</summary>
    internal sealed class LengthReranker : IReranker
    {
        public List<(IReadOnlyList<string> Documents, RerankOptions? Options)> Calls { get; } = [];

        public Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents, RerankOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Calls.Add((documents, options));
            return Task.FromResult(CrossEncoder.RankScores(documents.Select(d => (float)d.Length).ToList(), documents, options?.TopN));
        }

        public void Dispose()
        {
        }
    }

    private static async IAsyncEnumerable<VectorSearchResult<Doc>> Search(params string[] texts)
    {
        for (var i = 0; i < texts.Length; i++)
        {
            await Task.Yield();
            yield return new VectorSearchResult<Doc>(new Doc(texts[i]), 1.0 - i * 0.1);
        }
    }

    [Fact]
    public async Task Search_results_come_back_best_first_by_the_reranker_with_its_scores_cut_to_top_n()
    {
        var reranker = new LengthReranker();

        var results = await Search("bb", "dddd", "a", "ccc").RerankAsync(reranker, "q", r => r.Record.Text, topN: 2);

        Assert.Equal(["dddd", "ccc"], results.Select(r => r.Record.Text));
        Assert.Equal([4.0, 3.0], results.Select(r => r.Score));
        Assert.Equal(2, reranker.Calls.Single().Options!.TopN);
    }

    [Fact]
    public async Task Options_pass_through_and_no_results_make_no_call()
    {
        var reranker = new LengthReranker();

        var none = await Search().RerankAsync(reranker, "q", r => r.Record.Text);
        await Search("a").RerankAsync(reranker, "q", r => r.Record.Text, options: new RerankOptions { RawScores = true });

        Assert.Empty(none);
        Assert.True(reranker.Calls.Single().Options!.RawScores);
    }

    [Fact]
    public async Task A_null_text_is_refused_and_cancellation_stops_the_call()
    {
        var reranker = new LengthReranker();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var error = await Assert.ThrowsAsync<RerankException>(() => Search("a").RerankAsync(reranker, "q", _ => null!));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Search("a").RerankAsync(reranker, "q", r => r.Record.Text, cancellationToken: cancelled.Token));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Empty(reranker.Calls);
    }
}
