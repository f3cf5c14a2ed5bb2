namespace RerankSharp.Tests.Tokenization;

public sealed class XlmRobertaNormalizerTests
{
    [Theory]
    [InlineData("ＡＢＣ１２３", "ABC123")]           // full-width forms (NFKC)
    [InlineData("ﬁnancial", "financial")]           // ligature
    [InlineData("①", "1")]
    [InlineData("cafe\u0301", "caf\u00e9")]         // 3-byte cluster composed as a whole
    [InlineData("\u3000", " ")]                     // ideographic space
    [InlineData("a\u00a0b", "a b")]                 // NBSP
    public void AppliesTheCharsmapFromTheModel(string input, string expected)
    {
        Assert.Equal(expected, StageHarness.Normalize(input));
    }

    [Theory]
    [InlineData("x\u0001y", "xy")]
    [InlineData("x\u007fy", "xy")]
    [InlineData("x\u009fy", "xy")]
    public void DeletesControlCharacters(string input, string expected)
    {
        Assert.Equal(expected, StageHarness.Normalize(input));
    }

    [Fact]
    public void KeepsNulBecauseTheCharsmapStopsAtZeroBytes()
    {
        Assert.Equal("x\0y", StageHarness.Normalize("x\0y"));
    }

    [Fact]
    public void ClusterUnderSixBytesTakesTheShortestMatchingPrefixAndDropsTheRest()
    {
        // "Ａ" + U+0301 is one 5-byte cluster; HF maps the whole cluster by its first matching key "Ａ" → "A".
        Assert.Equal("A", StageHarness.Normalize("\uff21\u0301"));
        Assert.Equal("\u00e4", StageHarness.Normalize("a\u0308\u0301"));
    }

    [Fact]
    public void ClusterOfSixBytesOrMoreIsNormalisedCharByChar()
    {
        // Half-width ka + half-width voiced mark: 6 bytes, so each is mapped alone and they are not composed.
        Assert.Equal("\u30ab\u3099", StageHarness.Normalize("\uff76\uff9e"));
    }

    [Theory]
    [InlineData("a   b", "a b")]
    [InlineData("a\t\tb", "a b")]
    [InlineData("  lead", " lead")]
    [InlineData("trail  ", "trail ")]
    [InlineData("a \n b", "a b")]
    public void CollapsesSpaceRunsButKeepsLeadingAndTrailingSpace(string input, string expected)
    {
        Assert.Equal(expected, StageHarness.Normalize(input));
    }

    [Fact]
    public void EmptyTextStaysEmpty()
    {
        Assert.Equal("", StageHarness.Normalize(""));
    }
}
