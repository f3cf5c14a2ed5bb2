namespace RerankSharp.Tests.Tokenization;

public sealed class MetaspacePreTokenizerTests
{
    [Theory]
    [InlineData("hello world", new[] { "▁hello", "▁world" })]
    [InlineData(" hello", new[] { "▁hello" })]                 // the leading space is the prefix
    [InlineData("hello ", new[] { "▁hello", "▁" })]            // the fast tokenizer's trailing "▁"
    [InlineData(" ", new[] { "▁" })]
    [InlineData("▁x", new[] { "▁x" })]                         // already starts with ▁: nothing prepended
    [InlineData("a▁▁b", new[] { "▁a", "▁", "▁b" })]
    [InlineData("北京", new[] { "▁北京" })]
    public void SplitsBeforeEveryMetaspace(string normalized, string[] expected)
    {
        Assert.Equal(expected, StageHarness.PreTokenize(normalized));
    }

    [Fact]
    public void EmptyTextGivesNoPreTokens()
    {
        Assert.Empty(StageHarness.PreTokenize(""));
    }
}
