using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Server.Tests;

/// <summary>
/// The rerank routes over models of the other architectures: each route gives the library's scores for the model the
/// server hosts (ModernBERT, BERT, jina-reranker-v2), including documents past ModernBERT's local window and long documents in windows.
/// </summary>
public class ArchitectureRouteTests
{
    private static readonly string[] Documents =
    [
        "北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。",
        string.Join(' ', Enumerable.Repeat("The old mill by the river grinds the wheat of the valley.", 12)),
        "hi",
    ];

    [Theory]
    [InlineData("modernbert-a", "/rerank", "texts")]
    [InlineData("modernbert-a", "/v1/rerank", "documents")]
    [InlineData("modernbert-b", "/v2/rerank", "documents")]
    [InlineData("bert-a", "/v1/rerank", "documents")]
    [InlineData("jina-a", "/v1/rerank", "documents")]
    [InlineData("jina-b", "/rerank", "texts")]
    [InlineData("gte-a", "/rerank", "texts")]
    [InlineData("gte-b", "/v2/rerank", "documents")]
    [InlineData("deberta-a", "/v1/rerank", "documents")]
    [InlineData("deberta-b", "/rerank", "texts")]
    public async Task Each_route_scores_as_the_library_does(string model, string route, string field)
    {
        await using var server = await RunningServer.StartAsync(modelPath: FixturePaths.Model(model));
        using var reference = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var expected = await reference.PredictAsync(Documents.Select(d => ("中国的首都是哪里?", d)).ToArray());

        var body = new JsonObject { ["query"] = "中国的首都是哪里?", [field] = new JsonArray(Documents.Select(d => (JsonNode)d!).ToArray()) };
        if (route == "/v2/rerank") body["model"] = model;
        var (response, reply) = await server.PostAsync(route, body);

        Assert.Equal(200, (int)response.StatusCode);
        var results = route == "/rerank" ? reply!.AsArray() : reply!["results"]!.AsArray();
        Assert.Equal(Documents.Length, results.Count);
        foreach (var r in results)
            Assert.Equal(expected[r!["index"]!.GetValue<int>()], (r["score"] ?? r["relevance_score"])!.GetValue<float>());
    }

    [Fact]
    public async Task Long_documents_in_windows_reach_a_modernbert_model()
    {
        await using var server = await RunningServer.StartAsync(modelPath: FixturePaths.Model("modernbert-a"),
            encoderOptions: new CrossEncoderOptions { MaxLength = 48 });
        using var reference = await CrossEncoder.LoadAsync(FixturePaths.Model("modernbert-a"), new CrossEncoderOptions { MaxLength = 48 });
        var options = new RerankOptions { LongDocuments = LongDocumentMode.Chunk };
        var expected = await reference.PredictAsync(Documents.Select(d => ("mill", d)).ToArray(), options);

        var body = new JsonObject
        {
            ["query"] = "mill", ["texts"] = new JsonArray(Documents.Select(d => (JsonNode)d!).ToArray()), ["long_documents"] = "chunk",
        };
        var (response, reply) = await server.PostAsync("/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        foreach (var r in reply!.AsArray())
            Assert.Equal(expected[r!["index"]!.GetValue<int>()], r["score"]!.GetValue<float>());
        Assert.NotEqual(expected[2], (await reference.PredictAsync([("mill", Documents[2])]))[0]);   // the long one really was windowed
    }
}
