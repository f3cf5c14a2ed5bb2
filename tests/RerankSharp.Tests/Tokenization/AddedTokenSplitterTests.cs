using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class AddedTokenSplitterTests
{
    private static readonly AddedTokenSplitter Splitter = new(
    [
        new AddedToken("<s>", 0, false, false),
        new AddedToken("<pad>", 1, false, false),
        new AddedToken("</s>", 2, false, false),
        new AddedToken("<unk>", 3, false, false),
        new AddedToken("<mask>", 9, LStrip: true, RStrip: false),
    ]);

    [Fact]
    public void SplitsLiteralSpecialsOutOfTheRawText()
    {
        Assert.Equal(
            [("a ", -1), ("<s>", 0), (" b", -1), ("</s>", 2)],
            StageHarness.Split(Splitter, "a <s> b</s>"));
    }

    [Fact]
    public void MaskSwallowsWhitespaceOnItsLeftOnly()
    {
        Assert.Equal(
            [("hello", -1), ("   <mask>", 9), (" world", -1)],
            StageHarness.Split(Splitter, "hello   <mask> world"));
    }

    [Fact]
    public void LStripNeverReachesIntoThePreviousMatch()
    {
        Assert.Equal([("<s>", 0), (" <mask>", 9)], StageHarness.Split(Splitter, "<s> <mask>"));
    }

    [Theory]
    [InlineData("<s >")]
    [InlineData("< s>")]
    [InlineData("<S>")]
    [InlineData("＜s＞")]   // full-width: not a literal match (the Unigram model still sees "<s>" after NFKC)
    public void NearMissesStayText(string text)
    {
        Assert.Equal([(text, -1)], StageHarness.Split(Splitter, text));
    }

    [Fact]
    public void AdjacentSpecialsAreSeparateMatches()
    {
        Assert.Equal([("<s>", 0), ("<s>", 0), ("<<", -1), ("<unk>", 3), (">", -1)], StageHarness.Split(Splitter, "<s><s><<<unk>>"));
    }

    [Fact]
    public void EmptyTextGivesNoSegments()
    {
        Assert.Empty(StageHarness.Split(Splitter, ""));
    }
}
