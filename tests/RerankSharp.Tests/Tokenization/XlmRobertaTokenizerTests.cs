using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public sealed class XlmRobertaTokenizerTests
{
    private static XlmRobertaTokenizer Tokenizer => TokenizerFixtures.FromJson;

    [Fact]
    public void UsesFairseqIds()
    {
        foreach (var tokenizer in new[] { TokenizerFixtures.FromModel, TokenizerFixtures.FromJson })
        {
            Assert.Equal((0, 1, 2, 3, 16001), (tokenizer.BosId, tokenizer.PadId, tokenizer.EosId, tokenizer.UnkId, tokenizer.MaskId));
            Assert.Equal(16002, tokenizer.VocabSize);
            Assert.Equal(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], tokenizer.ToPieces([0, 1, 2, 3, 16001]));
        }
    }

    [Fact]
    public void EncodesTheSeedDemoLikeTheReference()
    {
        // golden.jsonl line 2: "人工智能的发展趋势", from HF tokenizers.
        Assert.Equal([0, 4, 1652, 14350, 14583, 3809, 44, 3928, 8538, 3, 15296, 2], Tokenizer.EncodeSingle("人工智能的发展趋势", 512));
    }

    [Fact]
    public void TrailingWhitespaceAndLiteralSpecialsBehaveLikeTheFastTokenizer()
    {
        Assert.Equal(["▁a", "▁"], Tokenizer.ToPieces(Tokenizer.EncodeText("a ")));
        Assert.Equal(["▁a", "▁", "<s>", "▁b"], Tokenizer.ToPieces(Tokenizer.EncodeText("a <s> b")));
        Assert.Equal(Tokenizer.MaskId, Tokenizer.EncodeText("hello <mask> world")[2]);
        Assert.Empty(Tokenizer.EncodeText(""));
        Assert.Equal([0, 2], Tokenizer.EncodeSingle("", 8));
        Assert.Equal([0, 2, 2, 2], Tokenizer.EncodePair("", "", 8));
    }

    [Fact]
    public void PairIsTruncatedByLongestFirst()
    {
        var query = Tokenizer.EncodeText("what is panda?");
        var document = Tokenizer.EncodeText("The giant panda is a bear species endemic to China.");
        // The query fits in half the budget, so it is kept whole and the document takes the rest.
        var ids = Tokenizer.EncodePair("what is panda?", "The giant panda is a bear species endemic to China.", 4 + 2 * query.Length + 2);
        Assert.Equal([0, .. query, 2, 2, .. document[..(query.Length + 2)], 2], ids);

        // Below that, both are cut to half of the budget (here odd, so the longer document keeps the extra token).
        ids = Tokenizer.EncodePair("what is panda?", "The giant panda is a bear species endemic to China.", 4 + 7);
        Assert.Equal([0, .. query[..3], 2, 2, .. document[..4], 2], ids);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void PairMaxLengthBelowTheSpecialTokensIsInvalidInput(int maxLength)
    {
        var e = Assert.Throws<RerankException>(() => Tokenizer.EncodePair("q", "d", maxLength));
        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
        Assert.Contains("at least 4", e.Message);
    }

    [Fact]
    public void SingleMaxLengthBelowTheSpecialTokensIsInvalidInput()
    {
        var e = Assert.Throws<RerankException>(() => Tokenizer.EncodeSingle("text", 1));
        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
    }

    [Fact]
    public void OnlySecondWithATooLongQueryIsInvalidInputThatSaysWhatToDo()
    {
        var e = Assert.Throws<RerankException>(() =>
            Tokenizer.EncodePair("The giant panda is a bear species endemic to China.", "hi", 8, TruncationStrategy.OnlySecond));
        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
        Assert.Contains("only_second", e.Message);
        Assert.Contains("use longest_first truncation or a larger max length", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void LoneSurrogatesAreReadAsReplacementCharacters()
    {
        Assert.Equal(Tokenizer.EncodeText("a\uFFFDb"), Tokenizer.EncodeText("a\uD800b"));
        Assert.Equal(Tokenizer.EncodeText("\uFFFD"), Tokenizer.EncodeText("\uDC00"));
    }

    [Fact]
    public void LongDocumentIsCutToMaxLength()
    {
        string document = string.Concat(Enumerable.Repeat("北京是中国的政治中心和首都。Beijing is the capital of China. ", 2000));
        var ids = Tokenizer.EncodePair("中国的首都是哪里?", document, 8192);
        Assert.Equal(8192, ids.Length);
        Assert.Equal(2, ids[^1]);
    }

    [Fact]
    public void ConcurrentCallsGiveTheSameIdsAsSequentialOnes()
    {
        var texts = TokenizerFixtures.Golden.Where(c => c.Kind == "single").Select(c => c.Text!).ToArray();
        var expected = texts.Select(Tokenizer.EncodeText).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int k = i % texts.Length;
            actual[k] = Tokenizer.EncodeText(texts[k]);
        });
        for (int k = 0; k < texts.Length; k++)
        {
            Assert.Equal(expected[k], actual[k]);
        }
    }

    [Fact]
    public void ToPiecesRejectsIdsOutsideTheVocabulary()
    {
        var e = Assert.Throws<RerankException>(() => Tokenizer.ToPieces([16002]));
        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
    }
}
