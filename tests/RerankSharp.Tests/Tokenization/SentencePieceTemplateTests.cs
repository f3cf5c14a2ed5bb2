using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class SentencePieceTemplateTests
{
    private static readonly SentencePieceTemplate XlmRoberta = SentencePieceTemplate.XlmRoberta(bosId: 0, eosId: 2);
    private static readonly SentencePieceTemplate Deberta = SentencePieceTemplate.DebertaV2(clsId: 1, sepId: 2);

    [Fact]
    public void SingleIsBosTextEos()
    {
        Assert.Equal([0, 10, 11, 2], XlmRoberta.Single([10, 11]));
        Assert.Equal([0, 2], XlmRoberta.Single([]));
        Assert.Equal([1, 10, 11, 2], Deberta.Single([10, 11]));
    }

    [Fact]
    public void PairIsBosQueryEosEosDocumentEos()
    {
        Assert.Equal([0, 10, 2, 2, 20, 21, 2], XlmRoberta.Pair([10], [20, 21]));
        Assert.Equal([0, 2, 2, 2], XlmRoberta.Pair([], []));
        Assert.Equal(4, XlmRoberta.PairSpecialTokens);
        Assert.False(XlmRoberta.SecondSegment);
    }

    [Fact]
    public void DebertaPairIsClsQuerySepDocumentSepWithTheDocumentInSegmentOne()
    {
        Assert.Equal([1, 10, 2, 20, 21, 2], Deberta.Pair([10], [20, 21]));
        Assert.Equal([1, 2, 2], Deberta.Pair([], []));
        Assert.Equal(3, Deberta.PairSpecialTokens);
        Assert.True(Deberta.SecondSegment);
    }
}
