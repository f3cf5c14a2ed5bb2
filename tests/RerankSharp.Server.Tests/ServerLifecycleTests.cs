using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Server;

namespace RerankSharp.Server.Tests;

/// <summary>Backpressure, disconnects and shutdown: the server stays bounded and finishes what it accepted.</summary>
public class ServerLifecycleTests
{
    private static JsonObject Body(int documents, int seed, int maxWords = 60) => new()
    {
        ["query"] = "capital city",
        ["texts"] = new JsonArray(TestTexts.Generated(documents, seed, maxWords).Select(d => (JsonNode)d!).ToArray()),
    };

    [Fact]
    public async Task A_full_queue_answers_429_overloaded_with_retry_after_and_the_rest_succeed()
    {
        // One request of 1,000 documents fills a 3,000-token queue (an empty queue always takes a request).
        await using var server = await RunningServer.StartAsync(encoderOptions: new CrossEncoderOptions { MaxQueuedTokens = 3000, BatchSize = 4 });

        using var hold = HoldWorker(server);
        var big = server.PostAsync("/rerank", Body(1000, seed: 1));
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedTokens > 3000);
        var (response, reply) = await server.PostAsync("/v1/rerank", new JsonObject { ["query"] = "q", ["documents"] = new JsonArray("a") });
        hold.Set();

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal("overloaded", reply!["error_type"]!.GetValue<string>());
        Assert.Contains("retry", reply["error"]!.GetValue<string>());
        Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single()), 1, 60);
        Assert.Equal(200, (int)(await big).Response.StatusCode);
        Assert.Equal(200, (int)(await server.PostAsync("/v1/rerank", new JsonObject { ["query"] = "q", ["documents"] = new JsonArray("a") })).Response.StatusCode);
    }

    [Fact]
    public async Task A_burst_of_ten_times_the_queue_capacity_gets_fast_429s_and_every_accepted_request_its_right_scores()
    {
        // Requests of 8 documents of ~10 tokens each (~170 tokens with the query); the queue holds 2,000 tokens,
        // about 12 such requests, so a burst of 120 overflows it ten times over.
        const int burst = 120;
        await using var server = await RunningServer.StartAsync(encoderOptions: new CrossEncoderOptions { MaxQueuedTokens = 2000, BatchSize = 4 });
        using var reference = await CrossEncoder.LoadAsync(RunningServer.ModelPath);
        var bodies = Enumerable.Range(0, 8).Select(seed => Body(8, seed: 100 + seed, maxWords: 6)).ToArray();
        var expected = await Task.WhenAll(bodies.Select(b => reference.ScoreDocumentsAsync(b["query"]!.GetValue<string>(),
            b["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray())));

        using var hold = HoldWorker(server);
        var requests = Enumerable.Range(0, burst).Select(async k =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (response, reply) = await server.PostAsync("/rerank", bodies[k % bodies.Length].DeepClone());
            return (k, response, reply, clock.Elapsed);
        }).ToList();
        // While the worker is held nothing can be answered but refusals; wait until they stop arriving: no new one for
        // half a second (one quiet 50 ms poll was not enough on a loaded 2-core host, where requests still trickle in).
        var settled = -1;
        var quiet = 0;
        for (var i = 0; i < 400 && quiet < 10; i++)
        {
            await Task.Delay(50);
            var done = requests.Count(r => r.IsCompleted);
            quiet = done == settled && done > 0 ? quiet + 1 : 0;
            settled = done;
        }
        var answeredWhileHeld = requests.Where(r => r.IsCompleted).Select(r => (int)r.Result.response.StatusCode).ToList();
        hold.Set();
        var results = await Task.WhenAll(requests);

        var statuses = results.GroupBy(r => (int)r.response.StatusCode).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([200, 429], statuses.Keys.Order());
        Assert.InRange(statuses[429], burst / 2, burst - 1);
        Assert.All(answeredWhileHeld, status => Assert.Equal(429, status));
        Assert.Equal(statuses[429], answeredWhileHeld.Count);
        foreach (var (k, response, reply, elapsed) in results)
        {
            if ((int)response.StatusCode == 429)
            {
                Assert.Equal("overloaded", reply!["error_type"]!.GetValue<string>());
                Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single()), 1, 60);
                Assert.True(elapsed < TimeSpan.FromSeconds(5), $"a 429 took {elapsed}");
                continue;
            }
            var scores = expected[k % bodies.Length].Scores;
            Assert.Equal(scores.Length, reply!.AsArray().Count);
            foreach (var item in reply.AsArray())
                Assert.Equal(scores[item!["index"]!.GetValue<int>()], item["score"]!.GetValue<float>(), 2e-5f);
        }
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_get_429_at_once()
    {
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { MaxConcurrentRequests = 1 }, new CrossEncoderOptions { BatchSize = 2 });

        using var hold = HoldWorker(server);
        var big = server.PostAsync("/rerank", Body(1000, seed: 2));
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences > 0);
        var (response, reply) = await server.PostAsync("/rerank", Body(1, seed: 3));
        hold.Set();

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Contains("1 requests already", reply!["error"]!.GetValue<string>());
        Assert.Equal(200, (int)(await big).Response.StatusCode);
    }

    [Fact]
    public async Task A_client_that_disconnects_drops_its_pending_pairs_from_the_queue()
    {
        await using var server = await RunningServer.StartAsync(encoderOptions: new CrossEncoderOptions { BatchSize = 1 });
        using var cancel = new CancellationTokenSource();
        using var gate = HoldWorker(server);

        var abandoned = server.PostAsync("/rerank", Body(1000, seed: 4, maxWords: 200), cancel.Token);
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences > 0);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences == 0);
        gate.Set();

        Assert.True(server.Encoder.QueueStatistics.SequencesRun < 1000, $"{server.Encoder.QueueStatistics.SequencesRun} of 1000 pairs ran");
        await WaitUntil(() => server.MetricAsync("""rerank_http_requests_total{route="/rerank",status="499"}""").Result == 1);
        Assert.Equal(200, (int)(await server.PostAsync("/rerank", Body(3, seed: 5))).Response.StatusCode);
    }

    [Fact]
    public async Task Shutdown_finishes_the_requests_in_flight()
    {
        var server = await RunningServer.StartAsync(encoderOptions: new CrossEncoderOptions { BatchSize = 2 });
        var documents = Body(1000, seed: 6);

        using var hold = HoldWorker(server);
        var inFlight = server.PostAsync("/rerank", documents);
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences > 0);
        var stopping = server.App.StopAsync();
        hold.Set();
        var (response, reply) = await inFlight;
        await stopping;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(1000, reply!.AsArray().Count);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task While_draining_health_and_new_requests_get_503_and_the_request_in_flight_completes()
    {
        var server = await RunningServer.StartAsync(new RerankServerOptions { DrainDelay = TimeSpan.FromSeconds(1) }, new CrossEncoderOptions { BatchSize = 2 });

        using var hold = HoldWorker(server);
        var inFlight = server.PostAsync("/rerank", Body(300, seed: 8));
        await WaitUntil(() => server.Encoder.QueueStatistics.QueuedSequences > 0);
        var stopping = server.App.StopAsync();
        var (health, _) = await server.GetAsync("/health");
        var (refused, refusal) = await server.PostAsync("/v1/rerank", new JsonObject { ["query"] = "q", ["documents"] = new JsonArray("a") });
        var drainingWhileHeld = !stopping.IsCompleted;
        hold.Set();
        var (response, reply) = await inFlight;
        await stopping;

        Assert.Equal(503, (int)health.StatusCode);
        Assert.Equal(503, (int)refused.StatusCode);
        Assert.Equal("unhealthy", refusal!["error_type"]!.GetValue<string>());
        Assert.True(refused.Headers.ConnectionClose);
        Assert.True(drainingWhileHeld, "the server stopped before its request in flight was answered");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(300, reply!.AsArray().Count);
        await server.DisposeAsync();
    }

    // The tiny model scores 1,000 pairs in about a second, faster than a test can observe a full
    // queue; holding the worker after its first batch (until the gate is set, at most 20 s) keeps
    // the queue as the test needs it, whatever the machine's speed.
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
