using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

/// <summary><c>rerank serve</c> with several models: a models file, NAME=PATH values, a memory budget.</summary>
public class ServeManyModelsTests
{
    // What the process needs besides the models it counts against --max-memory: .NET, ASP.NET Core, ONNX Runtime and
    // a batch's activations (docs/server.md, "Memory"); about 175 MB measured with the fixtures.
    private const long RuntimeMarginBytes = 300L << 20;

    private static readonly (string Name, string Path)[] Fixtures =
        [("xlmr", FixturePaths.Model("tiny-a")), ("bert", FixturePaths.Model("bert-a")), ("qwen3", FixturePaths.Model("qwen3-a"))];

    [Fact]
    public async Task A_yaml_models_file_with_a_budget_for_one_model_serves_all_three_and_peak_rss_stays_under_budget_plus_margin()
    {
        var weights = Fixtures.Select(f => Directory.GetFiles(f.Path, "*.safetensors").Sum(p => (new FileInfo(p).ResolveLinkTarget(true) as FileInfo ?? new FileInfo(p)).Length)).ToArray();
        var budget = weights.Max() + 1;
        var file = Path.Combine(Directory.CreateTempSubdirectory("rerank-models-").FullName, "models.yaml");
        File.WriteAllText(file, $"max_memory: \"{budget}\"\nmodels:\n" + string.Concat(Fixtures.Select(f => $"  - name: {f.Name}\n    model: {f.Path}\n")));

        await using var server = await Serve("--models-file", file, "--threads", "1");
        for (var round = 0; round < 4; round++)
            foreach (var (name, _) in Fixtures)
            {
                var (status, reply) = await server.PostAsync(name);
                Assert.True(status == 200, $"{name}: {status} {reply}");
                Assert.Equal(name, reply!["model"]!.GetValue<string>());
            }
        var metrics = await server.Client.GetStringAsync("/metrics");
        var peak = server.PeakRssBytes();

        Assert.Matches("""rerank_model_unloads_total\{model="bert"\} [1-9]""", metrics);
        Assert.True(peak < budget + RuntimeMarginBytes, $"peak RSS {peak >> 20} MiB, over the budget {budget} B + {RuntimeMarginBytes >> 20} MiB");
    }

    [Fact]
    public async Task Named_models_are_routed_listed_and_an_unknown_name_gets_404_with_the_names()
    {
        await using var server = await Serve("--model", $"xlmr={Fixtures[0].Path}", "--model", $"bert={Fixtures[1].Path}", "--threads", "1");

        var models = JsonNode.Parse(await server.Client.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        var (bertStatus, bert) = await server.PostAsync("bert");
        var (unknownStatus, unknown) = await server.PostAsync("nope");

        Assert.Equal(["xlmr", "bert"], models);
        Assert.Equal(200, bertStatus);
        Assert.Equal("bert", bert!["model"]!.GetValue<string>());
        Assert.Equal(404, unknownStatus);
        Assert.Contains("use one of: xlmr, bert", unknown!["error"]!.GetValue<string>());
        Assert.Contains("one pool of 1 threads", server.Banner);
    }

    [Fact]
    public async Task On_the_shared_pool_batches_of_three_models_run_side_by_side_and_answer_as_each_alone()
    {
        // Two threads and two batches at once: concurrent runs of different sessions on ONNX Runtime's global pool.
        await using var server = await Serve(["--threads", "2", .. Fixtures.SelectMany(f => new[] { "--model", $"{f.Name}={f.Path}" })]);
        var alone = new Dictionary<string, double[]>();
        foreach (var (name, _) in Fixtures) alone[name] = Scores((await server.PostAsync(name)).Body);

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 48).Select(async i =>
        {
            var name = Fixtures[i % Fixtures.Length].Name;
            var (status, body) = await server.PostAsync(name);
            return (name, status, body);
        }));

        foreach (var (name, status, body) in concurrent)
        {
            Assert.True(status == 200, $"{name}: {status} {body}");
            var scores = Scores(body);
            for (var d = 0; d < scores.Length; d++)
                Assert.True(Math.Abs(scores[d] - alone[name][d]) <= 1e-5, $"{name} document {d}: {scores[d]} beside the others, {alone[name][d]} alone");
        }
        Assert.Contains("one pool of 2 threads, 2 batches at once", server.Banner);
    }

    // Scores by document index, from a Cohere-shaped reply.
    private static double[] Scores(JsonNode? body) => body!["results"]!.AsArray()
        .OrderBy(r => r!["index"]!.GetValue<int>()).Select(r => r!["relevance_score"]!.GetValue<double>()).ToArray();

    [Fact]
    public void A_models_file_with_a_misspelt_key_fails_with_one_line_naming_it()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("rerank-models-").FullName, "models.json");
        File.WriteAllText(file, $$"""{"models": [{"model": "{{Fixtures[0].Path}}", "precison": "int8"}]}""");

        var result = RerankProcess.Run(null, "serve", "--models-file", file, "--port", "0");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("precison", result.Stderr);
        Assert.Contains(file, result.Stderr);
    }

    [Fact]
    public void Only_serve_takes_model_more_than_once()
    {
        var result = RerankProcess.Run(null, "info", "--model", Fixtures[0].Path, "--model", Fixtures[1].Path);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("only rerank serve hosts several", result.Stderr);
    }

    private static async Task<ServeProcess> Serve(params string[] args)
    {
        var process = Process.Start(RerankProcess.StartInfo(null, ["serve", "--port", "0", "--no-playground", .. args]))!;
        try
        {
            while (true)
            {
                var line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120))
                    ?? throw new InvalidOperationException($"rerank serve exited: {await process.StandardError.ReadToEndAsync()}");
                if (Regex.Match(line, @"^rerank: serving .* on (http://\S+)") is { Success: true } match)
                    return new ServeProcess(process, new Uri(match.Groups[1].Value), line);
            }
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    private sealed class ServeProcess(Process process, Uri address, string banner) : IAsyncDisposable
    {
        public HttpClient Client { get; } = new() { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

        public string Banner { get; } = banner;

        public async Task<(int Status, JsonNode? Body)> PostAsync(string model)
        {
            var body = new JsonObject { ["model"] = model, ["query"] = "what is panda?", ["documents"] = new JsonArray("hi", "The giant panda is a bear.") };
            using var response = await Client.PostAsync("/v1/rerank", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        }

        /// <summary>The server's peak resident set so far (VmHWM).</summary>
        public long PeakRssBytes()
        {
            var line = File.ReadLines($"/proc/{process.Id}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill(entireProcessTree: true);
            await Task.CompletedTask;
            process.Dispose();
        }
    }
}
