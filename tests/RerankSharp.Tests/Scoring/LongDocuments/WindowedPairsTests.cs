using RerankSharp.Scoring;
using RerankSharp.Tests.Tokenization;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Scoring;

public class WindowedPairsTests
{
    private const int MaxLength = 40;
    private const string Query = "where is the password";

    private static readonly XlmRobertaTokenizer Tokenizer = TokenizerFixtures.FromJson;

    private static readonly string LongDocument = string.Join(" ", Enumerable.Range(0, 30).Select(i => $"Sentence number {i} talks about the weather in the valley."));

    private static WindowedPairs Encode(RerankOptions options, params (string Query, string Document)[] pairs) =>
        WindowedPairs.Encode(Tokenizer, MaxLength, TruncationStrategy.LongestFirst, pairs.Length, i => pairs[i], options);

    [Theory]
    [InlineData(LongDocumentMode.Truncate, TruncationStrategy.LongestFirst, TruncationDirection.Right, null)]
    [InlineData(LongDocumentMode.Truncate, TruncationStrategy.OnlySecond, TruncationDirection.Right, null)]
    [InlineData(LongDocumentMode.Truncate, TruncationStrategy.LongestFirst, TruncationDirection.Left, null)]
    [InlineData(LongDocumentMode.Truncate, TruncationStrategy.LongestFirst, TruncationDirection.Right, 12)]
    [InlineData(LongDocumentMode.Truncate, TruncationStrategy.LongestFirst, TruncationDirection.Left, 12)]
    [InlineData(LongDocumentMode.Chunk, TruncationStrategy.LongestFirst, TruncationDirection.Right, null)]
    public void Documents_that_fit_or_are_cut_get_exactly_the_ids_of_the_plain_path(LongDocumentMode mode, TruncationStrategy strategy,
        TruncationDirection direction, int? cap)
    {
        // Chunk mode only on pairs that fit; truncate mode on all, long ones included.
        var documents = mode == LongDocumentMode.Chunk
            ? new[] { "", "short one", "Sentence number 1 talks about the weather." }
            : new[] { "", "short one", LongDocument, "Sentence number 1 talks about the weather." };
        var options = new RerankOptions { LongDocuments = mode, Truncation = strategy, TruncationDirection = direction, MaxDocumentTokens = cap, ReturnWindows = true };

        var windows = Encode(options, documents.Select(d => (Query, d)).ToArray());

        Assert.Equal(documents.Length, windows.Sequences.Length);
        for (var i = 0; i < documents.Length; i++)
        {
            var plain = Tokenizer.EncodePair(Query, documents[i], MaxLength, strategy, direction, cap);
            Assert.Equal(plain.Ids, windows.Sequences[i]);
            Assert.Equal(plain.Truncated, windows.Truncated[i]);
        }
    }

    [Fact]
    public void A_long_document_becomes_full_windows_that_share_the_query_and_cover_every_token()
    {
        var q = Tokenizer.EncodeText(Query);
        var d = Tokenizer.EncodeText(LongDocument);
        var window = MaxLength - 4 - q.Length;

        var windows = Encode(new RerankOptions { LongDocuments = LongDocumentMode.Chunk, ReturnWindows = true }, (Query, LongDocument));
        var (_, tokens, winners) = windows.Combine(new float[windows.Sequences.Length], WindowAggregation.Max);

        var expected = DocumentWindows.Plan(d.Length, window, window / 4);
        Assert.Equal(expected.Length, windows.Sequences.Length);
        for (var w = 0; w < expected.Length; w++)
            Assert.Equal(Tokenizer.BuildPair(q, d.AsSpan(expected[w].Start, expected[w].Length), null), windows.Sequences[w]);
        Assert.All(windows.Sequences, s => Assert.Equal(MaxLength, s.Length));
        Assert.False(windows.Truncated[0]);
        Assert.Equal(windows.Sequences.Sum(s => s.Length), tokens[0]);
        Assert.Equal(expected.Length, winners![0].Count);
    }

