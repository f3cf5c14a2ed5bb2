using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

// The rerank commands over a listwise model (jina-reranker-v3, fixture jina-v3-a): rank and score give the library's
// scores for each line's documents read together, bench times one request of DOCS documents of TOKENS tokens each.
public class ListwiseCommandTests
{
    private static readonly string Model = FixturePaths.Model("jina-v3-a");
    private static readonly string[] Documents = ["The giant panda is a bear species endemic to China.", "Paris is the capital of France.", "Bamboo."];

    [Fact]
    public void Rank_gives_the_librarys_listwise_scores_best_first()
    {
        var result = RerankProcess.Run(null, ["rank", "--model", Model, "--query", "what is panda?", .. Documents.SelectMany(d => new[] { "--doc", d }), "--top-n", "2", "--json"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var encoder = CrossEncoder.Load(Model);
        var expected = encoder.Rank("what is panda?", Documents, new RerankOptions { TopN = 2 });
        var results = JsonNode.Parse(result.Stdout)!["results"]!.AsArray();
        Assert.Equal(expected.Select(r => r.Index), results.Select(r => r!["index"]!.GetValue<int>()));
        Assert.Equal(expected.Select(r => r.Score), results.Select(r => r!["score"]!.GetValue<float>()));
    }

    [Fact]
    public async Task Score_gives_each_lines_documents_their_listwise_scores_and_refuses_chunk_mode()
    {
        var input = string.Join('\n',
            new JsonObject { ["query"] = "what is panda?", ["documents"] = new JsonArray(Documents.Select(d => (JsonNode)d!).ToArray()) }.ToJsonString(),
            new JsonObject { ["query"] = "capital", ["documents"] = new JsonArray("Paris is the capital of France.") }.ToJsonString()) + "\n";

        var result = RerankProcess.Run(input, "score", "--model", Model);
        var chunked = RerankProcess.Run(input, "score", "--model", Model, "--long-documents", "chunk");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var encoder = CrossEncoder.Load(Model);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["scores"]!.AsArray().Select(s => s!.GetValue<float>()).ToArray()).ToArray();
        Assert.Equal((await encoder.ScoreDocumentsAsync("what is panda?", Documents)).Scores, lines[0]);
        Assert.Equal((await encoder.ScoreDocumentsAsync("capital", ["Paris is the capital of France."])).Scores, lines[1]);
        Assert.NotEqual(0, chunked.ExitCode);
        Assert.Contains("listwise", chunked.Stdout + chunked.Stderr);
    }

    [Fact]
    public void Info_says_the_scores_are_cosines_without_an_activation()
    {
        var result = RerankProcess.Run(null, "info", "--model", Model);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("JinaForRanking, graph built from the safetensors", result.Stdout);
        Assert.Contains("cosine", result.Stdout);
        Assert.DoesNotContain("Sigmoid", result.Stdout);
    }

    [Fact]
    public void Bench_times_one_request_of_docs_documents_of_tokens_each()
    {
        var result = RerankProcess.Run(null, "bench", "--model", Model, "--grid", "16x3,24x5", "--warmup", "0", "--repeats", "1", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var rows = JsonNode.Parse(result.Stdout)!["rows"]!.AsArray();
        Assert.Equal([(16, 3), (24, 5)], rows.Select(r => (r!["tokens"]!.GetValue<int>(), r["docs"]!.GetValue<int>())));
        Assert.Contains("listwise, 5 documents of 24 tokens in one request", result.Stderr);
    }
}
