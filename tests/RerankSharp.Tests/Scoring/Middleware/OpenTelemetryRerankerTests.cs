using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class OpenTelemetryRerankerTests
{
    [Fact]
    public async Task A_call_is_a_span_with_the_gen_ai_and_rerank_attributes()
    {
        var model = $"model-{Guid.NewGuid():N}";   // other tests trace too; this test's spans carry its own model name
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RerankTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if ((string?)a.GetTagItem("gen_ai.request.model") == model) spans.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(listener);
        using var reranker = new OpenTelemetryReranker(new FakeReranker { Metadata = new("fake", new Uri("http://reranker.local:8080"), model) })
        {
            EnableSensitiveData = true,
        };

        await reranker.RerankAsync("the query", ["a", "bbb", "cc"], new RerankOptions { TopN = 2 });

        var span = Assert.Single(spans);
        Assert.Equal($"rerank {model}", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("rerank", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("fake", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("reranker.local", span.GetTagItem("server.address"));
        Assert.Equal(8080, span.GetTagItem("server.port"));
        Assert.Equal(3, span.GetTagItem("rerank.request.documents"));
        Assert.Equal(2, span.GetTagItem("rerank.request.top_n"));
        Assert.Equal(2, span.GetTagItem("rerank.response.results"));
        Assert.Equal(3f, span.GetTagItem("rerank.response.top_score"));
        Assert.Equal("the query", span.GetTagItem("rerank.request.query"));
    }

    [Fact]
    public async Task A_failed_call_is_an_error_span_and_a_duration_tagged_with_the_error_kind()
    {
        var model = $"model-{Guid.NewGuid():N}";
        var spans = new ConcurrentQueue<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RerankTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if ((string?)a.GetTagItem("gen_ai.request.model") == model) spans.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(activities);
        var durations = new ConcurrentQueue<(double Seconds, Dictionary<string, object?> Tags)>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RerankTelemetry.SourceName && instrument.Name == RerankTelemetry.OperationDurationMetric) l.EnableMeasurementEvents(instrument);
            },
        };
        meters.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags) map[tag.Key] = tag.Value;
            if ((string?)map["gen_ai.request.model"] == model) durations.Enqueue((value, map));
        });
        meters.Start();
        using var reranker = new OpenTelemetryReranker(new FakeReranker
        {
            Metadata = new("fake", null, model),
            OnRerank = (_, _, _, _) => throw new RerankException(RerankErrorKind.Overloaded, "busy"),
        });

        await Assert.ThrowsAsync<RerankException>(() => reranker.RerankAsync("q", ["a"]));

        var span = Assert.Single(spans);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(ActivityKind.Internal, span.Kind);
        Assert.Equal("Overloaded", span.GetTagItem("error.type"));
        var (seconds, tags) = Assert.Single(durations);
        Assert.InRange(seconds, 0, 5);
        Assert.Equal("Overloaded", tags["error.type"]);
        Assert.Equal("rerank", tags["gen_ai.operation.name"]);
    }
}
