using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using RerankSharp.Extensions.Tests.Remote;
using RerankSharp.Hosting;
using RerankSharp.Remote;
using RerankSharp.Scoring;

namespace RerankSharp.Extensions.Tests.Hosting;

public class RerankerServiceCollectionExtensionsTests
{
    private static readonly string[] Documents = ["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。", "上海是中国最大的经济中心城市。"];

    private static IHost Host(params (string Key, string? Value)[] settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddReranker(builder.Configuration).UseScoreCache(100);
        builder.Services.AddHealthChecks().AddRerankerCheck();
        return builder.Build();
    }

    private static async Task<HealthReportEntry> SettledHealthAsync(IHost host)
    {
        var health = host.Services.GetRequiredService<HealthCheckService>();
        for (var i = 0; i < 600; i++)
        {
            var entry = (await health.CheckHealthAsync()).Entries["reranker"];
            if (entry.Data["state"] is "ready" or "failed") return entry;
            await Task.Delay(50);
        }
        throw new TimeoutException("The reranker neither became ready nor failed in 30 s.");
    }

    [Fact]
    public async Task A_model_from_configuration_loads_on_host_start_reports_ready_and_ranks_like_a_CrossEncoder()
    {
        using var host = Host(("Reranker:Model", RealServerFixture.ModelPath), ("Reranker:BatchSize", "4"));
        var reranker = host.Services.GetRequiredService<IReranker>();
        var before = (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["reranker"];

        await host.StartAsync();
        var ready = await SettledHealthAsync(host);
        var results = await reranker.RerankAsync("中国的首都是哪里?", Documents);
        await host.StopAsync();

        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal("notstarted", before.Data["state"]);
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        using var reference = await CrossEncoder.LoadAsync(RealServerFixture.ModelPath);
        Assert.Equal(await reference.RerankAsync("中国的首都是哪里?", Documents), results);
        Assert.Equal(4, reranker.GetService<CrossEncoder>()!.BatchSize);
        Assert.Equal("tiny-a", reranker.GetService<RerankerMetadata>()!.ModelId);
    }

    [Fact]
    public async Task A_model_that_fails_to_load_is_reported_unhealthy_and_calls_fail_with_its_error()
    {
        using var host = Host(("Reranker:Model", "/nonexistent/model-folder"));
        await host.StartAsync();

        var failed = await SettledHealthAsync(host);
        var error = await Assert.ThrowsAsync<RerankException>(() => host.Services.GetRequiredService<IReranker>().RerankAsync("q", Documents));
        await host.StopAsync();

        Assert.Equal(HealthStatus.Unhealthy, failed.Status);
        Assert.Contains("failed to load", failed.Description);
        Assert.Equal(RerankErrorKind.ModelNotFound, error.Kind);
    }

    [Fact]
    public async Task Waiting_for_the_model_makes_a_failed_load_fail_the_host_start()
    {
        using var host = Host(("Reranker:Model", "/nonexistent/model-folder"), ("Reranker:WaitForModel", "true"));

        var error = await Assert.ThrowsAsync<RerankException>(() => host.StartAsync());

        Assert.Equal(RerankErrorKind.ModelNotFound, error.Kind);
    }

    [Fact]
    public async Task An_endpoint_in_configuration_registers_a_remote_reranker_whose_health_probes_the_server()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, request) => request.Path == "/health"
            ? PeerStub.Json(context, new System.Text.Json.Nodes.JsonObject())
            : PeerReplies.Answer(RerankApi.Tei, context, request);
        using var host = Host(("Reranker:Endpoint", stub.Address.ToString()), ("Reranker:Api", "Tei"), ("Reranker:ApiKey", "secret"),
            ("Reranker:Raw", "true"));

        var health = await SettledHealthAsync(host);
        var reranker = host.Services.GetRequiredService<IReranker>();
        await reranker.RerankAsync("q", Documents);

        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.NotNull(reranker.GetService<RemoteReranker>());
        var post = Assert.Single(stub.Posts);
        Assert.True(post.Body!["raw_scores"]!.GetValue<bool>());   // Reranker:Raw applies to every call
        Assert.Equal("Bearer secret", post.Authorization);
        Assert.Contains(stub.Requests, r => r.Path == "/health" && r.Authorization == "Bearer secret");
    }

    [Fact]
    public async Task An_unreachable_remote_server_is_reported_unhealthy()
    {
        using var host = Host(("Reranker:Endpoint", "http://127.0.0.1:1"), ("Reranker:MaxRetries", "0"));

        var health = await SettledHealthAsync(host);

        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Contains("cannot be reached", health.Description);
    }

    [Fact]
    public void A_value_that_does_not_fit_names_the_section()
    {
        var error = Assert.Throws<RerankException>(() => Host(("Reranker:Device", "gpu")));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains("\"Reranker\"", error.Message);
    }

    [Fact]
    public async Task Without_a_registered_reranker_the_check_says_what_to_call()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthChecks().AddRerankerCheck();
        await using var provider = services.BuildServiceProvider();

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["reranker"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("AddReranker", entry.Description);
    }
}
