using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class UnigramModelTests
{
    // ids:                   0      1       2      3     4     5       6      7
    private static readonly string[] Pieces = ["<s>", "<unk>", "▁", "a", "b", "ab", "▁ab", "aab"];
    private static readonly double[] Scores = [0.0, 0.0, -1.0, -2.0, -2.0, -4.0, -3.0, -6.0];
    private static readonly UnigramModel Model = new(Pieces, Scores, unkId: 1);

    [Fact]
    public void PicksTheHighestScoringSegmentation()
    {
        Assert.Equal([6], StageHarness.Encode(Model, "▁ab"));       // -3 beats ▁+a+b (-5) and ▁+ab (-5)
    }

    [Fact]
    public void OnAnExactTieTheLongestLastPieceWins()
    {
        // "ab" (-4) and "a"+"b" (-4) tie; "ab" starts earlier, is relaxed first, and a later equal score does not replace it.
        Assert.Equal([5], StageHarness.Encode(Model, "ab"));
        // "aab" (-6) against "a"+"ab" (-6) and "a"+"a"+"b" (-6): the single piece wins.
        Assert.Equal([7], StageHarness.Encode(Model, "aab"));
    }

    [Fact]
    public void FusesARunOfUnknownCharactersIntoOneUnk()
    {
        Assert.Equal([3, 1, 4], StageHarness.Encode(Model, "axyzb"));
    }

    [Fact]
    public void SurrogatePairIsOneUnknownCharacter()
    {
        Assert.Equal([1], StageHarness.Encode(Model, "😀😀"));
        Assert.Equal([3, 1], StageHarness.Encode(Model, "a😀"));
    }

    [Fact]
    public void SpecialPiecesAreInTheLatticeLikeAnyOther()
    {
        Assert.Equal([0, 3], StageHarness.Encode(Model, "<s>a"));
    }

    [Fact]
    public void EmptyWordGivesNothing()
    {
        Assert.Empty(StageHarness.Encode(Model, ""));
    }

    [Fact]
    public void SumsInDoubleLikeHuggingFace()
    {
        // -0.1f + -0.2f rounds to exactly -0.3f in float32, a tie that "xy" (relaxed first) would win;
        // in double the split is -0.30000000447 against -0.30000001192, so HF — and this model — split.
        Assert.Equal(-0.3f, -0.1f + -0.2f);
        var model = new UnigramModel(["<unk>", "x", "y", "xy"], [0.0, -0.1f, -0.2f, -0.3f], unkId: 0);
        Assert.Equal([1, 2], StageHarness.Encode(model, "xy"));
    }
}
