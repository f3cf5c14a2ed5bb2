using RerankSharp.Scoring;
using RerankSharp.Tests.Onnx;

namespace RerankSharp.Tests.Scoring;

/// <summary>
/// The decoder rerankers' shared prompt prefix, computed once (<see cref="CrossEncoderOptions.ReusePromptPrefix"/>):
/// the grouping of a batch's rows by the prefix they share, and on every decoder fixture the scores against the float64
/// reference (1e-4 relative, tools/model/qwen3.py and decoder.py) and against the same model without the cache (1e-5
/// relative), with the prefix runs counted so a test cannot pass by never taking the cached path.
/// </summary>
public class SharedPrefixBatchesTests
{
    private static readonly string[] Decoders = ["qwen3-a", "qwen3-b", "qwen3-c", "mxbai-a", "mxbai-b", "gemma-a", "gemma-b"];

    public static TheoryData<string> DecoderFixtures() => new(Decoders);

    // Rows of ids, right-padded with -1 to the longest, as the batch queue lays them out.
    private static (long[] Ids, int Tokens, int[] Lengths) Batch(params long[][] rows)
    {
        var tokens = rows.Max(r => r.Length);
        var ids = new long[rows.Length * tokens];
        Array.Fill(ids, -1L);
        for (var r = 0; r < rows.Length; r++) rows[r].CopyTo(ids, r * tokens);
        return (ids, tokens, rows.Select(r => r.Length).ToArray());
    }

    private static long[] Ids(int from, int count, params long[] tail) => [.. Enumerable.Range(from, count).Select(i => (long)i), .. tail];

    [Fact]
    public void Rows_of_two_requests_in_one_batch_form_two_groups_each_with_its_own_prefix()
    {
        // Request A: 30 shared tokens then its document; request B: the first 12 of those, then 20 of its own query.
        long[] a0 = Ids(0, 30, 900, 901), a1 = Ids(0, 30, 905), a2 = Ids(0, 30, 910, 911, 912);
        long[] b0 = [.. Ids(0, 12), .. Ids(500, 20, 700)], b1 = [.. Ids(0, 12), .. Ids(500, 20, 701, 702)];
        var (ids, tokens, lengths) = Batch(b0, a0, b1, a1, a2);

        var groups = SharedPrefixBatches.Plan(ids, tokens, lengths);

        Assert.Equal(2, groups.Count);
        var a = groups.Single(g => g.Rows.Contains(1));
        var b = groups.Single(g => g.Rows.Contains(0));
        Assert.Equal([1, 3, 4], a.Rows.Order());
        Assert.Equal(30, a.Prefix);
        Assert.Equal([0, 2], b.Rows.Order());
        Assert.Equal(32, b.Prefix);
    }

    [Fact]
    public void Rows_that_share_little_run_together_without_a_prefix_and_every_row_keeps_a_token_of_its_own()
    {
        long[] lone1 = Ids(100, 40), lone2 = Ids(200, 15), shortRow = Ids(0, 20), longRow = Ids(0, 20, 1, 2, 3), same = Ids(0, 20);
        var (ids, tokens, lengths) = Batch(lone1, shortRow, lone2, longRow, same);

        var groups = SharedPrefixBatches.Plan(ids, tokens, lengths);

        var shared = groups.Single(g => g.Prefix > 0);
        Assert.Equal([1, 3, 4], shared.Rows.Order());
        Assert.Equal(19, shared.Prefix);   // the two 20-token rows are the whole prefix: the last token is each row's own
        Assert.Equal([0, 2], groups.Single(g => g.Prefix == 0).Rows);
        Assert.Equal(Enumerable.Range(0, 5), groups.SelectMany(g => g.Rows).Order());
    }

    [Fact]
    public void A_prefix_shorter_than_the_minimum_is_not_worth_a_run()
    {
        var (ids, tokens, lengths) = Batch(Ids(0, SharedPrefixBatches.MinPrefix - 1, 50, 51), Ids(0, SharedPrefixBatches.MinPrefix - 1, 60, 61));

        var groups = SharedPrefixBatches.Plan(ids, tokens, lengths);

        Assert.Equal(0, Assert.Single(groups).Prefix);
    }

