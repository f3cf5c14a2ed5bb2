using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Server.Tests;

/// <summary>The optional <c>instruction</c> field of the rerank routes (as vLLM, SGLang and llama.cpp take it), served by Qwen3-Reranker, mxbai-rerank-v2 and bge-reranker-v2-gemma fixtures.</summary>
public class InstructionTests
{
    private const string Instruction = "Given a question, retrieve passages that answer it";
    private static readonly string Model = FixturePaths.Model("qwen3-a");

    [Theory]
    [InlineData("/rerank", "texts", "qwen3-a")]
    [InlineData("/v1/rerank", "documents", "qwen3-a")]
    [InlineData("/v2/rerank", "documents", "qwen3-a")]
    [InlineData("/rerank", "texts", "mxbai-a")]
    [InlineData("/v2/rerank", "documents", "mxbai-a")]
    [InlineData("/v1/rerank", "documents", "gemma-a")]
    public async Task Each_route_scores_with_the_instruction_it_is_given_and_the_default_without(string route, string field, string model)
    {
        await using var server = await RunningServer.StartAsync(modelPath: FixturePaths.Model(model));
        using var reference = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var pairs = TestTexts.Documents.Select(d => (TestTexts.Query, d)).ToArray();
        var expectedDefault = await reference.PredictAsync(pairs);
        var expectedInstructed = await reference.PredictAsync(pairs, new RerankOptions { Instruction = Instruction });

        var plain = await Scores(server, route, field, null);
        var instructed = await Scores(server, route, field, Instruction);

        Assert.Equal(expectedDefault, plain);
        Assert.Equal(expectedInstructed, instructed);
        Assert.NotEqual(plain, instructed);
    }

    [Fact]
    public async Task A_non_string_instruction_is_a_400()
    {
        await using var server = await RunningServer.StartAsync(modelPath: Model);
        var body = new JsonObject { ["query"] = TestTexts.Query, ["texts"] = new JsonArray("a", "b"), ["instruction"] = 3 };

        var (response, reply) = await server.PostAsync("/rerank", body);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("instruction", reply!["error"]!.GetValue<string>());
    }

    private static async Task<float[]> Scores(RunningServer server, string route, string field, string? instruction)
    {
        var body = new JsonObject { ["query"] = TestTexts.Query, [field] = new JsonArray(TestTexts.Documents.Select(d => (JsonNode)d!).ToArray()) };
        if (instruction is not null) body["instruction"] = instruction;
        if (route == "/v2/rerank") body["model"] = "qwen3";
        var (response, reply) = await server.PostAsync(route, body);
        Assert.Equal(200, (int)response.StatusCode);
        var results = route == "/rerank" ? reply!.AsArray() : reply!["results"]!.AsArray();
        var scores = new float[TestTexts.Documents.Length];
        foreach (var r in results)
            scores[r!["index"]!.GetValue<int>()] = (r["score"] ?? r["relevance_score"])!.GetValue<float>();
        return scores;
    }
}
