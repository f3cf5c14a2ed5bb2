using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class XlmRobertaTemplateTests
{
    private static readonly XlmRobertaTemplate Template = new(bosId: 0, eosId: 2);

    [Fact]
    public void SingleIsBosTextEos()
    {
        Assert.Equal([0, 10, 11, 2], Template.Single([10, 11]));
        Assert.Equal([0, 2], Template.Single([]));
    }

    [Fact]
    public void PairIsBosQueryEosEosDocumentEos()
    {
        Assert.Equal([0, 10, 2, 2, 20, 21, 2], Template.Pair([10], [20, 21]));
        Assert.Equal([0, 2, 2, 2], Template.Pair([], []));
    }
}
