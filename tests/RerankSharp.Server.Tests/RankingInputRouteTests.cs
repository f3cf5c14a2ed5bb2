using System.Text.Json.Nodes;

namespace RerankSharp.Server.Tests;

/// <summary>
/// Every rerank route applies the library's one rule for a ranking call (RankingInput), as the CLI does: no documents rank
/// to no results, top_n beyond the documents keeps them all, an empty query and a top_n of 0 are refused with its words.
/// </summary>
public class RankingInputRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    public static TheoryData<string, string> Routes => new() { { "/rerank", "texts" }, { "/v1/rerank", "documents" }, { "/v2/rerank", "documents" } };

    private static JsonObject Body(string route, string field, string query, params string[] documents)
    {
        var body = new JsonObject { ["query"] = query, [field] = new JsonArray(documents.Select(d => (JsonNode)d!).ToArray()) };
        if (route == "/v2/rerank") body["model"] = "m";
        return body;
    }

    private static JsonArray Results(string route, JsonNode reply) => route == "/rerank" ? reply.AsArray() : reply["results"]!.AsArray();

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task No_documents_rank_to_no_results(string route, string field)
    {
        var (response, reply) = await Server.PostAsync(route, Body(route, field, "q"));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Empty(Results(route, reply!));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task An_empty_query_and_a_top_n_of_zero_are_refused_in_the_librarys_words(string route, string field)
    {
        var (emptyQuery, emptyReply) = await Server.PostAsync(route, Body(route, field, "", "a"));
        var zeroBody = Body(route, field, "q", "a");
        zeroBody["top_n"] = 0;
        var (zero, zeroReply) = await Server.PostAsync(route, zeroBody);

        Assert.Equal(400, (int)emptyQuery.StatusCode);
        Assert.Contains("The query is empty", emptyReply!.ToJsonString());
        Assert.Equal(400, (int)zero.StatusCode);
        Assert.Contains("top_n must be at least 1", zeroReply!.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_top_n_beyond_the_documents_keeps_them_all(string route, string field)
    {
        var body = Body(route, field, "q", "a", "b");
        body["top_n"] = 5;

        var (response, reply) = await Server.PostAsync(route, body);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(2, Results(route, reply!).Count);
    }
}
