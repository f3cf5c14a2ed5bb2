using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tests.Onnx;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Scoring;

public partial class CrossEncoderTests(ITestOutputHelper output)
{
    private static readonly (string Query, string Document)[] Pairs = JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Fixtures, "text_pairs.json")))!
        .AsArray().Select(p => (p!["query"]!.GetValue<string>(), p["document"]!.GetValue<string>())).ToArray();

    [Theory]
    [InlineData("tiny-a")]   // F32, both tokenizer files
    [InlineData("tiny-b")]   // F16, tokenizer.json only
    [InlineData("tiny-c")]   // BF16 in two shards, sentencepiece.bpe.model only
    public async Task Text_pairs_score_like_the_reference_tokenizer_and_forward(string model)
    {
        // The golden logits come from HF tokenizers' ids fed to the float64 reference
        // (tools/model/make_text_golden.sh), so this checks text → score end to end.
        var golden = GoldenLogits.Load(FixturePaths.Model(model), "golden_text_logits.json");
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));

        var logits = await encoder.PredictAsync(Pairs, new RerankOptions { RawScores = true });

        var worst = 0.0;
        for (var i = 0; i < Pairs.Length; i++)
        {
            var c = golden.Cases[i];
            Assert.Equal(c.InputIds[0].Select(id => (int)id), encoder.Tokenizer.EncodePair(Pairs[i].Query, Pairs[i].Document, encoder.MaxLength));
            var relative = Math.Abs(logits[i] - c.Logits[0]) / Math.Max(1, Math.Abs(c.Logits[0]));
            worst = Math.Max(worst, relative);
            Assert.True(relative < 1e-4, $"pair {i}: got {logits[i]}, reference {c.Logits[0]}");
        }
        output.WriteLine($"{model}: {Pairs.Length} text pairs, max relative |Δ| {worst:E2}");
    }

    [Fact]
    public async Task The_warm_up_run_at_load_changes_no_score_and_is_not_counted_as_a_batch()
    {
        var pairs = new[] { ("中国的首都是哪里?", "北京是中国的政治中心和首都。"), ("what is a panda?", "The giant panda is a bear native to China.") };
        using var warm = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        using var cold = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { WarmUp = false });

        Assert.Equal(0, warm.BatchesRun);
        var warmScores = await warm.PredictAsync(pairs, new RerankOptions { RawScores = true });
        var coldScores = await cold.PredictAsync(pairs, new RerankOptions { RawScores = true });

        Assert.Equal(coldScores, warmScores);
        Assert.Equal(1, warm.BatchesRun);
    }

    [Fact]
    public async Task On_the_cpu_batches_default_to_the_cache_sized_token_budget_and_an_explicit_budget_wins()
    {
        using var byDefault = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        using var chosen = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxBatchTokens = 8192 });

        Assert.Equal("CPUExecutionProvider", byDefault.ExecutionProvider);
        Assert.Equal(CrossEncoderOptions.CpuBatchTokens, byDefault.MaxBatchTokens);
        Assert.Equal(64, byDefault.BatchSize);
        Assert.Equal(8192, chosen.MaxBatchTokens);
    }

    [Fact]
    public async Task A_default_batch_holds_as_many_pairs_as_fit_the_token_budget()
    {
        // 40 pairs of 100 tokens: 10 per 1,024-token batch, so 4 batches; the old limit of 16 pairs per batch would run 3.
        var sequences = Enumerable.Range(0, 40).Select(i => Enumerable.Range(0, 100).Select(t => t == 0 ? 0 : t == 99 ? 2 : 5 + (i + t) % 900).ToArray()).ToArray();
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        var reports = new List<BatchReport>();
        encoder.BatchCompleted += (_, report) => { lock (reports) reports.Add(report); };

        await encoder.ScoreTokenizedAsync(sequences);

        Assert.Equal(4, encoder.BatchesRun);
        Assert.All(reports, r => Assert.True(r.Rows * r.PaddedLength <= CrossEncoderOptions.CpuBatchTokens, $"{r.Rows} × {r.PaddedLength}"));
    }

    [Fact]
    public async Task Scores_are_the_sigmoid_of_the_raw_logits_in_input_order()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));

        var scores = await encoder.PredictAsync(Pairs);
        var logits = await encoder.PredictAsync(Pairs, new RerankOptions { RawScores = true });

        for (var i = 0; i < Pairs.Length; i++)
            Assert.Equal(1 / (1 + Math.Exp(-logits[i])), scores[i], 6);
        Assert.All(scores, s => Assert.InRange(s, 0f, 1f));
    }

    [Fact]
    public async Task A_pairs_score_does_not_depend_on_batch_size_or_its_neighbours()
    {
        var model = FixturePaths.Model("tiny-a");
        using var one = await CrossEncoder.LoadAsync(model, new CrossEncoderOptions { BatchSize = 1 });
        using var many = await CrossEncoder.LoadAsync(model, new CrossEncoderOptions { BatchSize = 16 });
        using var budget = await CrossEncoder.LoadAsync(model, new CrossEncoderOptions { BatchSize = 16, MaxBatchTokens = 64 });
        var reversed = Pairs.Reverse().ToArray();

        var alone = await one.PredictAsync(Pairs, new RerankOptions { RawScores = true });
        var batched = await many.PredictAsync(Pairs, new RerankOptions { RawScores = true });
        var budgeted = await budget.PredictAsync(Pairs, new RerankOptions { RawScores = true });
        var shuffled = (await many.PredictAsync(reversed, new RerankOptions { RawScores = true })).Reverse().ToArray();

        for (var i = 0; i < Pairs.Length; i++)
        {
            Assert.Equal(alone[i], batched[i], 4e-5f);
            Assert.Equal(alone[i], budgeted[i], 4e-5f);
            Assert.Equal(batched[i], shuffled[i], 4e-5f);
        }
        Assert.Equal(Pairs.Length, one.BatchesRun);
        Assert.True(many.BatchesRun < Pairs.Length);
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_scores()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { BatchSize = 8 });
        var expected = await encoder.PredictAsync(Pairs);

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(k => Task.Run(() =>
            encoder.PredictAsync(Pairs.Skip(k % Pairs.Length).Concat(Pairs.Take(k % Pairs.Length)).ToArray()))));

        for (var k = 0; k < 12; k++)
        {
            var rotated = expected.Skip(k % Pairs.Length).Concat(expected.Take(k % Pairs.Length)).ToArray();
            for (var i = 0; i < Pairs.Length; i++) Assert.Equal(rotated[i], results[k][i], 4e-5f);
        }
    }

    [Fact]
    public async Task Rank_sorts_best_first_keeps_indices_and_cuts_to_top_n()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        var documents = Pairs.Take(6).Select(p => p.Document).ToList();

        var all = await encoder.RerankAsync("中国的首都是哪里?", documents);
        var top = await encoder.RerankAsync("中国的首都是哪里?", documents, new RerankOptions { TopN = 2 });

        Assert.Equal(Enumerable.Range(0, 6), all.Select(r => r.Index).Order());
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.All(all, r => Assert.Equal(documents[r.Index], r.Document));
        Assert.Equal(all.Take(2), top);
    }

    [Fact]
    public void Equal_scores_keep_input_order()
    {
        var ranked = CrossEncoder.RankScores([0.5f, 0.9f, 0.5f, 0.5f], ["a", "b", "c", "d"]);
        Assert.Equal([1, 0, 2, 3], ranked.Select(r => r.Index));
    }

    [Fact]
    public async Task Empty_input_gives_empty_output_without_running_the_model()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        Assert.Empty(await encoder.PredictAsync([]));
        Assert.Empty(await encoder.RerankAsync("q", []));
        Assert.Equal(0, encoder.BatchesRun);
    }

    [Fact]
    public async Task Ranking_calls_follow_one_rule_for_empty_queries_empty_lists_and_top_n()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        string[] documents = ["北京是中国的政治中心和首都。", "杭州有西湖,是著名的旅游城市。"];

        // The same checks hold for ranking (RerankAsync) and for scores in input order (ScoreDocumentsAsync).
        foreach (var call in new Func<string, IReadOnlyList<string>, RerankOptions?, Task<int>>[]
        {
            async (q, d, o) => (await encoder.RerankAsync(q, d, o)).Count,
            async (q, d, o) => (await encoder.ScoreDocumentsAsync(q, d, o)).Scores.Length,
        })
        {
            Assert.Equal(0, await call("q", [], null));
            Assert.Equal(2, await call("q", documents, new RerankOptions { TopN = 5 }));
            RerankAssert.Throws(RerankErrorKind.InvalidInput, () => call("", documents, null).GetAwaiter().GetResult(), "The query is empty");
            RerankAssert.Throws(RerankErrorKind.InvalidInput, () => call(" \t", documents, null).GetAwaiter().GetResult(), "only whitespace");
            RerankAssert.Throws(RerankErrorKind.InvalidInput, () => call("q", documents, new RerankOptions { TopN = 0 }).GetAwaiter().GetResult(),
                "top_n must be at least 1 (or unset to keep every document); got 0.");
            RerankAssert.Throws(RerankErrorKind.InvalidInput, () => call("q", ["a", null!], null).GetAwaiter().GetResult(), "Document 1 is null");
        }
        Assert.Single(await encoder.RerankAsync("q", documents, new RerankOptions { TopN = 1 }));
        Assert.Equal(3, encoder.BatchesRun);   // one batch per call that scored; refusals and empty lists ran nothing
    }

    [Fact]
    public async Task A_nan_from_the_model_fails_every_scoring_call_instead_of_being_ranked()
    {
        var broken = BrokenModels.WithNaN("tiny-a", "classifier.out_proj.bias");
        try
        {
            using var encoder = await CrossEncoder.LoadAsync(broken);
            string[] documents = ["a", "b"];
            foreach (var call in new Action[]
            {
                () => encoder.Rank("q", documents),
                () => encoder.Predict([("q", "a")]),
                () => encoder.ScoreDocumentsAsync("q", documents, new RerankOptions { RawScores = true }).GetAwaiter().GetResult(),
                () => encoder.ScoreTokenizedAsync([[0, 5, 2]]).GetAwaiter().GetResult(),
            })
                RerankAssert.Throws(RerankErrorKind.Backend, call, "The model produced NaN as", "look for NaN in the checkpoint");
        }
        finally { Directory.Delete(broken, recursive: true); }
    }

    [Fact]
    public async Task Long_pairs_are_truncated_to_max_length_by_the_chosen_strategy()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxLength = 32 });
        var longDocument = string.Join(" ", Enumerable.Repeat("北京是中国的政治中心和首都。", 40));

        var longFirst = await encoder.PredictAsync([("中国的首都是哪里?", longDocument)]);
        var onlySecond = await encoder.PredictAsync([("中国的首都是哪里?", longDocument)], new RerankOptions { Truncation = TruncationStrategy.OnlySecond });

        Assert.Equal(32, encoder.Tokenizer.EncodePair("中国的首都是哪里?", longDocument, 32).Length);
        Assert.Single(longFirst);
        Assert.Single(onlySecond);
        var error = await Assert.ThrowsAsync<RerankException>(() =>
            encoder.PredictAsync([(longDocument, "d")], new RerankOptions { Truncation = TruncationStrategy.OnlySecond }));
        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
    }

    [Fact]
    public async Task A_max_length_beyond_the_model_is_clamped_with_a_warning()
    {
        var logger = new ListLogger();
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxLength = 100_000, Logger = logger });

        Assert.Equal(512, encoder.MaxLength);
        Assert.Contains(logger.Messages, m => m.Contains("100000") && m.Contains("512"));
    }

    [Fact]
    public async Task Both_graph_forms_give_the_same_scores()
    {
        using var fused = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-b"), new CrossEncoderOptions { GraphForm = GraphForm.Fused });
        using var plain = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-b"), new CrossEncoderOptions { GraphForm = GraphForm.Plain });

        var a = await fused.PredictAsync(Pairs, new RerankOptions { RawScores = true });
        var b = await plain.PredictAsync(Pairs, new RerankOptions { RawScores = true });

        for (var i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 5e-5f);
    }

    [Fact]
    public async Task The_built_graph_can_be_saved_for_inspection()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rerank-graph-{Guid.NewGuid():N}.onnx");
        try
        {
            using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { SaveOnnxPath = path });
            var model = RerankSharp.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Contains(model.Graph.Initializer, t => t.Name == "classifier.out_proj.weight");
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData(0, 16384, null, "Batch size")]
    [InlineData(16, 0, null, "Max batch tokens")]
    [InlineData(16, 16384, 3, "Max length")]
    public async Task Bad_options_are_refused_with_what_to_use(int batchSize, int maxBatchTokens, int? maxLength, string expected)
    {
        var error = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"),
            new CrossEncoderOptions { BatchSize = batchSize, MaxBatchTokens = maxBatchTokens, MaxLength = maxLength }));
        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task A_model_with_several_labels_is_refused_at_load()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-labels-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(FixturePaths.Model("tiny-a")))
                File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
            var config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, File.ReadAllText(config)
                .Replace("\"0\": \"LABEL_0\"", "\"0\": \"LABEL_0\", \"1\": \"LABEL_1\"")
                .Replace("\"LABEL_0\": 0", "\"LABEL_0\": 0, \"LABEL_1\": 1"));

            var error = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(dir));

            Assert.Equal(RerankErrorKind.UnsupportedModel, error.Kind);
            Assert.Contains("2 labels", error.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Score_documents_gives_predicts_scores_with_tokens_cuts_and_timings()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxLength = 40 });
        var documents = new[] { "北京是中国的政治中心和首都。", string.Join(" ", Enumerable.Repeat("上海是中国的经济中心。", 20)), "" };

        var scored = await encoder.ScoreDocumentsAsync("中国的首都是哪里?", documents);
        var predicted = await encoder.PredictAsync(documents.Select(d => ("中国的首都是哪里?", d)).ToArray());

        Assert.Equal(predicted, scored.Scores);
        Assert.Equal(documents.Select(d => encoder.Tokenizer.EncodePair("中国的首都是哪里?", d, 40).Length), scored.Tokens);
        Assert.Equal([false, true, false], scored.Truncated);
        Assert.Equal(scored.Tokens.Sum(), scored.TotalTokens);
        Assert.True(scored.QueueTime >= TimeSpan.Zero && scored.InferenceTime > TimeSpan.Zero);
    }

    [Fact]
    public async Task Without_truncation_an_overlong_pair_is_refused_naming_the_document()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxLength = 24 });

        var error = await Assert.ThrowsAsync<RerankException>(() => encoder.ScoreDocumentsAsync("q",
            ["short", string.Join(" ", Enumerable.Repeat("上海是中国的经济中心。", 20))], new RerankOptions { Truncate = false }));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains("Document 1", error.Message);
        Assert.Contains("max length of 24", error.Message);
    }

    [Fact]
    public async Task Left_truncation_keeps_the_end_of_the_document_and_a_document_cap_cuts_before_the_pair()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { MaxLength = 16 });
        var document = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen";
        var query = encoder.Tokenizer.EncodeText("q");
        var ids = encoder.Tokenizer.EncodeText(document);

        var left = await encoder.ScoreDocumentsAsync("q", [document], new RerankOptions { TruncationDirection = TruncationDirection.Left, RawScores = true });
        var capped = await encoder.ScoreDocumentsAsync("q", [document], new RerankOptions { MaxDocumentTokens = 3, RawScores = true });

        int[] leftIds = [encoder.Tokenizer.BosId, .. query, encoder.Tokenizer.EosId, encoder.Tokenizer.EosId, .. ids[^(16 - 4 - query.Length)..], encoder.Tokenizer.EosId];
        int[] cappedIds = [encoder.Tokenizer.BosId, .. query, encoder.Tokenizer.EosId, encoder.Tokenizer.EosId, .. ids[..3], encoder.Tokenizer.EosId];
        Assert.Equal((await encoder.ScoreTokenizedAsync([leftIds], rawScores: true))[0], left.Scores[0]);
        Assert.Equal((await encoder.ScoreTokenizedAsync([cappedIds], rawScores: true))[0], capped.Scores[0]);
        Assert.Equal([true], left.Truncated);
        Assert.Equal([true], capped.Truncated);
        Assert.Equal(cappedIds.Length, capped.Tokens[0]);
    }

    [Fact]
    public async Task Queue_statistics_and_batch_reports_count_what_ran()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { BatchSize = 4 });
        var reports = new List<BatchReport>();
        encoder.BatchCompleted += (_, report) => { lock (reports) reports.Add(report); };

        var scored = await encoder.ScoreDocumentsAsync("q", Pairs.Select(p => p.Document).ToArray());
        var statistics = encoder.QueueStatistics;

        Assert.Equal(0, statistics.QueuedSequences);
        Assert.Equal(0, statistics.QueuedTokens);
        Assert.Equal(Pairs.Length, statistics.SequencesRun);
        Assert.Equal(scored.TotalTokens, statistics.TokensRun);
        Assert.True(statistics.PaddedTokensRun >= statistics.TokensRun);
        lock (reports)
        {
            Assert.Equal(statistics.BatchesRun, reports.Count);
            Assert.Equal(Pairs.Length, reports.Sum(r => r.Rows));
            Assert.Equal(scored.TotalTokens, reports.Sum(r => r.Tokens));
            Assert.All(reports, r => Assert.Equal(1, r.Callers));
        }
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }

    [Theory]
    [InlineData(true)]    // ONNX Runtime copies the weights into packed buffers
    [InlineData(false)]   // ONNX Runtime maps the weight file and reads it while scoring
    public async Task A_loaded_model_scores_the_same_after_the_cache_switches_its_snapshot_and_drops_the_old_blob(bool prepack)
    {
        // What a hub download does to a cache in use: the new weights go to a new blob, a new link is renamed over
        // snapshots/<commit>/model.safetensors, and a prune deletes the old blob. None of it changes the inode the
        // loaded model reads, so it keeps scoring with the weights it loaded; a reload sees the new ones.
        using var cache = new TempDirectory();
        var blobs = Directory.CreateDirectory(cache.PathOf("blobs")).FullName;
        var snapshot = Directory.CreateDirectory(Path.Combine(cache.Path, "snapshots", "c1")).FullName;
        var tinyA = FixturePaths.Model("tiny-a");
        foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(tinyA, file), Path.Combine(snapshot, file));
        File.Copy(Path.Combine(tinyA, "model.safetensors"), Path.Combine(blobs, "old"));
        File.CreateSymbolicLink(Path.Combine(snapshot, "model.safetensors"), "../../blobs/old");
        var pairs = Pairs[..8];
        using var served = await CrossEncoder.LoadAsync(snapshot, new CrossEncoderOptions { PrepackWeights = prepack });
        var before = await served.PredictAsync(pairs, new RerankOptions { RawScores = true });

        var newBlob = Path.Combine(blobs, "new");
        File.Copy(Path.Combine(blobs, "old"), newBlob);
        long biasOffset;
        using (var weights = SafetensorsStore.Open([newBlob])) biasOffset = weights.Tensors["classifier.out_proj.bias"].FileOffset;
        using (var write = new FileStream(newBlob, FileMode.Open, FileAccess.Write))
        {
            write.Position = biasOffset;
            write.Write(BitConverter.GetBytes(7.5f));
        }
        File.CreateSymbolicLink(Path.Combine(snapshot, "link.tmp"), "../../blobs/new");
        File.Move(Path.Combine(snapshot, "link.tmp"), Path.Combine(snapshot, "model.safetensors"), overwrite: true);
        File.Delete(Path.Combine(blobs, "old"));

        var after = await served.PredictAsync(pairs, new RerankOptions { RawScores = true });
        using var reloaded = await CrossEncoder.LoadAsync(snapshot, new CrossEncoderOptions { PrepackWeights = prepack });
        var reloadedScores = await reloaded.PredictAsync(pairs, new RerankOptions { RawScores = true });

        Assert.Equal(before, after);
        Assert.All(reloadedScores.Zip(before), p => Assert.NotEqual(p.First, p.Second));
    }

    [Fact]
    public async Task Cancelling_the_only_caller_terminates_the_running_batch_instead_of_finishing_it()
    {
        // One batch of 96 pairs × 512 tokens on one thread, its shape never run before: seconds of work on tiny-a
        // (fresh buffers fault in page by page), so a cancel 100 ms after it starts lands inside the run.
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"),
            new CrossEncoderOptions { BatchSize = 96, MaxBatchTokens = 96 * 512, Threads = 1 });
        var random = new Random(5);
        var sequences = Enumerable.Range(0, 96)
            .Select(_ => new[] { 0 }.Concat(Enumerable.Range(0, 510).Select(_ => random.Next(4, 16000))).Append(2).ToArray()).ToArray();
        var probe = new[] { sequences[0][..8].Append(2).ToArray() };

        using var cancel = new CancellationTokenSource();
        var running = encoder.ScoreTokenizedAsync(sequences, cancellationToken: cancel.Token);
        while (encoder.QueueStatistics.QueuedSequences > 0) await Task.Delay(1);
        await Task.Delay(TimeSpan.FromMilliseconds(100));
        var cancelled = System.Diagnostics.Stopwatch.StartNew();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        // The engine is free when the next caller's pair has run.
        await encoder.ScoreTokenizedAsync(probe);
        var freedAfter = cancelled.Elapsed;

        output.WriteLine($"engine free {freedAfter.TotalMilliseconds:F0} ms after cancelling a 96 × 512 batch");
        Assert.Equal(1, encoder.BatchesRun);   // the probe: the cancelled batch never completed
        Assert.True(freedAfter < TimeSpan.FromSeconds(5), $"the engine was free only {freedAfter} after cancelling");
    }

    [Fact]
    public async Task Its_metadata_names_the_model_and_the_in_process_provider()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        IReranker reranker = encoder;

        var metadata = reranker.GetService<RerankerMetadata>();

        Assert.Equal(new RerankerMetadata("rerank_sharp", null, "tiny-a"), metadata);
        Assert.Same(encoder, reranker.GetService<CrossEncoder>());
        Assert.Null(reranker.GetService<CrossEncoder>(serviceKey: "other"));
    }
}
