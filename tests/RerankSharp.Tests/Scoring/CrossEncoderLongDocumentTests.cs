using System.Text.Json.Nodes;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

/// <summary>
/// <see cref="CrossEncoder"/> with <see cref="RerankOptions.LongDocuments"/> = chunk: against truncation on the tiny
/// model, and with a test double of the encoder whose logit is decidable (high only for a row holding the needle's
/// ids), so "chunking finds what truncation cannot" is a fact rather than a hope about random weights.
/// </summary>
public class CrossEncoderLongDocumentTests
{
    private const string Query = "what is the password";
    private const string Needle = "swordfish";
    private const float Found = 6f;
    private const float Missed = -3f;

    private static readonly (string Query, string Document)[] Pairs = JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Fixtures, "text_pairs.json")))!
        .AsArray().Select(p => (p!["query"]!.GetValue<string>(), p["document"]!.GetValue<string>())).ToArray();

    private static string Filler(int sentences, int seed) =>
        string.Join(" ", Enumerable.Range(seed, sentences).Select(i => $"Paragraph {i} describes the old mill by the river and its wheel."));

    // The relevant sentence sits well past the first window of a 48-token pair.
    private static readonly string NeedleDocument = $"{Filler(6, 0)} The password is {Needle} and nothing else. {Filler(4, 100)}";

    [Fact]
    public async Task Chunk_mode_gives_bit_identical_scores_to_truncate_mode_when_every_document_fits()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));

        var truncated = await encoder.PredictAsync(Pairs, new RerankOptions { RawScores = true });
        var chunked = await encoder.PredictAsync(Pairs, new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk, ReturnWindows = true });
        var sigmoid = await encoder.PredictAsync(Pairs, new RerankOptions { LongDocuments = LongDocumentMode.Chunk, ChunkAggregation = WindowAggregation.Mean });

        Assert.Equal(truncated.Select(BitConverter.SingleToInt32Bits), chunked.Select(BitConverter.SingleToInt32Bits));
        for (var i = 0; i < Pairs.Length; i++) Assert.Equal(RerankScores.Sigmoid(truncated[i]), sigmoid[i]);
    }

    [Theory]
    [InlineData("tiny-a")]
    [InlineData("gte-a")]   // GTE's tokenizer is XLM-R's: character offsets too
    [InlineData("deberta-a")]   // DeBERTa's runs the same stages, with offsets
    public async Task Chunking_finds_a_relevant_sentence_past_the_first_window_that_truncation_cannot_see(string model)
    {
        var needleIds = (int[]?)null;
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions
        {
            MaxLength = 48,
            BatchRunner = (batch, _) => Decide(batch, needleIds!),
        });
        needleIds = encoder.Tokenizer.EncodeText(Needle);
        string[] documents = [Filler(12, 50), NeedleDocument, "A short note about the mill."];

        var truncated = await encoder.RerankAsync(Query, documents, new RerankOptions { RawScores = true, ReturnWindows = true });
        var chunked = await encoder.RerankAsync(Query, documents, new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk, ReturnWindows = true });

        Assert.All(truncated, r => Assert.Equal(Missed, r.Score));
        Assert.Equal(1, chunked[0].Index);
        Assert.Equal(Found, chunked[0].Score);
        var window = chunked[0].Window!;
        Assert.True(window.Index > 0, $"the needle was found in window {window.Index}, which should not be the first");
        Assert.True(window.Count > window.Index);
        Assert.Contains(Needle, NeedleDocument[window.CharStart..window.CharEnd]);
        Assert.DoesNotContain(Needle, NeedleDocument[truncated.Single(r => r.Index == 1).Window!.CharStart..truncated.Single(r => r.Index == 1).Window!.CharEnd]);
    }

    [Fact]
    public async Task Windows_of_many_documents_share_batches_and_each_document_gets_one_score()
    {
        var rowsPerBatch = new List<int>();
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions
        {
            MaxLength = 48,
            BatchSize = 16,
            BatchRunner = (batch, _) =>
            {
                lock (rowsPerBatch) rowsPerBatch.Add(batch.Rows);
                return new float[batch.Rows];
            },
        });
        string[] documents = [Filler(5, 0), Filler(5, 10), Filler(5, 20), "short"];

        var scored = await encoder.ScoreDocumentsAsync(Query, documents, new RerankOptions { LongDocuments = LongDocumentMode.Chunk, ReturnWindows = true });

        Assert.Equal(documents.Length, scored.Scores.Length);
        var perDocument = scored.Windows!;
        var windows = perDocument.Sum(w => w.Count);
        Assert.True(windows > documents.Length + 3, $"{windows} windows");
        Assert.Equal(windows, rowsPerBatch.Sum());
        Assert.True(rowsPerBatch.Count < windows, $"{windows} windows ran in {rowsPerBatch.Count} batches");
        Assert.Contains(rowsPerBatch, rows => rows > perDocument.Max(w => w.Count));   // a batch held windows of several documents
        Assert.All(scored.Tokens.Zip(perDocument), p => Assert.InRange(p.First, 5 * p.Second.Count, 48 * p.Second.Count));
    }

    [Fact]
    public async Task First_aggregation_scores_as_truncation_and_mean_lies_between_the_windows()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxLength = 48 });
        string[] documents = [NeedleDocument, Filler(8, 7)];

        var truncated = await encoder.PredictAsync(documents.Select(d => (Query, d)).ToList(), new RerankOptions { RawScores = true });
        var first = await encoder.PredictAsync(documents.Select(d => (Query, d)).ToList(),
            new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk, ChunkAggregation = WindowAggregation.First });
        var max = await encoder.PredictAsync(documents.Select(d => (Query, d)).ToList(),
            new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk });
        var mean = await encoder.PredictAsync(documents.Select(d => (Query, d)).ToList(),
            new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk, ChunkAggregation = WindowAggregation.Mean });

        // A short query: truncation keeps the first (max_length − 4 − query) document tokens, exactly the first window.
        Assert.Equal(truncated, first);
        for (var i = 0; i < documents.Length; i++)
        {
            Assert.True(max[i] >= first[i]);
            Assert.True(mean[i] <= max[i] + 1e-6f);
        }
    }

    [Theory]
    [InlineData("bert-a")]
    [InlineData("qwen3-a")]
    [InlineData("modernbert-a")]
    [InlineData("jina-a")]
    [InlineData("gte-a")]
    [InlineData("deberta-b")]
    public async Task Chunking_works_for_the_other_architectures_too(string model)
    {
        using (var plain = await CrossEncoder.LoadAsync(FixturePaths.Model(model)))
        {
            var truncatedScores = await plain.PredictAsync(Pairs, new RerankOptions { RawScores = true });
            var chunkedScores = await plain.PredictAsync(Pairs, new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk });
            Assert.Equal(truncatedScores.Select(BitConverter.SingleToInt32Bits), chunkedScores.Select(BitConverter.SingleToInt32Bits));
        }

        // Room for the prompt (Qwen3's is long) and 40 tokens of query and document.
        int maxLength;
        using (var probe = await CrossEncoder.LoadAsync(FixturePaths.Model(model))) maxLength = probe.Tokenizer.PairOverhead(null) + 40;
        var needleIds = (int[]?)null;
        var longest = 0;
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions
        {
            MaxLength = maxLength,
            BatchRunner = (batch, _) =>
            {
                lock (Pairs) longest = Math.Max(longest, batch.Tokens);
                return Decide(batch, needleIds!);
            },
        });
        // Byte-level BPE keeps a word's leading space in its token; WordPiece drops it, and XLM-R's Metaspace gives a
        // text's first word the ▁ it gives a word after a space.
        needleIds = encoder.Tokenizer.EncodeText(model.StartsWith("qwen3", StringComparison.Ordinal) || model.StartsWith("modernbert", StringComparison.Ordinal) ? " " + Needle : Needle);
        string[] documents = [Filler(12, 50), NeedleDocument, "A short note about the mill."];

        var truncated = await encoder.RerankAsync(Query, documents, new RerankOptions { RawScores = true });
        var chunked = await encoder.RerankAsync(Query, documents, new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk });

        Assert.All(truncated, r => Assert.Equal(Missed, r.Score));
        Assert.Equal(1, chunked[0].Index);
        Assert.Equal(Found, chunked[0].Score);
        Assert.InRange(longest, 1, maxLength);
    }

    [Fact]
    public async Task Returned_windows_are_refused_clearly_where_the_tokenizer_has_no_character_offsets()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("bert-a"));

        var e = await Assert.ThrowsAsync<RerankException>(() => encoder.RerankAsync(Query, ["a document"], new RerankOptions { ReturnWindows = true }));

        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
        Assert.Contains("return_windows", e.Message);
    }

    // Logit Found for a row whose ids hold the needle's ids in a row, Missed otherwise.
    private static float[] Decide(PaddedBatch batch, int[] needle)
    {
        var logits = new float[batch.Rows];
        for (var r = 0; r < batch.Rows; r++)
        {
            var row = batch.InputIds.AsSpan(r * batch.Tokens, batch.Tokens).ToArray().Select(id => (int)id).ToArray();
            logits[r] = row.AsSpan().IndexOf(needle) >= 0 ? Found : Missed;
        }
        return logits;
    }
}
