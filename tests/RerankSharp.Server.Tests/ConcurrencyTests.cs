using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace RerankSharp.Server.Tests;

public class ConcurrencyTests(ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ServerFixture>
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
