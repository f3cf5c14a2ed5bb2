using RerankSharp.Scoring;
using Xunit.Abstractions;

namespace RerankSharp.Server.Tests;

/// <summary>A memory budget smaller than the models together: lazy loads, least-recently-used unloads, every request answered.</summary>
public class ModelMemoryBudgetTests(ITestOutputHelper output)
{
    [Fact]
    public async Task With_a_budget_for_one_model_at_a_time_requests_to_all_three_succeed_through_unload_and_reload()
    {
        var sizes = MultiModelServer.Fixtures.Select(f => MultiModelServer.WeightBytes(f.Path)).ToArray();
        // Room for the largest model alone, never for two of them.
        var budget = sizes.Max() + 1;
        Assert.True(sizes.Order().Take(2).Sum() > budget);
        var references = new Dictionary<string, CrossEncoder>();
        foreach (var (name, path) in MultiModelServer.Fixtures) references[name] = await CrossEncoder.LoadAsync(path);
        try
        {
            await using var server = await MultiModelServer.StartThreeAsync(budget);
            Assert.All(server.Models.Models, m => Assert.Null(m.Current));   // lazy: nothing loaded before the first request

            // Sequential requests in turn, then 24 concurrent clients over the three: each load must unload the others.
            var failures = new List<string>();
            async Task Check(int i)
            {
                var name = MultiModelServer.Fixtures[i % 3].Name;
                var documents = TestTexts.Generated(3, seed: i, maxWords: 20);
                var (status, reply) = await server.PostAsync("/v1/rerank", MultiModelServer.Body(name, "capital", documents));
                if (status != 200) { lock (failures) failures.Add($"{name}: {status} {reply?.ToJsonString()}"); return; }
                var expected = await references[name].PredictAsync(documents.Select(d => ("capital", d)).ToArray());
                var scores = MultiModelServer.ScoresByIndex(reply!, documents.Length);
                for (var d = 0; d < scores.Length; d++)
                    if (!(Math.Abs(scores[d] - expected[d]) <= 4e-5f)) lock (failures) failures.Add($"{name} document {d}: {scores[d]}, alone {expected[d]}");
            }
            for (var i = 0; i < 9; i++) await Check(i);
            await Task.WhenAll(Enumerable.Range(0, 24).Select(client => Task.Run(async () =>
            {
                for (var r = 0; r < 4; r++) await Check(client + r);
            })));

            var models = server.Models.Models;
            output.WriteLine($"budget {budget} B; peak counted {server.Models.PeakLoadedBytes} B; " +
                string.Join(", ", models.Select(m => $"{m.Name}: {m.Loads} loads, {m.Unloads} unloads")));
            Assert.True(failures.Count == 0, string.Join('\n', failures.Take(10)));
            Assert.True(server.Models.PeakLoadedBytes <= budget, $"{server.Models.PeakLoadedBytes} B in memory at once, over the budget of {budget} B");
            Assert.All(models, m => Assert.True(m.Loads >= 3, $"{m.Name} loaded {m.Loads} times"));
            Assert.All(models, m => Assert.True(m.Unloads >= 2, $"{m.Name} unloaded {m.Unloads} times"));
            var metrics = await server.Client.GetStringAsync("/metrics");
            Assert.Contains("rerank_model_unloads_total{model=\"bert\"}", metrics);
        }
        finally
        {
            foreach (var reference in references.Values) reference.Dispose();
        }
    }

    [Fact]
    public async Task Without_room_for_a_second_model_the_least_recently_used_one_is_unloaded()
    {
        var sizes = MultiModelServer.Fixtures.Select(f => MultiModelServer.WeightBytes(f.Path)).ToArray();
        // Room for xlmr (the largest) with either other one, not for all three.
        var budget = sizes[0] + Math.Max(sizes[1], sizes[2]);
        Assert.True(sizes.Sum() > budget);
        await using var server = await MultiModelServer.StartThreeAsync(budget);

        foreach (var name in new[] { "xlmr", "bert", "xlmr", "qwen3" })
            Assert.Equal(200, (await server.PostAsync("/v1/rerank", MultiModelServer.Body(name, "q", ["a"]))).Status);

        var state = server.Models.Models.ToDictionary(m => m.Name);
        // bert was used less recently than xlmr when qwen3 needed room.
        Assert.NotNull(state["xlmr"].Current);
        Assert.Null(state["bert"].Current);
        Assert.NotNull(state["qwen3"].Current);
        Assert.Equal(1, state["bert"].Unloads);
        Assert.Equal(0, state["xlmr"].Unloads);
    }
}
