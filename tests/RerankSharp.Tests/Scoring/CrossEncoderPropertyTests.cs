using CsCheck;
using RerankSharp.Scoring;
using RerankSharp.Tokenization;
using RerankSharp.Tests.Tokenization;

namespace RerankSharp.Tests.Scoring;

/// <summary>Three encoders over tiny-a that batch differently, loaded once for the class.</summary>
public sealed class BatchingEncoders : IDisposable
{
    public CrossEncoder Alone { get; } = CrossEncoder.Load(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { BatchSize = 1 });
    public CrossEncoder Wide { get; } = CrossEncoder.Load(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { BatchSize = 16 });
    public CrossEncoder Tight { get; } = CrossEncoder.Load(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { BatchSize = 5, MaxBatchTokens = 96, MaxLength = 64 });

    public void Dispose()
    {
        Alone.Dispose();
        Wide.Dispose();
        Tight.Dispose();
    }
}

/// <summary>What holds for any request: a document's score is its own, and a ranking is the scores sorted.</summary>
public class CrossEncoderPropertyTests(BatchingEncoders encoders) : IClassFixture<BatchingEncoders>
{
    // fp32 sums in another order when a row shares a batch with longer rows (padding) or other rows.
    private const float Tolerance = 4e-5f;
    private static readonly RerankOptions Raw = new() { RawScores = true };

    // A ranking needs a query with text (RankingInput); the refusal of the others is tested in CrossEncoderTests.
    private static readonly Gen<string> Query = TextGen.Text(8).Where(q => !string.IsNullOrWhiteSpace(q));

    [Fact]
    public async Task A_documents_score_does_not_depend_on_the_other_documents_their_order_batch_size_or_token_budget()
    {
        var requests = Gen.Select(Query, TextGen.Text(40).Array[1, 12], Gen.Int);
        await requests.SampleAsync(async (query, documents, seed) =>
        {
            var alone = new float[documents.Length];
            for (var i = 0; i < documents.Length; i++)
                alone[i] = (await encoders.Alone.PredictAsync([(query, documents[i])], Raw))[0];
            var random = new Random(seed);
            var order = Enumerable.Range(0, documents.Length).OrderBy(_ => random.Next()).ToArray();
            var shuffled = order.Select(i => (query, documents[i])).ToArray();

            var together = await encoders.Wide.PredictAsync(documents.Select(d => (query, d)).ToArray(), Raw);
            var reordered = await encoders.Wide.PredictAsync(shuffled, Raw);
            var budgeted = await encoders.Tight.ScoreDocumentsAsync(query, documents, Raw);

            for (var i = 0; i < documents.Length; i++)
            {
                Assert.Equal(alone[i], together[i], Tolerance);
                Assert.Equal(alone[order[i]], reordered[i], Tolerance);
                // The tight encoder cuts pairs to 64 tokens; uncut pairs are the same pairs as alone.
                if (!budgeted.Truncated[i]) Assert.Equal(alone[i], budgeted.Scores[i], Tolerance);
            }
        }, iter: 40, threads: 1);
    }

    [Fact]
    public async Task Chunked_scoring_equals_plain_scoring_when_every_document_fits_one_window()
    {
        // The tight encoder's 64-token pairs: short texts fit, longer ones are cut by the plain path and windowed by
        // the chunked one; for those that fit the ids, and so the scores, must be the same bit for bit.
        var requests = Gen.Select(Query, TextGen.Text(40).Array[1, 8], Gen.OneOf(TruncationStrategy.LongestFirst, TruncationStrategy.OnlySecond),
            Gen.OneOf(TruncationDirection.Right, TruncationDirection.Left));
        await requests.SampleAsync(async (query, documents, strategy, direction) =>
        {
            var plainOptions = new RerankOptions { RawScores = true, Truncation = strategy, TruncationDirection = direction };
            var plain = await encoders.Tight.ScoreDocumentsAsync(query, documents, plainOptions);
            var chunked = await encoders.Tight.ScoreDocumentsAsync(query, documents, plainOptions with { LongDocuments = LongDocumentMode.Chunk });

            for (var i = 0; i < documents.Length; i++)
                if (!plain.Truncated[i])
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(plain.Scores[i]), BitConverter.SingleToInt32Bits(chunked.Scores[i]));
                    Assert.False(chunked.Truncated[i]);
                }
        }, iter: 30, threads: 1);
    }

    [Fact]
    public void A_ranking_is_a_permutation_sorted_by_score_with_ties_in_input_order()
    {
        // Few distinct values, so ties are common; -0 and +0 are a tie, NaN ranks last.
        var score = Gen.OneOf<float>(0f, -0f, 0.25f, 0.5f, 0.5f, 1f, -3f, float.NaN, float.PositiveInfinity);
        Gen.Select(score.Array[0, 30], Gen.Int[0, 35].Select(n => n == 35 ? (int?)null : n)).Sample((scores, topN) =>
        {
            var documents = scores.Select((_, i) => $"doc {i}").ToArray();
            var ranked = CrossEncoder.RankScores(scores, documents, topN);
            var full = CrossEncoder.RankScores(scores, documents);

            Assert.Equal(Enumerable.Range(0, scores.Length), full.Select(r => r.Index).Order());
            Assert.Equal(full.Take(topN ?? scores.Length), ranked);
            Assert.All(full, r => Assert.Equal(documents[r.Index], r.Document));
            Assert.All(full, r => Assert.Equal(scores[r.Index], r.Score));
            foreach (var (a, b) in full.Zip(full.Skip(1)))
            {
                var order = a.Score.CompareTo(b.Score);
                Assert.True(order > 0 || (order == 0 && a.Index < b.Index), $"{a.Index}:{a.Score} ranked before {b.Index}:{b.Score}");
            }
        }, iter: 2000, threads: 2);
    }
}
