using System.Text.Json.Nodes;
using RerankSharp.Scoring;

namespace RerankSharp.Server.Tests;

/// <summary>The long-document extension fields (long_documents, chunk_stride, chunk_aggregation, return_windows) on every rerank route, and the server default.</summary>
public class LongDocumentRouteTests
{
    private const string Query = "what does the river carry";
    private static readonly string LongDocument = string.Join(" ", Enumerable.Range(0, 12).Select(i => $"Section {i} of the survey describes the river, the mill and the valley floor."));
    private static readonly CrossEncoderOptions Short = new() { MaxLength = 48 };

    private static JsonObject Body(string documentsField, JsonObject? extra = null)
    {
        var body = new JsonObject { ["query"] = Query, [documentsField] = new JsonArray("a short note", LongDocument) };
        foreach (var (key, value) in extra ?? []) body[key] = value?.DeepClone();
        return body;
    }

    [Theory]
    [InlineData("/rerank", "texts", "score")]
    [InlineData("/rerank", "documents", "relevance_score")]
    [InlineData("/v1/rerank", "documents", "relevance_score")]
    [InlineData("/v2/rerank", "documents", "relevance_score")]
    public async Task Chunk_scores_a_long_document_in_windows_and_says_which_window_won(string route, string documentsField, string scoreField)
    {
        await using var server = await RunningServer.StartAsync(encoderOptions: Short);
        var expected = await server.Encoder.ScoreDocumentsAsync(Query, ["a short note", LongDocument],
            new RerankOptions { LongDocuments = LongDocumentMode.Chunk, ChunkAggregation = WindowAggregation.Mean, ReturnWindows = true });

        var (response, reply) = await server.PostAsync(route, Body(documentsField,
            new JsonObject { ["long_documents"] = "chunk", ["chunk_aggregation"] = "MEAN", ["return_windows"] = true }));

        Assert.Equal(200, (int)response.StatusCode);
        var results = (reply is JsonArray array ? array : reply!["results"]!.AsArray()).ToDictionary(r => r!["index"]!.GetValue<int>());
        var window = results[1]!["window"]!;
        Assert.Equal(expected.Windows![1].Count, window["count"]!.GetValue<int>());
        Assert.True(window["count"]!.GetValue<int>() > 1);
        Assert.Equal(expected.Windows[1].CharStart, window["char_start"]!.GetValue<int>());
        Assert.Equal(expected.Windows[1].CharEnd, window["char_end"]!.GetValue<int>());
        Assert.Equal(expected.Scores[1], results[1]![scoreField]!.GetValue<float>());
        Assert.Null(results[1]!["truncated"]);
        Assert.Equal(1, results[0]!["window"]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Without_the_fields_a_long_document_is_cut_and_reports_no_window()
    {
        await using var server = await RunningServer.StartAsync(encoderOptions: Short);

        var (_, reply) = await server.PostAsync("/rerank", Body("texts"));

        var long1 = reply!.AsArray().Single(r => r!["index"]!.GetValue<int>() == 1)!;
        Assert.True(long1["truncated"]!.GetValue<bool>());
        Assert.Null(long1["window"]);
    }

    [Fact]
    public async Task The_server_default_applies_to_requests_that_do_not_say_and_a_request_can_override_it()
    {
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { LongDocuments = LongDocumentMode.Chunk, ChunkStride = 0 }, Short);

        var (_, chunked) = await server.PostAsync("/v1/rerank", Body("documents", new JsonObject { ["return_windows"] = true }));
        var (_, cut) = await server.PostAsync("/v1/rerank", Body("documents", new JsonObject { ["return_windows"] = true, ["long_documents"] = "truncate" }));

        var windows = await server.Encoder.ScoreDocumentsAsync(Query, [LongDocument], new RerankOptions { LongDocuments = LongDocumentMode.Chunk, ChunkStride = 0, ReturnWindows = true });
        Assert.Equal(windows.Windows![0].Count, Window(chunked)["count"]!.GetValue<int>());
        Assert.Equal(1, Window(cut)["count"]!.GetValue<int>());

        static JsonNode Window(JsonNode? reply) => reply!["results"]!.AsArray().Single(r => r!["index"]!.GetValue<int>() == 1)!["window"]!;
    }

    [Theory]
    [InlineData("long_documents", "\"split\"", "`long_documents` must be one of \"truncate\", \"chunk\"")]
    [InlineData("chunk_aggregation", "\"median\"", "`chunk_aggregation` must be one of \"max\", \"mean\", \"first\"")]
    [InlineData("chunk_stride", "-1", "`chunk_stride` must be a whole number of at least 0")]
    [InlineData("chunk_stride", "400", "lower the stride")]
    [InlineData("return_windows", "\"yes\"", "`return_windows` must be true or false")]
    public async Task Bad_long_document_fields_are_400_with_what_to_send(string field, string json, string message)
    {
        await using var server = await RunningServer.StartAsync(encoderOptions: Short);
        var body = Body("texts", new JsonObject { ["long_documents"] = "chunk" });
        body[field] = JsonNode.Parse(json);

        var (response, reply) = await server.PostAsync("/rerank", body);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains(message, reply!["error"]!.GetValue<string>());
    }
}
