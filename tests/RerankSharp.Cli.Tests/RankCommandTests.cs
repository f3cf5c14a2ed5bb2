using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class RankCommandTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");
    private static readonly string[] Docs = ["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。", "上海是中国的经济中心。"];

    [Theory]
    [InlineData("tiny-a")]
    [InlineData("modernbert-a")]
    [InlineData("jina-b")]
    [InlineData("gte-a")]
    [InlineData("deberta-a")]
    public void Json_output_is_sorted_best_first_with_original_indices_and_library_scores(string model)
    {
        var path = FixturePaths.Model(model);
        var result = RerankProcess.Run(null, "rank", "--model", path, "--query", "中国的首都是哪里?",
            "--doc", Docs[0], "--doc", Docs[1], "--doc", Docs[2], "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var results = JsonNode.Parse(result.Stdout)!["results"]!.AsArray();
        using var encoder = CrossEncoder.Load(path);
        var expected = encoder.Rank("中国的首都是哪里?", Docs);
        Assert.Equal(expected.Select(r => r.Index), results.Select(r => r!["index"]!.GetValue<int>()));
        Assert.Equal(expected.Select(r => r.Score), results.Select(r => r!["score"]!.GetValue<float>()));
        Assert.Equal(expected.Select(r => r.Document), results.Select(r => r!["document"]!.GetValue<string>()));
    }

    [Fact]
    public void Top_n_keeps_the_best_and_the_table_shows_them()
    {
        var result = RerankProcess.Run(null, "rank", "--model", Model, "--query", "q", "--doc", "a", "--doc", "b", "--doc", "c", "--top-n", "2");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("best 2 of 3 documents in", result.Stdout);
        Assert.Contains("score", result.Stdout);
    }

    [Fact]
    public void One_document_is_counted_in_the_singular()
    {
        var result = RerankProcess.Run(null, "rank", "--model", Model, "--query", "q", "--doc", "a");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Matches(@"\n1 document in \d+ ms\n", result.Stdout);
    }

    [Theory]
    [InlineData("--top-n", "0", "error: --top-n must be at least 1 (or left out to keep every document); got 0.")]
    [InlineData("--top-n", "-2", "error: --top-n must be at least 1 (or left out to keep every document); got -2.")]
    [InlineData("--query", "", "error: The query is empty; give the text to rank the documents against.")]
    public void A_top_n_below_one_or_an_empty_query_is_one_error_line_with_exit_code_4_as_the_server_answers_400(string option, string value, string line)
    {
        string[] query = option == "--query" ? [] : ["--query", "q"];
        var result = RerankProcess.Run(null, ["rank", "--model", Model, .. query, option, value, "--doc", "a"]);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal(line, result.Stderr.Trim());
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public void Save_onnx_writes_the_built_graph_beside_the_results()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rerank-cli-{Guid.NewGuid():N}.onnx");
        try
        {
            var result = RerankProcess.Run(null, "rank", "--model", Model, "--query", "q", "--doc", "a", "--json", "--save-onnx", path);

            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.True(new FileInfo(path).Length > 1000);
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("qwen3-a")]   // Qwen3-Reranker: the instruction replaces the model card's default
    [InlineData("mxbai-a")]   // mxbai-rerank-v2: the instruction goes before the query
    [InlineData("gemma-a")]   // bge-reranker-v2-gemma: the instruction replaces FlagEmbedding's prompt
    public void Instruction_reaches_an_instruction_following_reranker(string model)
    {
        var qwen = FixturePaths.Model(model);
        string[] args = ["rank", "--model", qwen, "--query", "what is panda?", "--doc", "The giant panda is a bear.", "--doc", "hi", "--json"];
        var plain = RerankProcess.Run(null, args);
        var instructed = RerankProcess.Run(null, [.. args, "--instruction", "Judge whether the passage is about animals"]);

        Assert.True(plain.ExitCode == 0 && instructed.ExitCode == 0, plain.Stderr + instructed.Stderr);
        using var encoder = CrossEncoder.Load(qwen);
        var expected = encoder.Rank("what is panda?", ["The giant panda is a bear.", "hi"], new RerankOptions { Instruction = "Judge whether the passage is about animals" });
        var results = JsonNode.Parse(instructed.Stdout)!["results"]!.AsArray();
        Assert.Equal(expected.Select(r => r.Score), results.Select(r => r!["score"]!.GetValue<float>()));
        Assert.NotEqual(plain.Stdout, instructed.Stdout);
    }
}
