using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RerankSharp.Remote;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;

namespace RerankSharp.Server.Tests;

/// <summary>The routes over the contract: a remote reranker, one in middleware, and keyed services behind them.</summary>
public class RerankerBehindRoutesTests
{
    private static readonly string[] Documents = ["hi", "The giant panda is a bear species endemic to China.", "北京是中国的首都。"];

    [Fact]
    public async Task A_remote_reranker_and_a_decorated_engine_answer_the_routes_with_the_engines_scores()
    {
        // The remote one calls another rerank server on 127.0.0.1 (a one-model server of the XLM-R fixture).
        await using var upstream = await RunningServer.StartAsync(new RerankServerOptions { ModelName = "upstream" });
        using var http = new HttpClient();
        using var remote = new RemoteReranker(http, new RemoteRerankerOptions { Endpoint = upstream.Address, Api = RerankApi.Tei });
        using var engine = await CrossEncoder.LoadAsync(MultiModelServer.Fixtures[1].Path);
        var cache = (ScoreCachingReranker)null!;
        var logs = new List<string>();
        using var decorated = engine.AsBuilder()
            .UseLogging(LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new ListLoggerProvider(logs))))
            .Use(inner => cache = new ScoreCachingReranker(inner, 100))
            .Build();
        var models = new RerankModelRegistry().Add("remote", remote).Add("decorated", decorated);
        await using var server = await MultiModelServer.StartAsync(models);

        var (remoteStatus, remoteReply) = await server.PostAsync("/v1/rerank", MultiModelServer.Body("remote", "what is panda?", Documents));
        var (firstStatus, first) = await server.PostAsync("/v2/rerank", MultiModelServer.Body("decorated", "what is panda?", Documents));
        var (secondStatus, second) = await server.PostAsync("/v1/rerank", MultiModelServer.Body("decorated", "what is panda?", Documents));

        Assert.Equal(200, remoteStatus);
        Assert.Equal(await upstream.Encoder.PredictAsync(Documents.Select(d => ("what is panda?", d)).ToArray()), MultiModelServer.ScoresByIndex(remoteReply!, 3));
        Assert.Equal("remote", remoteReply!["model"]!.GetValue<string>());
        Assert.Equal(200, firstStatus);
        Assert.Equal(200, secondStatus);
        var expected = await engine.PredictAsync(Documents.Select(d => ("what is panda?", d)).ToArray());
        Assert.Equal(expected, MultiModelServer.ScoresByIndex(first!, 3));
        Assert.Equal(expected, MultiModelServer.ScoresByIndex(second!, 3));
        // The middleware ran: the cache holds the three scores and the logger saw both calls.
        Assert.Equal(3, cache.Count);
        Assert.Equal(2, logs.Count(l => l.Contains("completed", StringComparison.OrdinalIgnoreCase)));
        // The engine's statistics still reach /metrics through the middleware (GetService<IBatchingStatistics>): 3 pairs
        // of the first request and 3 of this test's own PredictAsync; the second request came from the cache.
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.True(metrics.Contains("rerank_model_pairs_total{model=\"decorated\"} 6"), metrics);
    }

    [Fact]
    public async Task Keyed_rerankers_are_served_by_their_keys()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddKeyedReranker("bert", MultiModelServer.Fixtures[1].Path);
        builder.Services.AddKeyedReranker("xlmr", MultiModelServer.Fixtures[0].Path).UseScoreCache(100);
        builder.Services.AddRerankServer(new RerankServerOptions(), "xlmr", "bert");
        await using var app = builder.Build();
        app.MapRerankEndpoints();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        using var bert = await CrossEncoder.LoadAsync(MultiModelServer.Fixtures[1].Path);

        var response = await client.PostAsync("/v1/rerank", new StringContent(MultiModelServer.Body("bert", "what is panda?", Documents).ToJsonString(),
            System.Text.Encoding.UTF8, "application/json"));
        var models = JsonNode.Parse(await client.GetStringAsync("/v1/models"))!;

        Assert.Equal(200, (int)response.StatusCode);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(await bert.PredictAsync(Documents.Select(d => ("what is panda?", d)).ToArray()), MultiModelServer.ScoresByIndex(reply, 3));
        // The hosted engine reports its tokens: the server reached its IDocumentScorer.
        Assert.True(reply["usage"]!["total_tokens"]!.GetValue<int>() > 0);
        Assert.Equal(["xlmr", "bert"], models["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()));
        await app.StopAsync();
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines) lines.Add(formatter(state, exception));
            }
        }
    }
}
