using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using RerankSharp.Scoring;

namespace HostedReranker;

/// <summary>
/// <c>dotnet run --project samples/HostedReranker [-- --Reranker:Model=PATH]</c>: a generic host whose reranker comes
/// from appsettings.json (and RERANK_… variables, and --Reranker:Key=value arguments), loaded when the host starts;
/// it waits for the health check to say ready, ranks the seed's basic example and stops.
/// </summary>
public static class HostedRerankerApp
{
    public const string Query = "人工智能的发展趋势";

    public static readonly string[] Passages =
    [
        "人工智能正在向多模态和通用化方向发展。",
        "机器学习是人工智能的一个重要分支。",
        "今天天气很好,适合出去散步。",
    ];

    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out);

    #region HostBuilder
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        // RERANK_MODEL, RERANK_MAX_LENGTH… as for the rerank CLI; arguments still win.
        builder.Configuration.AddRerankEnvironmentVariables().AddCommandLine(args);

        builder.Services.AddReranker(builder.Configuration)   // the "Reranker" section
            .UseLogging()
            .UseOpenTelemetry();
        builder.Services.AddHealthChecks().AddRerankerCheck();
        return builder;
    }
    #endregion

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default)
    {
        using var host = CreateBuilder(args).Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var health = await WaitUntilSettledAsync(host.Services.GetRequiredService<HealthCheckService>(), output, cancellationToken);
            if (health.Status != HealthStatus.Healthy) return 1;

            var reranker = host.Services.GetRequiredService<IReranker>();
            var results = await reranker.RerankAsync(Query, Passages, cancellationToken: cancellationToken);
            output.WriteLine($"query: {Query}");
            foreach (var result in results)
                output.WriteLine($"  {result.Score:F4}  #{result.Index}  {result.Document}");
            return 0;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    // Polls as a readiness probe would: "loading" until the model is in, then healthy, or unhealthy with the load's error.
    private static async Task<HealthReport> WaitUntilSettledAsync(HealthCheckService health, TextWriter output, CancellationToken cancellationToken)
    {
        string? last = null;
        while (true)
        {
            var report = await health.CheckHealthAsync(cancellationToken);
            var entry = report.Entries["reranker"];
            var state = entry.Data.TryGetValue("state", out var s) ? s as string : null;
            if (state != last) output.WriteLine($"health: {report.Status} ({state}) {entry.Description}");
            last = state;
            if (state is "ready" or "failed") return report;
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }
}
