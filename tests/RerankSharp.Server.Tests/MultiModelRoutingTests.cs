using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;
using Xunit.Abstractions;

namespace RerankSharp.Server.Tests;

/// <summary>Several models in one server (issue 22): routing by the model field, /v1/models, unknown and failed models.</summary>
public class MultiModelRoutingTests(ITestOutputHelper output)
{
    private const int Clients = 64;
    private const int RequestsPerClient = 5;

    [Fact]
    public async Task Sixty_four_clients_over_three_models_each_get_that_models_single_model_server_answer()
    {
        // 30 distinct requests of 1–24 documents, ten per model.
        var jobs = Enumerable.Range(0, 30).Select(i => (
            Model: MultiModelServer.Fixtures[i % 3].Name,
            Query: TestTexts.Generated(1, seed: 2000 + i, maxWords: 8)[0],
            Documents: TestTexts.Generated(new Random(i).Next(1, 25), seed: 300 + i, maxWords: 50))).ToArray();
        // The answer of each model's own one-model server, as rerank serve --model PATH gives it.
        var expected = new float[jobs.Length][];
        foreach (var (name, path) in MultiModelServer.Fixtures)
        {
            await using var single = await RunningServer.StartAsync(new RerankServerOptions { ModelName = name }, modelPath: path);
            for (var k = 0; k < jobs.Length; k++)
            {
                if (jobs[k].Model != name) continue;
                var (response, reply) = await single.PostAsync("/v1/rerank", MultiModelServer.Body(null, jobs[k].Query, jobs[k].Documents));
                Assert.Equal(200, (int)response.StatusCode);
                expected[k] = MultiModelServer.ScoresByIndex(reply!, jobs[k].Documents.Length);
            }
        }

        await using var server = await MultiModelServer.StartThreeAsync();
        var failures = new List<string>();
        var largest = 0f;
        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            for (var r = 0; r < RequestsPerClient; r++)
            {
                var k = (client * 7 + r * 11) % jobs.Length;
                var job = jobs[k];
                var (status, reply) = await server.PostAsync(r % 2 == 0 ? "/v1/rerank" : "/rerank", MultiModelServer.Body(job.Model, job.Query, job.Documents));
                if (status != 200) { lock (failures) failures.Add($"client {client}: {job.Model} answered {status}: {reply?.ToJsonString()}"); continue; }
                if (reply!["model"]?.GetValue<string>() != job.Model) lock (failures) failures.Add($"client {client}: reply names {reply["model"]} for {job.Model}");
                var scores = MultiModelServer.ScoresByIndex(reply, job.Documents.Length);
                for (var d = 0; d < scores.Length; d++)
                {
                    // Batches mix other requests' pairs here, padded differently: the last bits may differ, as on one model.
                    var difference = Math.Abs(scores[d] - expected[k][d]);
                    lock (failures) largest = Math.Max(largest, difference);
                    if (!(difference <= 4e-5f)) lock (failures) failures.Add($"client {client}: {job.Model} document {d}: {scores[d]}, alone {expected[k][d]}");
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);

        output.WriteLine($"{Clients * RequestsPerClient} requests over 3 models; largest |score − one-model server| {largest:E1}");
        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(10)));
        Assert.All(server.Models.Models, m => Assert.Equal(1, m.Loads));
    }

    [Fact]
    public async Task Models_are_listed_in_openai_shape_and_an_unknown_name_gets_404_with_the_names()
    {
        await using var server = await MultiModelServer.StartThreeAsync();

        var (status, list) = await server.GetAsync("/v1/models");
        Assert.Equal(200, status);
        Assert.Equal("list", list!["object"]!.GetValue<string>());
        var data = list["data"]!.AsArray();
        Assert.Equal(["xlmr", "bert", "qwen3"], data.Select(m => m!["id"]!.GetValue<string>()));
        Assert.All(data, m => Assert.Equal("model", m!["object"]!.GetValue<string>()));
        Assert.All(data, m => Assert.Equal("ready", m!["state"]!.GetValue<string>()));
        Assert.True(data[0]!["default"]!.GetValue<bool>());
        var (one, bert) = await server.GetAsync("/v1/models/bert");
        Assert.Equal(200, one);
        Assert.Equal(512, bert!["max_model_len"]!.GetValue<int>());

        foreach (var (path, body) in new[]
        {
            ("/v1/rerank", MultiModelServer.Body("no-such-model", "q", ["a"])),
            ("/v2/rerank", MultiModelServer.Body("no-such-model", "q", ["a"])),
            ("/rerank", MultiModelServer.Body("no-such-model", "q", ["a"])),
            ("/tokenize", new JsonObject { ["model"] = "no-such-model", ["inputs"] = "a" }),
        })
        {
            var (code, error) = await server.PostAsync(path, body);
            Assert.Equal(404, code);
            Assert.Equal("model_not_found", error!["error_type"]!.GetValue<string>());
            var message = error["error"]!.GetValue<string>();
            Assert.Contains("no-such-model", message);
            Assert.Contains("xlmr, bert, qwen3", message);
        }
        Assert.Equal(404, (await server.GetAsync("/v1/models/no-such-model")).Status);
        Assert.Equal(404, (await server.GetAsync("/info?model=no-such-model")).Status);
    }

    [Fact]
    public async Task A_model_is_reached_by_its_folder_too_and_the_default_answers_requests_that_name_none()
    {
        await using var server = await MultiModelServer.StartThreeAsync();
        using var bert = await CrossEncoder.LoadAsync(MultiModelServer.Fixtures[1].Path);
        using var xlmr = await CrossEncoder.LoadAsync(MultiModelServer.Fixtures[0].Path);
        string[] documents = ["hi", "The giant panda is a bear species endemic to China."];

        var (_, byPath) = await server.PostAsync("/v1/rerank", MultiModelServer.Body(MultiModelServer.Fixtures[1].Path, "what is panda?", documents));
        var (_, unnamed) = await server.PostAsync("/v1/rerank", MultiModelServer.Body(null, "what is panda?", documents));
        var (_, info) = await server.GetAsync("/info?model=qwen3");
        var (_, defaultInfo) = await server.GetAsync("/info");

        Assert.Equal(await bert.PredictAsync(documents.Select(d => ("what is panda?", d)).ToArray()), MultiModelServer.ScoresByIndex(byPath!, 2));
        Assert.Equal(await xlmr.PredictAsync(documents.Select(d => ("what is panda?", d)).ToArray()), MultiModelServer.ScoresByIndex(unnamed!, 2));
        Assert.Equal("xlmr", unnamed!["model"]!.GetValue<string>());
        Assert.Equal("qwen3", info!["model_id"]!.GetValue<string>());
        Assert.Equal("xlmr", defaultInfo!["model_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_model_that_fails_to_load_is_reported_and_the_others_keep_serving()
    {
        var models = new RerankModelRegistry()
            .Add("xlmr", async ct => await CrossEncoder.LoadAsync(MultiModelServer.Fixtures[0].Path, cancellationToken: ct), 1, [])
            .Add("broken", async ct => await CrossEncoder.LoadAsync(Path.Combine(Path.GetTempPath(), "rerank-no-such-model"), cancellationToken: ct), 1, []);
        await using var server = await MultiModelServer.StartAsync(models);

        var (_, list) = await server.GetAsync("/v1/models");
        var broken = list!["data"]!.AsArray().Single(m => m!["id"]!.GetValue<string>() == "broken")!;
        var (failedStatus, failed) = await server.PostAsync("/v1/rerank", MultiModelServer.Body("broken", "q", ["a"]));
        var (okStatus, _) = await server.PostAsync("/v1/rerank", MultiModelServer.Body("xlmr", "q", ["a"]));

        Assert.Equal("failed", broken["state"]!.GetValue<string>());
        Assert.Contains("does not exist", broken["error"]!.GetValue<string>());
        Assert.Equal(503, failedStatus);
        Assert.Contains("broken", failed!["error"]!.GetValue<string>());
        Assert.Equal(200, okStatus);
        Assert.Equal(200, (await server.GetAsync("/health")).Status);
        Assert.Equal(200, (await server.GetAsync("/health?model=xlmr")).Status);
        Assert.Equal(503, (await server.GetAsync("/health?model=broken")).Status);
    }

    [Fact]
    public async Task Metrics_are_labelled_by_model_and_the_totals_add_them_up()
    {
        await using var server = await MultiModelServer.StartThreeAsync();
        foreach (var (name, _) in MultiModelServer.Fixtures)
            Assert.Equal(200, (await server.PostAsync("/v1/rerank", MultiModelServer.Body(name, "q", ["a", "b", "c"]))).Status);

        var text = await server.Client.GetStringAsync("/metrics");
        double Sample(string sample) => text.Split('\n').Where(l => l.StartsWith(sample + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(sample.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Single();

        foreach (var (name, _) in MultiModelServer.Fixtures)
        {
            Assert.Equal(3, Sample($$"""rerank_model_pairs_total{model="{{name}}"}"""));
            Assert.Equal(1, Sample($$"""rerank_model_requests_total{model="{{name}}"}"""));
            Assert.Equal(1, Sample($$"""rerank_model_loaded{model="{{name}}"}"""));
        }
        Assert.Equal(9, Sample("rerank_pairs_total"));
    }
}
