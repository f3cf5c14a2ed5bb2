using System.Text.Json.Nodes;
using RerankSharp.Scoring;

namespace RerankSharp.Server.Tests;

public class TeiUtilityRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task Tokenize_gives_the_ids_the_model_sees_with_pieces_and_special_flags()
    {
        var (response, reply) = await Server.PostAsync("/tokenize", new JsonObject { ["inputs"] = new JsonArray("Hello world", "北京") });

        Assert.Equal(200, (int)response.StatusCode);
        var tokenizer = Server.Encoder.Tokenizer;
        var lists = reply!.AsArray();
        Assert.Equal(2, lists.Count);
        var first = lists[0]!.AsArray();
        int[] ids = [tokenizer.BosId, .. tokenizer.EncodeText("Hello world"), tokenizer.EosId];
        Assert.Equal(ids, first.Select(t => t!["id"]!.GetValue<int>()));
        Assert.Equal(tokenizer.ToPieces(ids), first.Select(t => t!["text"]!.GetValue<string>()));
        Assert.Equal(ids.Select(id => id == tokenizer.BosId || id == tokenizer.EosId), first.Select(t => t!["special"]!.GetValue<bool>()));
        Assert.All(first, t => Assert.Equal(["id", "text", "special", "start", "stop"], t!.AsObject().Select(p => p.Key)));
    }

    [Fact]
    public async Task Tokenize_takes_a_single_string_and_can_leave_out_special_tokens()
    {
        var (_, reply) = await Server.PostAsync("/tokenize", new JsonObject { ["inputs"] = "Hello world", ["add_special_tokens"] = false });

        var tokens = Assert.Single(reply!.AsArray())!.AsArray();
        Assert.Equal(Server.Encoder.Tokenizer.EncodeText("Hello world"), tokens.Select(t => t!["id"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Info_describes_the_model_and_the_limits_in_teis_fields()
    {
        var (response, text) = await Server.GetAsync("/info");

        Assert.Equal(200, (int)response.StatusCode);
        var info = JsonNode.Parse(text)!;
        Assert.Equal("float32", info["model_dtype"]!.GetValue<string>());
        Assert.Equal(512, info["max_input_length"]!.GetValue<int>());
        Assert.Equal(1000, info["max_client_batch_size"]!.GetValue<int>());
        Assert.True(info["auto_truncate"]!.GetValue<bool>());
        Assert.Equal(CrossEncoderOptions.CpuBatchTokens, info["max_batch_tokens"]!.GetValue<int>());   // the CPU default
        Assert.NotNull(info["model_type"]!["reranker"]!["id2label"]);
        foreach (var field in new[] { "model_id", "model_sha", "max_concurrent_requests", "max_batch_requests", "tokenization_workers", "version" })
            Assert.True(info.AsObject().ContainsKey(field), field);
    }

    [Fact]
    public async Task Health_answers_200()
    {
        var (response, _) = await Server.GetAsync("/health");
        Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_route()
    {
        var (response, text) = await Server.GetAsync("/openapi.json");

        Assert.Equal(200, (int)response.StatusCode);
        var paths = JsonNode.Parse(text)!["paths"]!.AsObject();
        foreach (var route in new[] { "/rerank", "/v1/rerank", "/v2/rerank", "/tokenize" })
            Assert.NotNull(paths[route]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]);
        foreach (var route in new[] { "/info", "/health", "/metrics" })
            Assert.NotNull(paths[route]!["get"]);
    }

    [Fact]
    public async Task Metrics_count_requests_by_route_and_status_and_show_the_queue()
    {
        await Server.PostAsync("/rerank", new JsonObject { ["query"] = "q", ["texts"] = new JsonArray("a", "b") });
        await Server.PostAsync("/rerank", new JsonObject { ["query"] = "", ["texts"] = new JsonArray("a") });

        var (response, text) = await Server.GetAsync("/metrics");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        Assert.True(await Server.MetricAsync("""rerank_http_requests_total{route="/rerank",status="200"}""") >= 1);
        Assert.True(await Server.MetricAsync("""rerank_http_requests_total{route="/rerank",status="400"}""") >= 1);
        Assert.True(await Server.MetricAsync("rerank_tokens_total") > 0);
        Assert.True(await Server.MetricAsync("rerank_batches_total") >= 1);
        foreach (var name in new[] { "rerank_http_request_duration_seconds_bucket", "rerank_batch_size_bucket", "rerank_batch_requests_bucket", "rerank_queue_depth", "rerank_requests_in_flight",
                     "rerank_queued_tokens", "rerank_queued_tokens_limit", "rerank_request_documents_bucket", "rerank_pairs_total", "rerank_batch_duration_seconds_bucket" })
            Assert.Contains(name, text);
    }

    [Fact]
    public async Task Unknown_routes_get_a_json_404_naming_the_routes()
    {
        var (response, text) = await Server.GetAsync("/v3/rerank");

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("not_found", JsonNode.Parse(text)!["error_type"]!.GetValue<string>());
        Assert.Contains("/v1/rerank", text);
    }
}
