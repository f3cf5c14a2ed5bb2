using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using RerankSharp.Scoring;

namespace RerankSharp.Server.Tests;

/// <summary>
/// An OpenTelemetry SDK subscribes to meters by name across the process: these tests run alone, so the only
/// <c>RerankSharp.Server</c> instruments alive are their own servers'.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsStackCollection
{
    public const string Name = "metrics stack";
}

/// <summary>
/// One metrics stack: <c>/metrics</c> and an OpenTelemetry <c>MeterProvider</c> read the same instruments, so they give
/// the same counts under the same names; and each server's <c>/metrics</c> counts only its own requests.
/// </summary>
[Collection(MetricsStackCollection.Name)]
public class MetricsStackTests
{
    [Fact]
    public async Task Metrics_and_an_OpenTelemetry_exporter_give_the_same_counts_under_the_same_names()
    {
        var exported = new List<MetricSnapshot>();
        using var encoder = await CrossEncoder.LoadAsync(RunningServer.ModelPath);
        var app = RerankServerApplication.Create(encoder, new RerankServerOptions(),
            new RerankHostOptions("127.0.0.1", 0, TimeSpan.FromSeconds(20), Playground: false)
            {
                ConfigureServices = services => services.AddOpenTelemetry().WithMetrics(metrics => metrics
                    .AddMeter(RerankServerTelemetry.MeterName)
                    .AddInMemoryExporter(exported, reader => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000)),
            });
        await using (app)
        {
            await app.StartAsync();
            using var client = new HttpClient { BaseAddress = new Uri(RerankServerApplication.ListeningAddresses(app).Single()) };
            foreach (var documents in new[] { 3, 5 })
            {
                var body = new JsonObject { ["query"] = "q", ["texts"] = new JsonArray(Enumerable.Range(0, documents).Select(i => (JsonNode)$"d{i}").ToArray()) };
                using var ok = await client.PostAsync("/rerank", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
                Assert.True(ok.IsSuccessStatusCode);
            }
            using var bad = await client.PostAsync("/rerank", new StringContent("{\"query\": \"q\"}", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(400, (int)bad.StatusCode);

            var text = await client.GetStringAsync("/metrics");
            Assert.True(app.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));

            var prometheus = Samples(text);
            var names = exported.Select(m => m.Name).Distinct().ToList();
            // Every instrument of the server reaches OpenTelemetry, and /metrics writes each under its converted name.
            Assert.Contains("rerank.http.requests", names);
            Assert.Contains("rerank.model.documents", names);
            Assert.Contains("rerank.pairs", names);
            Assert.Contains("rerank.batch.duration", names);
            var families = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
            foreach (var metric in exported)
                Assert.Contains(PrometheusName(metric), families);

            // The same counts: every counter and gauge series, and every histogram's count and sum.
            var compared = 0;
            foreach (var metric in exported)
                foreach (var point in metric.MetricPoints)
                {
                    var name = PrometheusName(metric);
                    var labels = Labels(point);
                    // The scrape itself is counted once written, so its text lacks it; OpenTelemetry read it after.
                    if (labels.Contains("route=\"/metrics\"", StringComparison.Ordinal)) continue;
                    switch (metric.MetricType)
                    {
                        case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                            Assert.Equal(point.GetSumLong(), prometheus[name + labels]);
                            break;
                        case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                            Assert.Equal(point.GetSumDouble(), prometheus[name + labels], 9);
                            break;
                        case MetricType.LongGauge:
                            Assert.Equal(point.GetGaugeLastValueLong(), prometheus[name + labels]);
                            break;
                        case MetricType.DoubleGauge:
                            Assert.Equal(point.GetGaugeLastValueDouble(), prometheus[name + labels], 9);
                            break;
                        case MetricType.Histogram:
                            Assert.Equal(point.GetHistogramCount(), prometheus[name + "_count" + labels]);
                            Assert.Equal(point.GetHistogramSum(), prometheus[name + "_sum" + labels], 9);
                            break;
                        default:
                            Assert.Fail($"{metric.Name}: {metric.MetricType} was not expected");
                            break;
                    }
                    compared++;
                }
            Assert.True(compared >= 20, $"only {compared} series compared");
            Assert.Equal(2, prometheus["""rerank_http_requests_total{route="/rerank",status="200"}"""]);
            Assert.Equal(1, prometheus["""rerank_http_requests_total{route="/rerank",status="400"}"""]);
            Assert.Equal(8, prometheus["rerank_pairs_total"]);
        }
    }

    [Fact]
    public async Task Two_servers_in_one_process_each_count_only_their_own_requests()
    {
        await using var first = await RunningServer.StartAsync();
        await using var second = await RunningServer.StartAsync();
        for (var i = 0; i < 3; i++)
            Assert.True((await first.PostAsync("/rerank", new JsonObject { ["query"] = "q", ["texts"] = new JsonArray("a", "b") })).Response.IsSuccessStatusCode);
        Assert.True((await second.PostAsync("/rerank", new JsonObject { ["query"] = "q", ["texts"] = new JsonArray("a") })).Response.IsSuccessStatusCode);

        var a = Samples((await first.GetAsync("/metrics")).Body);
        var b = Samples((await second.GetAsync("/metrics")).Body);

        Assert.Equal(3, a["""rerank_http_requests_total{route="/rerank",status="200"}"""]);
        Assert.Equal(6, a["rerank_pairs_total"]);
        Assert.Equal(6, a["rerank_request_documents_sum"]);
        Assert.Equal(1, b["""rerank_http_requests_total{route="/rerank",status="200"}"""]);
        Assert.Equal(1, b["rerank_pairs_total"]);
        Assert.Equal(1, b["rerank_request_documents_sum"]);
    }

    // The Prometheus name and labels as OpenTelemetry's conversion (and MeterExposition) writes them.
    private static string PrometheusName(MetricSnapshot metric)
    {
        var name = metric.Name.Replace('.', '_');
        if (metric.Unit == "s") name += "_seconds";
        if (metric.Unit == "By") name += "_bytes";
        if (metric.MetricType is MetricType.LongSum or MetricType.DoubleSum) name += "_total";
        return name;
    }

    private static string Labels(MetricPoint point)
    {
        var labels = new List<string>();
        foreach (var tag in point.Tags)
            labels.Add($"{tag.Key}=\"{Convert.ToString(tag.Value, CultureInfo.InvariantCulture)}\"");
        labels.Sort(StringComparer.Ordinal);
        return labels.Count == 0 ? "" : "{" + string.Join(',', labels) + "}";
    }

    // "name{a="x",b="y"} value" lines, keyed by name and labels in name order.
    private static Dictionary<string, double> Samples(string text)
    {
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            var key = line[..space];
            if (key.IndexOf('{') is var brace and > 0)
            {
                var labels = key[(brace + 1)..^1].Split("\",").Select(l => l.EndsWith('"') ? l : l + "\"").Order(StringComparer.Ordinal);
                key = key[..brace] + "{" + string.Join(',', labels) + "}";
            }
            samples[key] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return samples;
    }
}
