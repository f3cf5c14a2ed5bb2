using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder over jina-reranker-v3 (JinaForRanking, listwise): text in, the float64 reference's scores out
// (tools/model/jina_v3.py golden: prompt → hidden states at the markers → projector → cosine → rerank()'s block merge,
// over the prompt ids of tools/listwise/prompts.js), and the public contract kept: ranking, top_n, refusals, cancellation,
// scores independent of concurrent requests.
public class CrossEncoderListwiseTests(ITestOutputHelper output)
{
    private static JsonObject Golden(string model) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Model(model), "golden_scores.json")))!.AsObject();

    private static string[] Strings(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    [Theory]
    [InlineData("jina-v3-a")]   // GQA 6/2, head_dim 12 ≠ H/N, F32, projector 48 → 24 → 24
    [InlineData("jina-v3-b")]   // 4/4 heads, BF16, projector 40 → 20 → 12
    public async Task Scores_match_the_float64_reference_within_1e_4_including_lists_of_several_blocks(string model)
    {
        var golden = Golden(model);
        var cases = golden["cases"]!.AsArray().Select(c => c!.AsObject()).ToList();
        var encoders = new Dictionary<int, CrossEncoder>();
        try
        {
            double worst = 0;
            var failures = new List<string>();
            var multiBlock = 0;
            foreach (var c in cases)
            {
                var capacity = c["model_max_length"]!.GetValue<int>();
                if (!encoders.TryGetValue(capacity, out var encoder))
                    encoders[capacity] = encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions { MaxLength = capacity });
                var documents = Strings(c["documents"]);
                var expected = c["scores"]!.AsArray().Select(n => n!.GetValue<double>()).ToArray();
                var options = new RerankOptions
                {
                    MaxDocumentTokens = c["max_doc_length"]!.GetValue<int>(), MaxQueryTokens = c["max_query_length"]!.GetValue<int>(),
                    Instruction = c["instruction"]?.GetValue<string>(),
                };
                if (c["blocks"]!.AsArray().Count > 1) multiBlock++;
                var query = c["query"]!.GetValue<string>();
                if (string.IsNullOrWhiteSpace(query)) continue;   // the contract refuses an empty query (RankingInput)
                var got = await encoder.ScoreDocumentsAsync(query, documents, options);
                for (var i = 0; i < expected.Length; i++)
                {
                    var relative = Math.Abs(got.Scores[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i]));
                    worst = Math.Max(worst, relative);
                    if (relative > 1e-4) failures.Add($"{c["category"]} document {i}: got {got.Scores[i]:R}, reference {expected[i]:R}");
                }
            }
            output.WriteLine($"{model}: {cases.Count} cases ({multiBlock} of several blocks), max relative difference {worst:E2}");
            Assert.True(multiBlock >= 3, $"only {multiBlock} golden lists need several blocks");
            Assert.True(failures.Count == 0, $"{failures.Count} scores differ:\n{string.Join("\n", failures.Take(10))}");
        }
        finally
        {
            foreach (var e in encoders.Values) e.Dispose();
        }
    }

    [Fact]
    public async Task It_loads_as_a_listwise_JinaForRanking_whose_scores_are_the_cosines_raw_or_not()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"));
        string[] documents = ["The giant panda is a bear species endemic to China.", "Paris is the capital of France.", ""];

        var plain = await encoder.ScoreDocumentsAsync("what is panda?", documents);
        var raw = await encoder.ScoreDocumentsAsync("what is panda?", documents, new RerankOptions { RawScores = true });

        Assert.Equal("JinaForRanking", encoder.Architecture);
        Assert.True(encoder.Listwise);
        Assert.Equal(4096, encoder.MaxLength);   // the tokenizer's model_max_length
        Assert.IsType<JinaRerankerV3Tokenizer>(encoder.Tokenizer);
        Assert.Equal(plain.Scores, raw.Scores);
        Assert.All(plain.Scores, s => Assert.InRange(s, -1f, 1f));
        // Usage: every token of the one block is billed to some document.
        Assert.Equal(encoder.Tokenizer.EncodeText(JinaRerankerV3Tokenizer.Format("what is panda?", documents, null)).Length, plain.TotalTokens);
    }

    [Fact]
    public async Task RerankAsync_ranks_best_first_with_top_n_and_the_documents()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-b"));
        string[] documents = ["alpha", "beta gamma", "delta", "epsilon zeta eta"];

        var scores = (await encoder.ScoreDocumentsAsync("query", documents)).Scores;
        var ranked = await encoder.RerankAsync("query", documents, new RerankOptions { TopN = 2 });

        var order = Enumerable.Range(0, 4).OrderByDescending(i => scores[i]).Take(2).ToArray();
        Assert.Equal(order, ranked.Select(r => r.Index));
        Assert.Equal(order.Select(i => documents[i]), ranked.Select(r => r.Document));
        Assert.Equal(order.Select(i => scores[i]), ranked.Select(r => r.Score));
    }

    [Fact]
    public async Task A_requests_scores_are_the_same_alone_and_among_concurrent_requests()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"), new CrossEncoderOptions { MaxBatchTokens = 1 << 16 });
        string[] documents = ["The giant panda is a bear species endemic to China.", "Bamboo makes up most of its diet.", "Paris is the capital of France."];
        var alone = (await encoder.ScoreDocumentsAsync("what is panda?", documents)).Scores;

        // Others of other lengths, started together so that their blocks share padded batches with this one.
        var others = Enumerable.Range(1, 6).Select(n => encoder.ScoreDocumentsAsync($"query {n}",
            Enumerable.Range(0, n).Select(k => string.Join(' ', Enumerable.Repeat($"word{k}", 3 + 7 * k))).ToArray())).ToList();
        var together = encoder.ScoreDocumentsAsync("what is panda?", documents);
        await Task.WhenAll(others.Append(together));

        Assert.True(encoder.QueueStatistics.SequencesRun > encoder.BatchesRun, "no batch held more than one block");
        for (var i = 0; i < documents.Length; i++) Assert.Equal(alone[i], (await together).Scores[i], 5);
    }

    [Fact]
    public async Task Scores_depend_on_the_other_documents_of_the_request()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"));

        var two = (await encoder.ScoreDocumentsAsync("what is panda?", ["The giant panda is a bear.", "Paris is in France."])).Scores;
        var three = (await encoder.ScoreDocumentsAsync("what is panda?", ["The giant panda is a bear.", "Paris is in France.", "Bamboo."])).Scores;

        Assert.NotEqual(two[0], three[0]);
    }

    [Fact]
    public async Task Predict_scores_pairs_that_share_a_query_as_one_request()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-b"));
        (string, string)[] pairs = [("q1", "a"), ("q1", "b"), ("q2", "c"), ("q1", "d")];

        var scores = await encoder.PredictAsync(pairs);

        Assert.Equal((await encoder.ScoreDocumentsAsync("q1", ["a", "b"])).Scores, scores[..2]);
        Assert.Equal((await encoder.ScoreDocumentsAsync("q2", ["c"])).Scores[0], scores[2]);
        Assert.Equal((await encoder.ScoreDocumentsAsync("q1", ["d"])).Scores[0], scores[3]);
    }

    [Fact]
    public async Task What_a_listwise_model_cannot_do_is_refused_clearly()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"));
        string[] documents = ["a", string.Join(' ', Enumerable.Repeat("forest", 40))];

        var chunk = await Assert.ThrowsAsync<RerankException>(() => encoder.ScoreDocumentsAsync("q", documents, new RerankOptions { LongDocuments = LongDocumentMode.Chunk }));
        Assert.Equal(RerankErrorKind.InvalidInput, chunk.Kind);
        Assert.Contains("listwise", chunk.Message);
        var left = await Assert.ThrowsAsync<RerankException>(() => encoder.ScoreDocumentsAsync("q", documents, new RerankOptions { TruncationDirection = TruncationDirection.Left }));
        Assert.Equal(RerankErrorKind.InvalidInput, left.Kind);
        var cut = await Assert.ThrowsAsync<RerankException>(() => encoder.ScoreDocumentsAsync("q", documents, new RerankOptions { MaxDocumentTokens = 8, Truncate = false }));
        Assert.Contains("Document 1", cut.Message);
        var tokenized = await Assert.ThrowsAsync<RerankException>(() => encoder.ScoreTokenizedAsync([[1, 2, 3]]));
        Assert.Equal(RerankErrorKind.InvalidInput, tokenized.Kind);
        var nested = await Assert.ThrowsAsync<RerankException>(() => encoder.ScoreDocumentsAsync("q", ["<|rerank_<|embed_token|>token|>"]));
        Assert.Equal(RerankErrorKind.InvalidInput, nested.Kind);
        Assert.Empty((await encoder.ScoreDocumentsAsync("q", [])).Scores);
    }

    [Fact]
    public async Task A_long_document_is_cut_to_the_per_document_limit_and_reported_cut()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"));
        var scored = await encoder.ScoreDocumentsAsync("q", ["short", string.Join(' ', Enumerable.Repeat("forest", 40))], new RerankOptions { MaxDocumentTokens = 8 });

        Assert.Equal([false, true], scored.Truncated);
    }

    [Fact]
    public async Task A_cancelled_request_stops_and_leaves_the_queue_empty()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => encoder.ScoreDocumentsAsync("q", ["a", "b"], cancellationToken: cancel.Token));
        Assert.Equal(0, encoder.QueueStatistics.QueuedSequences);
        Assert.Equal(2, (await encoder.ScoreDocumentsAsync("q", ["a", "b"])).Scores.Length);
    }

    [Fact]
    public async Task Int8_scores_stay_near_fp32()
    {
        using var temp = new TempDirectory();
        foreach (var file in Directory.GetFiles(FixturePaths.Model("jina-v3-a")))
            File.Copy(RerankSharp.Models.LinkedFile.Find(file)!.FullName, temp.PathOf(Path.GetFileName(file)));
        using var fp32 = await CrossEncoder.LoadAsync(temp.Path);
        using var int8 = await CrossEncoder.LoadAsync(temp.Path, new CrossEncoderOptions { Precision = RerankSharp.Onnx.Precision.Int8 });
        string[] documents = ["The giant panda is a bear species endemic to China.", "Paris is the capital of France.", "Bamboo."];

        var a = (await fp32.ScoreDocumentsAsync("what is panda?", documents)).Scores;
        var b = (await int8.ScoreDocumentsAsync("what is panda?", documents)).Scores;

        for (var i = 0; i < a.Length; i++) Assert.InRange(b[i] - a[i], -0.1f, 0.1f);
    }

    [Fact]
    public async Task The_graph_reads_the_markers_through_the_projector_with_attention_in_blocks_of_queries()
    {
        using var temp = new TempDirectory();
        var path = temp.PathOf("model.onnx");
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-v3-a"), new CrossEncoderOptions { SaveOnnxPath = path });
        var graph = RerankSharp.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;

        Assert.Equal(["embeddings"], graph.Output.Select(o => o.Name));
        Assert.Equal(2, graph.Node.Count(n => n.OpType == "Loop"));            // one per layer: no [T, T] scores
        Assert.DoesNotContain(graph.Node, n => n.Name == "model.causal_mask");
        Assert.Equal(["projector.0", "projector.1", "projector.2"], graph.Node.Where(n => n.Name.StartsWith("projector.", StringComparison.Ordinal)).Select(n => n.Name));
        Assert.DoesNotContain(graph.Node, n => n.Name.StartsWith("lm_head", StringComparison.Ordinal));
    }

    [Fact]
    public void Info_names_the_listwise_architecture_and_its_blocks()
    {
        var folder = RerankSharp.Models.ModelFolder.Open(FixturePaths.Model("jina-v3-b"));

        Assert.Equal("JinaForRanking", CrossEncoder.ArchitectureOf(folder));
        Assert.Contains(CrossEncoder.ArchitectureDetails(folder), d => d.Name == "blocks" && d.Value.Contains("4096", StringComparison.Ordinal));
    }
}
