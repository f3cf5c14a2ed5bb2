using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class ScoreCommandTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");

    [Theory]
    [InlineData("tiny-a")]
    [InlineData("gte-b")]
    [InlineData("deberta-b")]
    public void Writes_one_line_of_scores_per_input_line_in_order_and_nothing_else_on_stdout(string model)
    {
        var path = FixturePaths.Model(model);
        var input = string.Join('\n',
            """{"query": "中国的首都是哪里?", "documents": ["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。"]}""",
            """{"query": "what is a reranker?", "documents": ["A cross-encoder reads query and passage together.", "", "Bananas are yellow."]}""",
            """{"query": "empty list", "documents": []}""") + "\n";

        var result = RerankProcess.Run(input, "score", "--model", path);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.StdoutLines.Select(l => JsonNode.Parse(l)!["scores"]!.AsArray().Select(s => s!.GetValue<float>()).ToArray()).ToArray();
        Assert.Equal([2, 3, 0], lines.Select(l => l.Length));
        using var encoder = CrossEncoder.Load(path);
        var expected = encoder.Predict([("中国的首都是哪里?", "北京是中国的政治中心和首都。"), ("中国的首都是哪里?", "首都机场位于北京,是中国重要交通枢纽。")]);
        Assert.Equal(expected, lines[0]);
        Assert.All(lines.SelectMany(l => l), s => Assert.InRange(s, 0f, 1f));
    }

    [Fact]
    public void A_line_with_an_empty_query_gets_the_librarys_error_and_the_others_are_scored()
    {
        var input = string.Join('\n',
            """{"query": "", "documents": ["a"]}""",
            """{"query": "q", "documents": ["a"]}""") + "\n";

        var result = RerankProcess.Run(input, "score", "--model", Model);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("The query is empty; give the text to rank the documents against.", JsonNode.Parse(result.StdoutLines[0])!["error"]!.GetValue<string>());
        Assert.Single(JsonNode.Parse(result.StdoutLines[1])!["scores"]!.AsArray());
        Assert.Contains("1 of 2 lines could not be scored", result.Stderr);
    }

    [Fact]
    public void Raw_gives_logits_that_are_the_inverse_sigmoid_of_the_default_scores()
    {
        const string input = """{"query": "q", "documents": ["some passage", "another one"]}""";

        var scores = JsonNode.Parse(RerankProcess.Run(input, "score", "--model", Model).StdoutLines[0])!["scores"]!.AsArray();
        var logits = JsonNode.Parse(RerankProcess.Run(input, "score", "--model", Model, "--raw").StdoutLines[0])!["scores"]!.AsArray();

        for (var i = 0; i < 2; i++)
            Assert.Equal(scores[i]!.GetValue<float>(), 1f / (1f + MathF.Exp(-logits[i]!.GetValue<float>())), 5);
    }

    [Fact]
    public void A_bad_line_gets_an_error_line_the_others_are_scored_and_the_exit_code_says_so()
    {
        var input = "{\"query\": \"q\", \"documents\": [\"a\"]}\n{not json}\n{\"query\": \"q\", \"documents\": [1]}\n{\"query\": \"q\", \"documents\": [\"b\"]}\n";

        var result = RerankProcess.Run(input, "score", "--model", Model, "--input", "-");

        Assert.Equal(4, result.ExitCode);
        var lines = result.StdoutLines.Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(4, lines.Length);
        Assert.True(lines[0].ContainsKey("scores"));
        // The input's own line and column, not System.Text.Json's count within the line ("LineNumber: 0").
        Assert.Equal("standard input: line 2 is not valid JSON at byte 2: 'n' is an invalid start of a property name. Expected a '\"'.",
            lines[1]["error"]!.GetValue<string>());
        Assert.Contains("documents[0] must be a string", lines[2]["error"]!.GetValue<string>());
        Assert.True(lines[3].ContainsKey("scores"));
        // One summary line that names the first failure once.
        Assert.Equal("error: 2 of 4 lines could not be scored and got an \"error\" line instead; the first: standard input: line 2 is not valid JSON at byte 2: 'n' is an invalid start of a property name. Expected a '\"'.",
            result.Stderr.Trim());
    }

    [Fact]
    public void Reads_from_a_file_and_writes_to_an_output_file()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-score-");
        try
        {
            var inputPath = Path.Combine(dir.FullName, "in.jsonl");
            var outputPath = Path.Combine(dir.FullName, "out.jsonl");
            File.WriteAllText(inputPath, "{\"query\": \"q\", \"documents\": [\"a\", \"b\"]}\n");

            var result = RerankProcess.Run(null, "score", "--model", Model, "--input", inputPath, "--output", outputPath);

            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal("", result.Stdout);
            Assert.Equal(2, JsonNode.Parse(File.ReadAllLines(outputPath).Single())!["scores"]!.AsArray().Count);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_run_that_fails_leaves_an_existing_output_file_untouched_and_no_partial_file()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-score-");
        try
        {
            var inputPath = Path.Combine(dir.FullName, "in.jsonl");
            var outputPath = Path.Combine(dir.FullName, "out.jsonl");
            File.WriteAllText(inputPath, "{\"query\": \"q\", \"documents\": [\"a\"]}\n");
            File.WriteAllText(outputPath, "previous results\n");

            var result = RerankProcess.Run(null, "score", "--model", "/nonexistent/model", "--input", inputPath, "--output", outputPath);

            Assert.Equal(2, result.ExitCode);
            Assert.Equal("previous results\n", File.ReadAllText(outputPath));
            Assert.Equal(["in.jsonl", "out.jsonl"], dir.GetFiles().Select(f => f.Name).Order());
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Non_utf8_input_fails_with_one_line_naming_the_line_and_no_stack_trace()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-latin1-");
        try
        {
            var inputPath = Path.Combine(dir.FullName, "latin1.jsonl");
            File.WriteAllBytes(inputPath, [.. "{\"query\": \"q\", \"documents\": [\"ok\"]}\n{\"query\": \"caf"u8, 0xE9, .. "\", \"documents\": [\"x\"]}\n"u8]);

            var result = RerankProcess.Run(null, "score", "--model", Model, "--input", inputPath);

            Assert.Equal(4, result.ExitCode);
            var stderr = result.Stderr.Trim();
            Assert.Single(stderr.Split('\n'));
            Assert.Contains("line 2 is not valid UTF-8", stderr);
            Assert.DoesNotContain("   at ", stderr);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Theory]
    [InlineData("qwen3-b")]
    [InlineData("mxbai-b")]
    [InlineData("gemma-b")]
    public void A_lines_instruction_wins_over_the_flag_for_an_instruction_following_reranker(string model)
    {
        var qwen = FixturePaths.Model(model);
        var input = string.Join('\n',
            """{"query": "what is panda?", "documents": ["The giant panda is a bear."]}""",
            """{"query": "what is panda?", "documents": ["The giant panda is a bear."], "instruction": "Find animals"}""") + "\n";

        var result = RerankProcess.Run(input, "score", "--model", qwen, "--instruction", "Find plants");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var scores = result.StdoutLines.Select(l => JsonNode.Parse(l)!["scores"]![0]!.GetValue<float>()).ToArray();
        using var encoder = CrossEncoder.Load(qwen);
        (string, string)[] pair = [("what is panda?", "The giant panda is a bear.")];
        // Within float rounding: the two lines may share one batch, and so one computed prompt prefix, which a pair
        // scored alone does not (the 1e-5 of docs/models.md; measured 6e-8).
        Assert.Equal(encoder.Predict(pair, new RerankOptions { Instruction = "Find plants" })[0], scores[0], 1e-5f);
        Assert.Equal(encoder.Predict(pair, new RerankOptions { Instruction = "Find animals" })[0], scores[1], 1e-5f);
    }

    [Fact]
    public void Three_shards_written_to_files_concatenate_to_the_unsharded_output()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-shard-");
        try
        {
            // 11 lines that get an output line (11 does not split evenly in 3), one of them bad, whose error line must keep
            // its place; and a blank line, which gets no output line and must not shift the blocks.
            var lines = Enumerable.Range(0, 10).Select(i => $$"""{"query": "query {{i}}", "documents": [{{string.Join(", ", Enumerable.Range(0, i % 4).Select(d => $"\"document {d} of {i}\""))}}]}""").ToList();
            lines.Insert(3, "");
            lines.Insert(7, "{not json}");
            var inputPath = Path.Combine(dir.FullName, "in.jsonl");
            File.WriteAllText(inputPath, string.Join('\n', lines) + "\n");

            var whole = RerankProcess.Run(null, "score", "--model", Model, "--input", inputPath);
            var parts = Enumerable.Range(0, 3).Select(i =>
            {
                var output = Path.Combine(dir.FullName, $"part-{i}.jsonl");
                var run = RerankProcess.Run(null, "score", "--model", Model, "--input", inputPath, "--output", output, "--shard", $"{i}/3");
                return (run, Text: File.ReadAllText(output));
            }).ToList();

            Assert.Equal(4, whole.ExitCode);
            Assert.Equal(11, whole.StdoutLines.Length);
            // Line for line the same: error lines exactly, scores up to the last digits of float32, which depend on which
            // lines shared a batch (padding and the attention kernel differ with the batch's shape) and so on timing.
            var concatenated = string.Concat(parts.Select(p => p.Text)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(whole.StdoutLines.Length, concatenated.Length);
            foreach (var (expected, actual) in whole.StdoutLines.Zip(concatenated))
            {
                var (e, a) = (JsonNode.Parse(expected)!.AsObject(), JsonNode.Parse(actual)!.AsObject());
                if (e["error"] is { } error) { Assert.Equal(error.GetValue<string>(), a["error"]!.GetValue<string>()); continue; }
                var (es, scores) = (e["scores"]!.AsArray(), a["scores"]!.AsArray());
                Assert.Equal(es.Count, scores.Count);
                for (var i = 0; i < es.Count; i++) Assert.Equal(es[i]!.GetValue<float>(), scores[i]!.GetValue<float>(), 1e-5f);
            }
            // ⌊11·i/3⌋: blocks of 3, 4 and 4 lines; the bad line (the 7th scored line) falls in shard 1.
            Assert.Equal([3, 4, 4], parts.Select(p => p.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length));
            Assert.Equal([0, 4, 0], parts.Select(p => p.run.ExitCode));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Shard_from_the_environment_and_refused_on_standard_input()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-shard-");
        try
        {
            var inputPath = Path.Combine(dir.FullName, "in.jsonl");
            File.WriteAllText(inputPath, "{\"query\": \"a\", \"documents\": [\"x\"]}\n{\"query\": \"b\", \"documents\": [\"y\", \"z\"]}\n");

            var second = RerankProcess.Run(null, new Dictionary<string, string> { ["RERANK_SHARD"] = "1/2" }, "score", "--model", Model, "--input", inputPath);
            var piped = RerankProcess.Run(File.ReadAllText(inputPath), "score", "--model", Model, "--shard", "0/2");
            var bad = RerankProcess.Run(null, "score", "--model", Model, "--input", inputPath, "--shard", "2/2");

            Assert.True(second.ExitCode == 0, second.Stderr);
            Assert.Equal(2, JsonNode.Parse(second.StdoutLines.Single())!["scores"]!.AsArray().Count);
            Assert.Equal(4, piped.ExitCode);
            Assert.Contains("--shard 0/2 needs a file", piped.Stderr);
            Assert.Equal("", piped.Stdout);
            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("--shard 2/2 is not a shard", bad.Stderr);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_line_with_a_key_given_twice_or_a_lone_surrogate_escape_gets_an_error_line_and_the_others_are_scored()
    {
        // Found by fuzzing: both threw from JsonNode (ArgumentException, InvalidOperationException) and ended the run.
        var input = "{\"query\": \"q\", \"documents\": [\"a\"], \"query\": \"r\"}\n{\"query\": \"q\\ud800\", \"documents\": [\"a\"]}\n{\"query\": \"q\", \"documents\": [\"b\"]}\n";

        var result = RerankProcess.Run(input, "score", "--model", Model);

        Assert.Equal(4, result.ExitCode);
        var lines = result.StdoutLines.Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Contains("Duplicate property 'query'", lines[0]["error"]!.GetValue<string>());
        Assert.Contains("lone UTF-16 surrogate", lines[1]["error"]!.GetValue<string>());
        Assert.Single(lines[2]["scores"]!.AsArray());
        Assert.Contains("2 of 3 lines", result.Stderr);
    }
}
