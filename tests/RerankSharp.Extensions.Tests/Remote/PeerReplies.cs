using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RerankSharp.Remote;

namespace RerankSharp.Extensions.Tests.Remote;

/// <summary>
/// Replies and error bodies exactly as each server sends them (shared/research/anchors.md §b), with scores from
/// <see cref="Score"/> so a test knows the ranking to expect.
/// </summary>
internal static class PeerReplies
{
    /// <summary>A deterministic score in (0, 1): longer documents score higher; as a logit for llama.cpp.</summary>
    public static double Score(string document) => 1 - 1.0 / (2 + document.Length);

    public static double Logit(string document) => document.Length / 4.0 - 3;

    public static string RoutePath(RerankApi api) => api switch
    {
        RerankApi.Tei or RerankApi.Infinity => "/rerank",
        RerankApi.CohereV2 => "/v2/rerank",
        _ => "/v1/rerank",
    };

    /// <summary>Answers a rerank request in <paramref name="api"/>'s shape: sorted best first, top_n honoured where the API has it.</summary>
    public static Task Answer(RerankApi api, HttpContext context, PeerStub.Received request)
    {
        var body = request.Body!.AsObject();
        var documents = (body[api == RerankApi.Tei ? "texts" : "documents"] as JsonArray)!.Select(d => d!.GetValue<string>()).ToList();
        var topN = body["top_n"]?.GetValue<int>();
        var scored = documents.Select((d, i) => (Index: i, Score: api == RerankApi.LlamaCpp ? Logit(d) : Score(d), Text: d))
            .OrderByDescending(x => x.Score).Take(topN ?? documents.Count).ToList();
        var model = body["model"]?.GetValue<string>() ?? "peer-model";
        JsonNode reply = api switch
        {
            RerankApi.Tei => new JsonArray(scored.Select(x => (JsonNode)new JsonObject { ["index"] = x.Index, ["score"] = x.Score }).ToArray()),
            RerankApi.CohereV1 => new JsonObject
            {
                ["id"] = "5807ee2e-0cda-445a-9ec8-864c60a06606",
                ["results"] = Results(scored, x => new JsonObject { ["index"] = x.Index, ["relevance_score"] = x.Score }),
                ["meta"] = new JsonObject { ["api_version"] = new JsonObject { ["version"] = "1" }, ["billed_units"] = new JsonObject { ["search_units"] = 1 } },
            },
            RerankApi.CohereV2 => new JsonObject
            {
                ["id"] = "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
                ["results"] = Results(scored, x => new JsonObject { ["index"] = x.Index, ["relevance_score"] = x.Score }),
                ["meta"] = new JsonObject
                {
                    ["api_version"] = new JsonObject { ["version"] = "2", ["is_experimental"] = false },
                    ["billed_units"] = new JsonObject { ["search_units"] = 1 },
                },
            },
            RerankApi.Jina => new JsonObject
            {
                ["model"] = model,
                ["usage"] = new JsonObject { ["total_tokens"] = 815 },
                ["results"] = Results(scored, x => new JsonObject { ["index"] = x.Index, ["relevance_score"] = x.Score }),
            },
            RerankApi.Vllm => new JsonObject
            {
                ["id"] = "rerank-6c7d1f", ["model"] = model, ["usage"] = new JsonObject { ["total_tokens"] = 42 },
                ["results"] = Results(scored, x => new JsonObject
                {
                    ["index"] = x.Index, ["document"] = new JsonObject { ["text"] = x.Text }, ["relevance_score"] = x.Score,
                }),
            },
            RerankApi.Infinity => new JsonObject
            {
                ["object"] = "rerank",
                ["model"] = model,
                ["results"] = Results(scored, x => new JsonObject { ["relevance_score"] = x.Score, ["index"] = x.Index, ["document"] = null }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 42, ["total_tokens"] = 42 },
                ["id"] = "infinity-c4b1b7a4",
                ["created"] = 1732000000,
            },
            RerankApi.LlamaCpp => new JsonObject
            {
                ["model"] = model, ["object"] = "list", ["usage"] = new JsonObject { ["prompt_tokens"] = 42, ["total_tokens"] = 42 },
                ["results"] = Results(scored, x => new JsonObject { ["index"] = x.Index, ["relevance_score"] = x.Score }),
            },
            _ => throw new ArgumentOutOfRangeException(nameof(api)),
        };
        return PeerStub.Json(context, reply);
    }

    private static JsonArray Results(IEnumerable<(int Index, double Score, string Text)> scored, Func<(int Index, double Score, string Text), JsonObject> item) =>
        new(scored.Select(x => (JsonNode)item(x)).ToArray());

    /// <summary>The status and body each server sends for a request it refuses, and the message the client must carry.</summary>
    public static (int Status, JsonNode Body, string Message) ValidationError(RerankApi api) => api switch
    {
        RerankApi.Tei => (422, new JsonObject { ["error"] = "`texts` cannot be empty", ["error_type"] = "Validation" }, "`texts` cannot be empty"),
        RerankApi.RerankSharp => (400, new JsonObject { ["error"] = "`query` is empty", ["error_type"] = "validation" }, "`query` is empty"),
        RerankApi.CohereV1 or RerankApi.CohereV2 => (400, new JsonObject { ["id"] = "9b0f5b6e", ["message"] = "invalid request: query must not be empty." },
            "invalid request: query must not be empty."),
        RerankApi.Jina => (422, new JsonObject
        {
            ["detail"] = new JsonArray(new JsonObject { ["loc"] = new JsonArray("body", "query"), ["msg"] = "field required", ["type"] = "value_error.missing" }),
        }, "body.query: field required"),
        RerankApi.Vllm => (400, new JsonObject
        {
            ["object"] = "error", ["message"] = "Query must not be empty", ["type"] = "BadRequestError", ["param"] = null, ["code"] = 400,
        }, "Query must not be empty"),
        RerankApi.Infinity => (400, new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = "query is empty", ["type"] = "BadRequestError", ["param"] = null, ["code"] = 400 },
        }, "query is empty (BadRequestError)"),
        RerankApi.LlamaCpp => (400, new JsonObject
        {
            ["error"] = new JsonObject { ["code"] = 400, ["message"] = "\"query\" must be provided", ["type"] = "invalid_request_error" },
        }, "\"query\" must be provided (invalid_request_error)"),
        _ => throw new ArgumentOutOfRangeException(nameof(api)),
    };

    /// <summary>TEI's refusal of a request over its --max-client-batch-size (router/src/http/server.rs).</summary>
    public static JsonObject TeiBatchTooLarge(int count) =>
        new() { ["error"] = $"batch size {count} > maximum allowed batch size 32", ["error_type"] = "Validation" };
}
