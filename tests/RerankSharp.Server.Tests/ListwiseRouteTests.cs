using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Server.Tests;

/// <summary>
/// A listwise model (jina-reranker-v3, fixture jina-v3-a) behind every rerank route unchanged: the library's scores for
/// the request's documents read together, top_n and return_documents as for any model, chunk mode refused with a 400.
/// </summary>
public class ListwiseRouteTests
{
    private static readonly string Model = FixturePaths.Model("jina-v3-a");
    private static readonly string[] Documents = ["北京是中国的政治中心和首都。", "The old mill by the river grinds the wheat.", "", "首都机场位于北京。"];
    private const string Query = "中国的首都是哪里?";

    [Theory]
    [InlineData("/rerank", "texts")]
    [InlineData("/v1/rerank", "documents")]
    [InlineData("/v2/rerank", "documents")]
    public async Task Each_route_gives_the_librarys_listwise_scores(string route, string field)
    {
        await using var server = await RunningServer.StartAsync(modelPath: Model);
        using var reference = await CrossEncoder.LoadAsync(Model);
        var expected = (await reference.ScoreDocumentsAsync(Query, Documents)).Scores;

        var body = new JsonObject { ["query"] = Query, [field] = new JsonArray(Documents.Select(d => (JsonNode)d!).ToArray()) };
        if (route == "/v2/rerank") body["model"] = "jina";
        var (response, reply) = await server.PostAsync(route, body);

        Assert.Equal(200, (int)response.StatusCode);
        var results = route == "/rerank" ? reply!.AsArray() : reply!["results"]!.AsArray();
        Assert.Equal(Documents.Length, results.Count);
        foreach (var r in results)
            Assert.Equal(expected[r!["index"]!.GetValue<int>()], (r["score"] ?? r["relevance_score"])!.GetValue<float>());
    }

    [Fact]
    public async Task Top_n_and_return_documents_work_as_for_any_model()
    {
        await using var server = await RunningServer.StartAsync(modelPath: Model);
        var expected = CrossEncoder.RankScores((await server.Encoder.ScoreDocumentsAsync(Query, Documents)).Scores, Documents, 2);

        var (response, reply) = await server.PostAsync("/v1/rerank",
            new JsonObject { ["query"] = Query, ["documents"] = new JsonArray(Documents.Select(d => (JsonNode)d!).ToArray()), ["top_n"] = 2, ["return_documents"] = true });

        Assert.Equal(200, (int)response.StatusCode);
        var results = reply!["results"]!.AsArray();
        Assert.Equal(expected.Select(r => r.Index), results.Select(r => r!["index"]!.GetValue<int>()));
        Assert.Equal(expected.Select(r => r.Document), results.Select(r => r!["document"]!["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Chunk_mode_is_refused_with_a_400_that_says_why()
    {
        await using var server = await RunningServer.StartAsync(modelPath: Model);

        var (response, reply) = await server.PostAsync("/v1/rerank",
            new JsonObject { ["query"] = Query, ["documents"] = new JsonArray("a", "b"), ["long_documents"] = "chunk" });

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("listwise", reply!["error"]!.GetValue<string>());
    }
}
