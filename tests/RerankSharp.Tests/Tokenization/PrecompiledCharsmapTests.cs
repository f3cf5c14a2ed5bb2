using System.Text;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class PrecompiledCharsmapTests
{
    [Fact]
    public void FindsTheReplacementOfAMappedCharacter()
    {
        Assert.True(StageHarness.FixtureCharsmap.TryTransform(Encoding.UTF8.GetBytes("\uff21"), out var replacement));
        Assert.Equal("A", Encoding.UTF8.GetString(replacement));
    }

    [Fact]
    public void ReportsNoMatchForAnUnmappedCharacter()
    {
        Assert.False(StageHarness.FixtureCharsmap.TryTransform("a"u8, out _));
    }

    [Fact]
    public void DeletionIsAnEmptyReplacement()
    {
        Assert.True(StageHarness.FixtureCharsmap.TryTransform([0x01], out var replacement));
        Assert.True(replacement.IsEmpty);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2 })]                         // shorter than the header
    [InlineData(new byte[] { 0, 0, 0, 0 })]                   // empty trie
    [InlineData(new byte[] { 8, 0, 0, 0, 1, 2, 3, 4 })]       // trie longer than the blob
    [InlineData(new byte[] { 3, 0, 0, 0, 1, 2, 3 })]          // trie length not a multiple of 4
    [InlineData(new byte[] { 4, 0, 0, 0, 0, 0, 0, 0, 0xff })] // replacements not UTF-8
    public void RejectsACorruptTable(byte[] blob)
    {
        var e = Assert.Throws<RerankException>(() => PrecompiledCharsmap.Parse(blob));
        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
    }
}
