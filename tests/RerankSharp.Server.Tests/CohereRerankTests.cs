using System.Text.Json.Nodes;
using RerankSharp.Scoring;

namespace RerankSharp.Server.Tests;

public class CohereRerankTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static JsonArray Strings(IEnumerable<string> items) => new(items.Select(t => (JsonNode)t!).ToArray());

    private int PairTokens(string query, IEnumerable<string> documents) =>
        documents.Sum(d => Server.Encoder.Tokenizer.EncodePair(query, d, Server.Encoder.MaxLength).Length);

    [Fact]
    public async Task V1_answers_id_model_results_usage_and_meta_and_omits_documents_unless_asked()
    {
        var body = new JsonObject { ["model"] = "rerank-english-v3.0", ["query"] = TestTexts.Query, ["documents"] = Strings(TestTexts.Documents) };

        var (response, reply) = await Server.PostAsync("/v1/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(["id", "meta", "model", "results", "usage"], reply!.AsObject().Select(p => p.Key).Order());
        Assert.True(Guid.TryParse(reply["id"]!.GetValue<string>(), out _));
        Assert.Equal("rerank-english-v3.0", reply["model"]!.GetValue<string>());
        Assert.Equal(PairTokens(TestTexts.Query, TestTexts.Documents), reply["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.Equal(["total_tokens"], reply["usage"]!.AsObject().Select(p => p.Key));
        Assert.Equal("""{"api_version":{"version":"1"},"billed_units":{"search_units":1}}""", reply["meta"]!.ToJsonString());
        var expected = await fixture.Reference.PredictAsync(TestTexts.Documents.Select(d => (TestTexts.Query, d)).ToArray());
        var results = reply["results"]!.AsArray();
        Assert.Equal(TestTexts.Documents.Length, results.Count);
        foreach (var result in results)
        {
            Assert.Equal(["index", "relevance_score"], result!.AsObject().Select(p => p.Key));
            Assert.Equal(expected[result["index"]!.GetValue<int>()], result["relevance_score"]!.GetValue<float>());
        }
        var scores = results.Select(r => r!["relevance_score"]!.GetValue<float>()).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
    }

    [Fact]
    public async Task V1_takes_object_documents_returns_their_text_and_keeps_top_n()
    {
        var documents = new JsonArray(new JsonObject { ["text"] = "北京是中国的政治中心和首都。", ["id"] = "a" }, "上海是中国的经济中心。", new JsonObject { ["text"] = "Paris" });
        var body = new JsonObject { ["query"] = TestTexts.Query, ["documents"] = documents, ["top_n"] = 2, ["return_documents"] = true };

        var (response, reply) = await Server.PostAsync("/v1/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        var texts = new[] { "北京是中国的政治中心和首都。", "上海是中国的经济中心。", "Paris" };
        var expected = CrossEncoder.RankScores(await fixture.Reference.PredictAsync(texts.Select(t => (TestTexts.Query, t)).ToArray()), texts, 2);
        var results = reply!["results"]!.AsArray();
        Assert.Equal(expected.Select(e => e.Index), results.Select(r => r!["index"]!.GetValue<int>()));
        foreach (var result in results)
        {
            Assert.Equal(["index", "relevance_score", "document"], result!.AsObject().Select(p => p.Key));
            Assert.Equal(["text"], result["document"]!.AsObject().Select(p => p.Key));
            Assert.Equal(texts[result["index"]!.GetValue<int>()], result["document"]!["text"]!.GetValue<string>());
        }
        Assert.Equal(new RerankServerOptions().ModelName, reply["model"]!.GetValue<string>());   // no model in the request
    }

    [Fact]
    public async Task V1_rank_fields_rank_structured_documents_by_the_named_fields()
    {
        var documents = new JsonArray(new JsonObject { ["title"] = "Beijing", ["body"] = "capital of China" }, new JsonObject { ["title"] = "Shanghai", ["body"] = "finance" });
        var body = new JsonObject { ["query"] = "q", ["documents"] = documents, ["rank_fields"] = new JsonArray("title", "body"), ["raw_scores"] = true };

        var (response, reply) = await Server.PostAsync("/v1/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        var expected = await fixture.Reference.PredictAsync([("q", "title: Beijing\nbody: capital of China"), ("q", "title: Shanghai\nbody: finance")], new RerankOptions { RawScores = true });
        foreach (var result in reply!["results"]!.AsArray())
            Assert.Equal(expected[result!["index"]!.GetValue<int>()], result["relevance_score"]!.GetValue<float>());
    }

    [Fact]
    public async Task V2_answers_id_results_and_meta_only()
    {
        var body = new JsonObject { ["model"] = "rerank-v3.5", ["query"] = TestTexts.Query, ["documents"] = Strings(TestTexts.Documents), ["top_n"] = 3 };

        var (response, reply) = await Server.PostAsync("/v2/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(["id", "meta", "results"], reply!.AsObject().Select(p => p.Key).Order());
        Assert.Equal("""{"api_version":{"version":"2","is_experimental":false},"billed_units":{"search_units":1}}""", reply["meta"]!.ToJsonString());
        var expected = CrossEncoder.RankScores(await fixture.Reference.PredictAsync(TestTexts.Documents.Select(d => (TestTexts.Query, d)).ToArray()), TestTexts.Documents, 3);
        var results = reply["results"]!.AsArray();
        Assert.Equal(expected.Select(e => e.Index), results.Select(r => r!["index"]!.GetValue<int>()));
        Assert.Equal(expected.Select(e => e.Score), results.Select(r => r!["relevance_score"]!.GetValue<float>()));
        Assert.All(results, r => Assert.Equal(["index", "relevance_score"], r!.AsObject().Select(p => p.Key)));
    }

    [Fact]
    public async Task V2_max_tokens_per_doc_caps_each_document()
    {
        var documents = TestTexts.Generated(5, seed: 3, maxWords: 80);
        var body = new JsonObject { ["model"] = "m", ["query"] = "capital", ["documents"] = Strings(documents), ["max_tokens_per_doc"] = 8 };

        var (response, reply) = await Server.PostAsync("/v2/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        var expected = await fixture.Reference.ScoreDocumentsAsync("capital", documents, new RerankOptions { MaxDocumentTokens = 8 });
        foreach (var result in reply!["results"]!.AsArray())
        {
            var index = result!["index"]!.GetValue<int>();
            Assert.Equal(expected.Scores[index], result["relevance_score"]!.GetValue<float>());
            Assert.Equal(expected.Truncated[index], result["truncated"]?.GetValue<bool>() ?? false);
        }
    }

    [Fact]
    public async Task More_than_100_documents_bill_more_search_units()
    {
        var body = new JsonObject { ["query"] = "q", ["documents"] = Strings(TestTexts.Generated(150, seed: 1, maxWords: 3)) };

        var (_, reply) = await Server.PostAsync("/v1/rerank", body);

        Assert.Equal(2, reply!["meta"]!["billed_units"]!["search_units"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/v1/rerank")]
    [InlineData("/v2/rerank")]
    public async Task Return_tokens_gives_each_result_the_tokens_of_its_pair(string route)
    {
        var body = new JsonObject { ["model"] = "m", ["query"] = TestTexts.Query, ["documents"] = Strings(TestTexts.Documents), ["return_tokens"] = true };

        var (response, reply) = await Server.PostAsync(route, body);

        Assert.Equal(200, (int)response.StatusCode);
        foreach (var result in reply!["results"]!.AsArray())
        {
            Assert.Equal(["index", "relevance_score", "tokens"], result!.AsObject().Select(p => p.Key));
            Assert.Equal(PairTokens(TestTexts.Query, [TestTexts.Documents[result["index"]!.GetValue<int>()]]), result["tokens"]!.GetValue<int>());
        }
    }
}
