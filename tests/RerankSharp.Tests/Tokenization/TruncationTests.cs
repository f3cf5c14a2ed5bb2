using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class TruncationTests
{
    [Theory]
    [InlineData(3, 4, 10, 3, 4)]     // fits: untouched
    [InlineData(3, 20, 10, 3, 7)]    // short query kept whole, document takes the rest
    [InlineData(20, 3, 10, 7, 3)]    // and the other way round
    [InlineData(20, 20, 10, 5, 5)]
    [InlineData(20, 20, 9, 4, 5)]    // equal lengths: the document keeps the odd token
    [InlineData(30, 20, 9, 5, 4)]    // both cut: the longer sequence keeps the odd token
    [InlineData(20, 30, 9, 4, 5)]
    [InlineData(6, 30, 9, 4, 5)]     // query longer than half: cut to half too
    [InlineData(5, 30, 9, 4, 5)]
    [InlineData(4, 30, 9, 4, 5)]
    [InlineData(0, 30, 9, 0, 9)]
    [InlineData(20, 20, 0, 0, 0)]    // no budget: both emptied
    public void LongestFirstFollowsTheClassicRule(int query, int document, int budget, int keptQuery, int keptDocument)
    {
        Assert.Equal((keptQuery, keptDocument), Truncation.Pair(query, document, budget, TruncationStrategy.LongestFirst, budget + 4));
    }

    [Theory]
    [InlineData(3, 20, 10, 3, 7)]
    [InlineData(3, 4, 10, 3, 4)]
    [InlineData(9, 2, 10, 9, 1)]
    [InlineData(20, 20, 0, 0, 0)]    // an empty budget empties both before the strategy is consulted
    public void OnlySecondCutsTheDocument(int query, int document, int budget, int keptQuery, int keptDocument)
    {
        Assert.Equal((keptQuery, keptDocument), Truncation.Pair(query, document, budget, TruncationStrategy.OnlySecond, budget + 4));
    }

    [Theory]
    [InlineData(10, 2, 10)]          // the document would have to vanish entirely: HF refuses
    [InlineData(12, 5, 10)]
    [InlineData(10, 0, 5)]
    public void OnlySecondFailsWhenTheDocumentCannotAbsorbTheCut(int query, int document, int budget)
    {
        var e = Assert.Throws<RerankException>(() => Truncation.Pair(query, document, budget, TruncationStrategy.OnlySecond, budget + 4));
        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
        Assert.Contains($"query is {query} tokens", e.Message);
        Assert.Contains($"max_length {budget + 4}", e.Message);
        Assert.Contains("use longest_first truncation or a larger max length", e.Message);
    }

    [Theory]
    [InlineData(5, 10, 5)]
    [InlineData(15, 10, 10)]
    [InlineData(15, 0, 0)]
    public void SingleKeepsTheBudget(int length, int budget, int kept)
    {
        Assert.Equal(kept, Truncation.Single(length, budget));
    }
}
