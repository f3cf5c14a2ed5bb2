using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tokenization;

namespace RerankSharp.Server.Tests;

public class TeiRerankTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static JsonObject Body(string query, IEnumerable<string> texts) => new() { ["query"] = query, ["texts"] = new JsonArray(texts.Select(t => (JsonNode)t!).ToArray()) };

    private async Task<float[]> Predicted(string query, IReadOnlyList<string> documents, bool raw = false) =>
        await fixture.Reference.PredictAsync(documents.Select(d => (query, d)).ToArray(), new RerankOptions { RawScores = raw });

    [Fact]
    public async Task Answers_a_bare_array_best_first_with_predicts_scores_and_nothing_else()
    {
        var (response, body) = await Server.PostAsync("/rerank", Body(TestTexts.Query, TestTexts.Documents));

        Assert.Equal(200, (int)response.StatusCode);
        var results = body!.AsArray();
        var expected = await Predicted(TestTexts.Query, TestTexts.Documents);
        Assert.Equal(TestTexts.Documents.Length, results.Count);
        Assert.Equal(Enumerable.Range(0, TestTexts.Documents.Length), results.Select(r => r!["index"]!.GetValue<int>()).Order());
        foreach (var result in results)
        {
            Assert.Equal(["index", "score"], result!.AsObject().Select(p => p.Key));
            Assert.Equal(expected[result["index"]!.GetValue<int>()], result["score"]!.GetValue<float>());
        }
        var scores = results.Select(r => r!["score"]!.GetValue<float>()).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
    }

    [Fact]
    public async Task Return_text_adds_each_text_and_raw_scores_gives_the_logits()
    {
        var body = Body(TestTexts.Query, TestTexts.Documents);
        body["return_text"] = true;
        body["raw_scores"] = true;

        var (response, reply) = await Server.PostAsync("/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        var logits = await Predicted(TestTexts.Query, TestTexts.Documents, raw: true);
        foreach (var result in reply!.AsArray())
        {
            var index = result!["index"]!.GetValue<int>();
            Assert.Equal(["index", "score", "text"], result.AsObject().Select(p => p.Key));
            Assert.Equal(TestTexts.Documents[index], result["text"]!.GetValue<string>());
            Assert.Equal(logits[index], result["score"]!.GetValue<float>());
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    [Fact]
    public async Task Timing_and_token_headers_are_teis()
    {
        var (response, _) = await Server.PostAsync("/rerank", Body(TestTexts.Query, TestTexts.Documents));

        var tokens = TestTexts.Documents.Sum(d => Server.Encoder.Tokenizer.EncodePair(TestTexts.Query, d, Server.Encoder.MaxLength).Length);
        Assert.Equal(tokens.ToString(), Header(response, "x-compute-tokens"));
        foreach (var name in new[] { "x-compute-time", "x-queue-time", "x-inference-time", "x-tokenization-time", "x-total-time", "x-compute-characters" })
            Assert.True(long.TryParse(Header(response, name), out var value) && value >= 0, $"{name}: {Header(response, name)}");
    }

    [Theory]
    [InlineData(50)]
    [InlineData(1000)]
    public async Task Many_documents_in_one_request_are_all_scored(int count)
    {
        var documents = TestTexts.Generated(count, seed: count);

        var (response, reply) = await Server.PostAsync("/rerank", Body("capital city history", documents));

        Assert.Equal(200, (int)response.StatusCode);
        var expected = await Predicted("capital city history", documents);
        var results = reply!.AsArray();
        Assert.Equal(count, results.Count);
        foreach (var result in results)
            Assert.Equal(expected[result!["index"]!.GetValue<int>()], result["score"]!.GetValue<float>());
    }

    [Fact]
    public async Task A_cut_document_says_truncated_and_left_truncation_keeps_its_end()
    {
        var longDocument = string.Join(' ', TestTexts.Generated(1, seed: 7, maxWords: 1)[0], string.Join(' ', Enumerable.Repeat("mountain river 首都 history", 300)), "the end");
        var body = Body("q", ["short", longDocument]);
        body["truncation_direction"] = "LEFT";
        body["raw_scores"] = true;

        var (response, reply) = await Server.PostAsync("/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        var byIndex = reply!.AsArray().ToDictionary(r => r!["index"]!.GetValue<int>());
        Assert.Null(byIndex[0]!["truncated"]);
        Assert.True(byIndex[1]!["truncated"]!.GetValue<bool>());
        var expected = await fixture.Reference.ScoreDocumentsAsync("q", ["short", longDocument],
            new RerankOptions { TruncationDirection = TruncationDirection.Left, RawScores = true });
        Assert.Equal(expected.Scores[1], byIndex[1]!["score"]!.GetValue<float>());
    }

    [Fact]
    public async Task Min_score_and_top_n_cut_the_ranking()
    {
        var all = (await Server.PostAsync("/rerank", Body(TestTexts.Query, TestTexts.Documents))).Body!.AsArray();
        var threshold = all[3]!["score"]!.GetValue<float>();
        var body = Body(TestTexts.Query, TestTexts.Documents);
        body["min_score"] = threshold;
        var filtered = (await Server.PostAsync("/rerank", body)).Body!.AsArray();
        body["top_n"] = 2;
        var top = (await Server.PostAsync("/rerank", body)).Body!.AsArray();

        Assert.Equal(all.Take(4).Select(r => r!.ToJsonString()), filtered.Select(r => r!.ToJsonString()));
        Assert.Equal(all.Take(2).Select(r => r!.ToJsonString()), top.Select(r => r!.ToJsonString()));
    }

    [Fact]
    public async Task A_jina_body_on_the_tei_path_is_answered_in_jinas_shape()
    {
        var body = new JsonObject { ["model"] = "jina-reranker-v2", ["query"] = TestTexts.Query, ["documents"] = new JsonArray("北京是中国的政治中心和首都。", "上海是中国的经济中心。"), ["top_n"] = 1 };

        var (response, reply) = await Server.PostAsync("/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(["id", "meta", "model", "results", "usage"], reply!.AsObject().Select(p => p.Key).Order());
        Assert.Equal("jina-reranker-v2", reply["model"]!.GetValue<string>());
        var result = Assert.Single(reply["results"]!.AsArray())!;
        Assert.Equal(["index", "relevance_score"], result.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Return_tokens_gives_each_result_the_tokens_of_its_pair_with_the_cut_ones_at_the_max_length()
    {
        string[] texts = ["北京", string.Join(' ', Enumerable.Repeat("population", 600))];
        var body = Body(TestTexts.Query, texts);
        body["return_tokens"] = true;

        var (response, reply) = await Server.PostAsync("/rerank", body);

        Assert.Equal(200, (int)response.StatusCode);
        var tokens = reply!.AsArray().ToDictionary(r => r!["index"]!.GetValue<int>(), r => r!["tokens"]!.GetValue<int>());
        Assert.Equal(Server.Encoder.Tokenizer.EncodePair(TestTexts.Query, texts[0], Server.Encoder.MaxLength).Length, tokens[0]);
        Assert.Equal(Server.Encoder.MaxLength, tokens[1]);
    }
}