    [Fact]
    public void The_winning_windows_character_offsets_slice_its_text_out_of_the_document()
    {
        var windows = Encode(new RerankOptions { LongDocuments = LongDocumentMode.Chunk, ReturnWindows = true, ChunkStride = 0 }, (Query, LongDocument));
        var logits = new float[windows.Sequences.Length];
        logits[2] = 5;

        var (combined, _, winners) = windows.Combine(logits, WindowAggregation.Max);

        var win = winners![0];
        Assert.Equal(5f, combined[0]);
        Assert.Equal(2, win.Index);
        Tokenizer.EncodeText(LongDocument, out var offsets);
        Assert.Equal(offsets[win.TokenStart].Start, win.CharStart);
        Assert.Equal(offsets[win.TokenEnd - 1].End, win.CharEnd);
        // Windows tile the text: the third window's passage starts where the second one's ends.
        var secondBest = new float[windows.Sequences.Length];
        secondBest[1] = 9;
        var second = windows.Combine(secondBest, WindowAggregation.Max).Windows![0];
        Assert.Equal(second.CharEnd, win.CharStart);
        Assert.Equal(second.TokenEnd, win.TokenStart);
        Assert.Contains("weather", LongDocument[win.CharStart..win.CharEnd]);
    }

    [Fact]
    public void A_long_query_keeps_half_of_the_room_when_chunking()
    {
        var longQuery = string.Join(" ", Enumerable.Repeat("password", 60));

        var windows = Encode(new RerankOptions { LongDocuments = LongDocumentMode.Chunk }, (longQuery, LongDocument));

        var budget = MaxLength - 4;
        Assert.All(windows.Sequences, s => Assert.Equal(MaxLength, s.Length));
        Assert.All(windows.Sequences, s => Assert.Equal(2, s[budget / 2 + 1]));   // </s> right after the kept query
        Assert.True(windows.Truncated[0]);
    }

    [Fact]
    public void Chunking_refuses_what_it_cannot_do_with_a_message_that_says_what_to_change()
    {
        var longQuery = string.Join(" ", Enumerable.Repeat("password", 60));
        var chunk = new RerankOptions { LongDocuments = LongDocumentMode.Chunk };

        var noCut = Assert.Throws<RerankException>(() => Encode(chunk with { Truncate = false }, (longQuery, LongDocument)));
        var onlySecond = Assert.Throws<RerankException>(() => Encode(chunk with { Truncation = TruncationStrategy.OnlySecond }, (longQuery, LongDocument)));
        var stride = Assert.Throws<RerankException>(() => Encode(chunk with { ChunkStride = 500 }, (Query, LongDocument)));
        var negative = Assert.Throws<RerankException>(() => Encode(chunk with { ChunkStride = -1 }, (Query, LongDocument)));

        Assert.All(new[] { noCut, onlySecond, stride, negative }, e => Assert.Equal(RerankErrorKind.InvalidInput, e.Kind));
        Assert.Contains("allow truncation", noCut.Message);
        Assert.Contains("longest_first", onlySecond.Message);
        Assert.Contains("lower the stride", stride.Message);
        // A long document alone is no reason to refuse when chunking: nothing is cut.
        Assert.False(Encode(chunk with { Truncate = false }, (Query, LongDocument)).Truncated[0]);
    }

    [Fact]
    public void A_cut_document_reports_the_part_that_was_kept()
    {
        var d = Tokenizer.EncodeText(LongDocument, out var offsets);
        var q = Tokenizer.EncodeText(Query);
        var kept = MaxLength - 4 - q.Length;

        var right = Encode(new RerankOptions { ReturnWindows = true }, (Query, LongDocument)).Combine([0f], WindowAggregation.Max).Windows![0];
        var left = Encode(new RerankOptions { ReturnWindows = true, TruncationDirection = TruncationDirection.Left }, (Query, LongDocument))
            .Combine([0f], WindowAggregation.Max).Windows![0];

        Assert.Equal(new DocumentWindow(0, 1, 0, kept, 0, offsets[kept - 1].End), right);
        Assert.Equal(new DocumentWindow(0, 1, d.Length - kept, d.Length, offsets[d.Length - kept].Start, LongDocument.Length), left);
    }
}