    [Theory]
    [MemberData(nameof(DecoderFixtures))]
    public async Task Each_request_runs_its_prefix_once_and_scores_as_the_reference_and_as_without_the_cache(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model)).Cases.Single(c => c.Name == "text_prompts");
        using var cached = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        using var full = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions { ReusePromptPrefix = false });
        var requests = golden.Prompts!.Select((p, i) => (p, i)).GroupBy(x => (x.p.Query, x.p.Instruction)).Where(g => g.Count() >= 2).ToList();
        Assert.True(requests.Count >= 3, "the golden prompts hold requests of several documents");

        foreach (var request in requests)
        {
            var (query, instruction) = request.Key;
            var documents = request.Select(x => x.p.Document).ToList();
            var options = new RerankOptions { RawScores = true, Instruction = instruction };
            var before = cached.PrefixRuns;
            var withCache = (await cached.ScoreDocumentsAsync(query, documents, options)).Scores;
            var without = (await full.ScoreDocumentsAsync(query, documents, options)).Scores;

            Assert.Equal(before + 1, cached.PrefixRuns);
            foreach (var (x, j) in request.Select((x, j) => (x, j)))
            {
                var reference = golden.Logits[x.i];
                Assert.True(Math.Abs(withCache[j] - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"prompt {x.i}: {withCache[j]} vs reference {reference}");
                Assert.True(Math.Abs(withCache[j] - without[j]) <= 1e-5 * Math.Max(1, Math.Abs(without[j])), $"prompt {x.i}: {withCache[j]} with the cache, {without[j]} without");
            }
        }
        Assert.Equal(0, full.PrefixRuns);
    }

    [Theory]
    [InlineData("qwen3-a")]
    [InlineData("gemma-b")]
    public async Task Concurrent_requests_and_long_document_windows_score_the_same_with_and_without_the_cache(string model)
    {
        using var cached = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions { MaxLength = 200 });
        using var full = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions { MaxLength = 200, ReusePromptPrefix = false });
        var long1 = string.Join(" ", Enumerable.Range(0, 60).Select(i => $"Section {i} of the manual covers the pump."));
        string[] documents = ["The pump needs a new seal every spring.", long1, "Nothing here.", "Seals wear out; replace them yearly."];
        string[] queries = ["how often to replace the pump seal", "pump manual", "what is a seal"];
        var chunk = new RerankOptions { RawScores = true, LongDocuments = LongDocumentMode.Chunk };

        // The three requests at once share batches; each is checked against its own run without the cache.
        var together = await Task.WhenAll(queries.Select(q => cached.ScoreDocumentsAsync(q, documents, chunk)));
        for (var i = 0; i < queries.Length; i++)
        {
            var alone = (await full.ScoreDocumentsAsync(queries[i], documents, chunk)).Scores;
            for (var d = 0; d < documents.Length; d++)
                Assert.True(Math.Abs(together[i].Scores[d] - alone[d]) <= 1e-5 * Math.Max(1, Math.Abs(alone[d])),
                    $"query {i}, document {d}: {together[i].Scores[d]} with the cache, {alone[d]} without");
        }
        // The requests share batches, so they may share one prefix (the system text and instruction) or have one each:
        // either way the cached path ran.
        Assert.True(cached.PrefixRuns >= 1, $"{cached.PrefixRuns} prefix runs");
    }

    [Theory]
    [InlineData("qwen3-a")]
    [InlineData("mxbai-b")]
    public async Task A_request_cut_into_several_batches_computes_its_prefix_once(string model)
    {
        // A budget of two or three prompts per batch: 12 documents run in four or more batches.
        var options = new CrossEncoderOptions { MaxBatchTokens = 420 };
        using var cached = await CrossEncoder.LoadAsync(FixturePaths.Model(model), options);
        using var full = await CrossEncoder.LoadAsync(FixturePaths.Model(model), options with { ReusePromptPrefix = false });
        string[] documents = [.. Enumerable.Range(0, 12).Select(i => $"Document {i}: the pump seal is replaced every {i + 1} years, says page {i * 7}.")];
        var raw = new RerankOptions { RawScores = true };

        var withCache = (await cached.ScoreDocumentsAsync("how often is the pump seal replaced", documents, raw)).Scores;
        var without = (await full.ScoreDocumentsAsync("how often is the pump seal replaced", documents, raw)).Scores;

        Assert.True(cached.BatchesRun >= 4, $"{cached.BatchesRun} batches");
        Assert.Equal(1, cached.PrefixRuns);
        for (var d = 0; d < documents.Length; d++)
            Assert.True(Math.Abs(withCache[d] - without[d]) <= 1e-5 * Math.Max(1, Math.Abs(without[d])), $"document {d}: {withCache[d]} vs {without[d]}");
        // A second request with another query computes its own prefix.
        await cached.ScoreDocumentsAsync("what is a seal", documents[..3], raw);
        Assert.Equal(2, cached.PrefixRuns);
    }

    [Fact]
    public async Task A_cancelled_request_stops_and_the_next_one_still_scores()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-a"));
        string[] documents = [.. Enumerable.Range(0, 40).Select(i => $"Document {i} is about pumps and seals.")];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => encoder.ScoreDocumentsAsync("pump seals", documents, cancellationToken: cancelled.Token));
        var scores = (await encoder.ScoreDocumentsAsync("pump seals", documents)).Scores;

        Assert.Equal(40, scores.Length);
        Assert.All(scores, s => Assert.InRange(s, 0f, 1f));
    }
}
