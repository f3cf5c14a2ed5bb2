using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using RerankSharp.Server;

namespace RerankSharp.Server.Tests;

public class ApiKeyTests
{
    [Fact]
    public void Keys_are_accepted_only_as_a_bearer_token_matching_one_of_them()
    {
        var check = new ApiKeyCheck(new RerankServerOptions { ApiKeys = ["first-key", "second"] });

        Assert.True(check.Accepts("Bearer first-key"));
        Assert.True(check.Accepts("bearer second"));
        Assert.True(check.Accepts("Bearer  second "));
        Assert.False(check.Accepts(null));
        Assert.False(check.Accepts(""));
        Assert.False(check.Accepts("Bearer "));
        Assert.False(check.Accepts("first-key"));
        Assert.False(check.Accepts("Bearer first-ke"));
        Assert.False(check.Accepts("Bearer first-keyy"));
        Assert.False(check.Accepts("Basic first-key"));
    }

    [Fact]
    public void Without_keys_everything_is_accepted()
    {
        var check = new ApiKeyCheck(new RerankServerOptions());
        Assert.False(check.Required);
        Assert.True(check.Accepts(null));
    }

    [Fact]
    public async Task Every_route_needs_the_key_and_health_and_metrics_can_be_left_open()
    {
        await using var closed = await RunningServer.StartAsync(new RerankServerOptions { ApiKeys = ["k1", "k2"] });
        await using var open = await RunningServer.StartAsync(new RerankServerOptions { ApiKeys = ["k1"], OpenHealth = true, OpenMetrics = true });

        foreach (var path in new[] { "/health", "/metrics", "/info" })
            Assert.Equal(401, (int)(await closed.GetAsync(path, authorize: false)).Response.StatusCode);
        Assert.Equal(200, (int)(await closed.GetAsync("/info")).Response.StatusCode);
        using var second = closed.Request(HttpMethod.Post, "/rerank", """{"query": "q", "texts": ["a"]}""", authorize: false);
        second.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "k2");
        Assert.Equal(200, (int)(await closed.Client.SendAsync(second)).StatusCode);

        Assert.Equal(200, (int)(await open.GetAsync("/health", authorize: false)).Response.StatusCode);
        Assert.Equal(200, (int)(await open.GetAsync("/metrics", authorize: false)).Response.StatusCode);
        Assert.Equal(401, (int)(await open.GetAsync("/info", authorize: false)).Response.StatusCode);
        using var rerank = open.Request(HttpMethod.Post, "/v1/rerank", """{"query": "q", "documents": ["a"]}""", authorize: false);
        Assert.Equal(401, (int)(await open.Client.SendAsync(rerank)).StatusCode);
    }
}
