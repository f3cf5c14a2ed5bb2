using System.Text.Json.Nodes;
using RerankSharp.Server.TeiGrpc.Protocol;
using Xunit.Abstractions;

namespace RerankSharp.Server.Tests;

public class ConcurrencyTests(ServerFixture fixture, GrpcServerFixture grpcFixture, ITestOutputHelper output)
    : IClassFixture<ServerFixture>, IClassFixture<GrpcServerFixture>
{
    private const int Clients = 64;
    private const int RequestsPerClient = 20;

    private sealed record Job(string Route, string Query, string[] Documents);

    private float _largestDifference;

    [Fact]
    public async Task Sixty_four_clients_get_the_sequential_answers_and_their_requests_share_batches()
    {
        var server = fixture.Server;
        var routes = new[] { "/rerank", "/v1/rerank", "/v2/rerank" };
        // 32 distinct requests of 1–40 documents of 1–60 words, on the three rerank routes.
        var jobs = Enumerable.Range(0, 32).Select(i =>
        {
            var random = new Random(i);
            return new Job(routes[i % 3], TestTexts.Generated(1, seed: 1000 + i, maxWords: 8)[0], TestTexts.Generated(random.Next(1, 41), seed: i, maxWords: 60));
        }).ToArray();
        var expected = new List<float[]>();
        foreach (var job in jobs)
            expected.Add(await fixture.Reference.PredictAsync(job.Documents.Select(d => (job.Query, d)).ToArray()));
        var mergedBefore = await server.MetricAsync("rerank_batches_merged_total");

        var failures = new List<string>();
        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            for (var r = 0; r < RequestsPerClient; r++)
            {
                var k = (client * 7 + r * 13) % jobs.Length;
                var job = jobs[k];
                var body = new JsonObject
                {
                    ["query"] = job.Query,
                    [job.Route == "/rerank" ? "texts" : "documents"] = new JsonArray(job.Documents.Select(d => (JsonNode)d!).ToArray()),
                    ["model"] = "m",
                };
                var (response, reply) = await server.PostAsync(job.Route, body);
                var problem = Compare(job, (int)response.StatusCode, reply, expected[k]);
                if (problem is not null) lock (failures) failures.Add($"client {client} request {r} ({job.Route}, {job.Documents.Length} docs): {problem}");
            }
        })).ToArray();
        await Task.WhenAll(clients);

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(10)));
        var merged = await server.MetricAsync("rerank_batches_merged_total") - mergedBefore;
        var batches = await server.MetricAsync("rerank_batch_requests_count");
        var single = await server.MetricAsync("""rerank_batch_requests_bucket{le="1"}""");
        output.WriteLine($"{Clients * RequestsPerClient} requests; {merged} batches merged requests; {batches} batches, {single} with one request; largest |score − sequential| {_largestDifference:E1}");
        Assert.True(merged > 0, "no batch held pairs of more than one request");
        Assert.True(single < batches);
    }

    [Fact]
    public async Task Sixty_four_grpc_and_http_clients_get_the_sequential_answers_from_one_queue()
    {
        var server = grpcFixture.Server;
        const int requestsPerClient = 5;
        // gRPC Rerank, gRPC RerankStream and HTTP /rerank, /v1/rerank in turn: 16 clients of each.
        var routes = new[] { "grpc", "grpc-stream", "/rerank", "/v1/rerank" };
        var jobs = Enumerable.Range(0, 24).Select(i =>
        {
            var random = new Random(500 + i);
            return new Job("", TestTexts.Generated(1, seed: 3000 + i, maxWords: 8)[0], TestTexts.Generated(random.Next(1, 33), seed: 2000 + i, maxWords: 60));
        }).ToArray();
        var expected = new List<float[]>();
        foreach (var job in jobs)
            expected.Add(await grpcFixture.Reference.PredictAsync(job.Documents.Select(d => (job.Query, d)).ToArray()));
        var mergedBefore = await server.MetricAsync("rerank_batches_merged_total");
        var client = new Rerank.RerankClient(server.Channel);

        var failures = new List<string>();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var route = routes[c % routes.Length];
            for (var r = 0; r < requestsPerClient; r++)
            {
                var k = (c * 5 + r * 11) % jobs.Length;
                var job = jobs[k] with { Route = route };
                var problem = route switch
                {
                    "grpc" => CompareRanks(await client.RerankAsync(new RerankRequest { Query = job.Query, Texts = { job.Documents } }), expected[k]),
                    "grpc-stream" => CompareRanks(await StreamAsync(client, job), expected[k]),
                    _ => await PostAndCompare(server, job, expected[k]),
                };
                if (problem is not null) lock (failures) failures.Add($"client {c} request {r} ({route}, {job.Documents.Length} docs): {problem}");
            }
        })).ToArray();
        await Task.WhenAll(clients);

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(10)));
        var merged = await server.MetricAsync("rerank_batches_merged_total") - mergedBefore;
        var grpcCalls = await server.MetricAsync("""rerank_grpc_requests_total{method="/tei.v1.Rerank/Rerank",code="OK"}""")
            + await server.MetricAsync("""rerank_grpc_requests_total{method="/tei.v1.Rerank/RerankStream",code="OK"}""");
        output.WriteLine($"{Clients * requestsPerClient} requests ({grpcCalls} gRPC); {merged} batches merged requests; largest |score − sequential| {_largestDifference:E1}");
        Assert.True(merged > 0, "no batch held pairs of more than one request");
        Assert.True(grpcCalls >= Clients / 2 * requestsPerClient);
    }

    private static async Task<RerankResponse> StreamAsync(Rerank.RerankClient client, Job job)
    {
        using var call = client.RerankStream();
        foreach (var document in job.Documents) await call.RequestStream.WriteAsync(new RerankStreamRequest { Query = job.Query, Text = document });
        await call.RequestStream.CompleteAsync();
        return await call;
    }

    private async Task<string?> PostAndCompare(RunningServer server, Job job, float[] expected)
    {
        var body = new JsonObject
        {
            ["query"] = job.Query,
            [job.Route == "/rerank" ? "texts" : "documents"] = new JsonArray(job.Documents.Select(d => (JsonNode)d!).ToArray()),
        };
        var (response, reply) = await server.PostAsync(job.Route, body);
        return Compare(job, (int)response.StatusCode, reply, expected);
    }

    private string? CompareRanks(RerankResponse reply, float[] expected)
    {
        if (reply.Ranks.Count != expected.Length) return $"{reply.Ranks.Count} ranks for {expected.Length} texts";
        var previous = float.MaxValue;
        foreach (var rank in reply.Ranks)
        {
            var difference = Math.Abs(rank.Score - expected[rank.Index]);
            lock (this) _largestDifference = Math.Max(_largestDifference, difference);
            if (difference > 4e-5f) return $"text {rank.Index}: {rank.Score}, sequentially {expected[rank.Index]}";
            if (rank.Score > previous) return "not sorted best first";
            previous = rank.Score;
        }
        return reply.Ranks.Select(r => r.Index).Distinct().Count() == expected.Length ? null : "an index twice";
    }

    // Batches mix different requests under concurrency, so rows are padded to other lengths than when run alone;
    // the encoder's batch invariance (CrossEncoderTests) holds to 4e-5.
    private string? Compare(Job job, int status, JsonNode? reply, float[] expected)
    {
        if (status != 200) return $"status {status}: {reply?.ToJsonString()}";
        var (results, scoreField) = job.Route == "/rerank" ? (reply!.AsArray(), "score") : (reply!["results"]!.AsArray(), "relevance_score");
        if (results.Count != expected.Length) return $"{results.Count} results for {expected.Length} documents";
        var previous = float.MaxValue;
        var seen = new HashSet<int>();
        foreach (var result in results)
        {
            var index = result!["index"]!.GetValue<int>();
            var score = result[scoreField]!.GetValue<float>();
            if (!seen.Add(index)) return $"index {index} twice";
            lock (this) _largestDifference = Math.Max(_largestDifference, Math.Abs(score - expected[index]));
            if (Math.Abs(score - expected[index]) > 4e-5f) return $"document {index}: {score}, sequentially {expected[index]}";
            if (score > previous) return "not sorted best first";
            previous = score;
        }
        return null;
    }
}
