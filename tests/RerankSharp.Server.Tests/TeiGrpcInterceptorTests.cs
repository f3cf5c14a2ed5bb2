using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Health.V1;
using RerankSharp.Scoring;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.Tests;

/// <summary>Keys, limits, cancellation and metrics of the tei.v1 calls: what the HTTP filter does, on the gRPC edge.</summary>
public class TeiGrpcInterceptorTests
{
    private static RerankRequest Request(int documents, int seed, int maxWords = 60)
    {
        var request = new RerankRequest { Query = "capital city" };
        request.Texts.Add(TestTexts.Generated(documents, seed, maxWords));
        return request;
    }

    [Fact]
    public async Task Tei_calls_need_the_key_while_health_stays_open_as_on_tei()
    {
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { ApiKeys = ["alpha", "beta"] }, grpc: true);
        var rerank = new Rerank.RerankClient(server.Channel);

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await rerank.RerankAsync(Request(2, seed: 1), server.GrpcCall(key: "")));
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await rerank.RerankAsync(Request(2, seed: 1), server.GrpcCall(key: "gamma")));
        var info = await Assert.ThrowsAsync<RpcException>(async () => await new Info.InfoClient(server.Channel).InfoAsync(new InfoRequest(), server.GrpcCall(key: "")));
        var accepted = await rerank.RerankAsync(Request(2, seed: 1), server.GrpcCall(key: "beta"));
        var health = await new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest { Service = "tei.v1.Rerank" });

        Assert.All(new[] { missing, wrong, info }, e => Assert.Equal(StatusCode.Unauthenticated, e.StatusCode));
        Assert.Contains("needs an API key", missing.Status.Detail);
        Assert.Contains("not valid", wrong.Status.Detail);
        Assert.Equal(2, accepted.Ranks.Count);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Equal(2, await server.MetricAsync("""rerank_grpc_requests_total{method="/tei.v1.Rerank/Rerank",code="Unauthenticated"}"""));
        Assert.Equal(1, await server.MetricAsync("""rerank_grpc_requests_total{method="/tei.v1.Rerank/Rerank",code="OK"}"""));
    }

    [Fact]
    public async Task Calls_beyond_the_concurrency_limit_shared_with_http_get_resource_exhausted_with_a_pushback()
    {
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { MaxConcurrentRequests = 1 }, new CrossEncoderOptions { BatchSize = 2 }, grpc: true);

        using var hold = HoldWorker(server);
        var big = server.PostAsync("/rerank", new JsonObject { ["query"] = "q", ["texts"] = new JsonArray(TestTexts.Generated(1000, seed: 2).Select(d => (JsonNode)d!).ToArray()) });
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences > 0);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await new Rerank.RerankClient(server.Channel).RerankAsync(Request(1, seed: 3)));
        var info = await new Info.InfoClient(server.Channel).InfoAsync(new InfoRequest());
        hold.Set();

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("1 requests already", refused.Status.Detail);
        Assert.Equal("1000", refused.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.Equal(ModelType.Reranker, info.ModelType);
        Assert.Equal(200, (int)(await big).Response.StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_resource_exhausted_with_the_time_until_it_drains()
    {
        await using var server = await RunningServer.StartAsync(encoderOptions: new CrossEncoderOptions { MaxQueuedTokens = 3000, BatchSize = 4 }, grpc: true);
        var client = new Rerank.RerankClient(server.Channel);

        using var hold = HoldWorker(server);
        using var big = client.RerankAsync(Request(1000, seed: 4));
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedTokens > 3000);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.RerankAsync(Request(1, seed: 5)));
        hold.Set();

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.InRange(int.Parse(refused.Trailers.GetValue("grpc-retry-pushback-ms")!), 1000, 60000);
        Assert.Equal(1000, (await big).Ranks.Count);
    }

    [Fact]
    public async Task A_cancelled_call_drops_its_pending_pairs_from_the_queue()
    {
        await using var server = await RunningServer.StartAsync(encoderOptions: new CrossEncoderOptions { BatchSize = 1 }, grpc: true);
        using var cancel = new CancellationTokenSource();
        using var hold = HoldWorker(server);

        using var abandoned = new Rerank.RerankClient(server.Channel).RerankAsync(Request(1000, seed: 6, maxWords: 200), server.GrpcCall(cancellationToken: cancel.Token));
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences > 0);
        cancel.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await abandoned);
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences == 0);
        hold.Set();

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.True(server.Encoder.QueueStatistics.SequencesRun < 1000, $"{server.Encoder.QueueStatistics.SequencesRun} of 1000 pairs ran");
        await WaitUntil(() => server.MetricAsync("""rerank_grpc_requests_total{method="/tei.v1.Rerank/Rerank",code="Cancelled"}""").Result == 1);
    }

    // As in ServerLifecycleTests: the tiny model is faster than a test can watch a full queue, so the worker is
    // held after its first batch until the gate is set (at most 20 s).
    private static ManualResetEventSlim HoldWorker(RunningServer server)
    {
        var gate = new ManualResetEventSlim(false);
        server.Encoder.BatchCompleted += (_, _) => gate.Wait(TimeSpan.FromSeconds(20));
        return gate;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "condition not reached within 10 s");
    }
}
