using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;
using RerankSharp.Tests;

namespace RerankSharp.Server.Tests;

/// <summary>
/// A real Kestrel on 127.0.0.1 serving several models of a <see cref="RerankModelRegistry"/>, and a client for it: the
/// three architecture fixtures of the acceptance (XLM-R, BERT, Qwen3) unless a test builds its own registry.
/// </summary>
internal sealed class MultiModelServer : IAsyncDisposable
{
    /// <summary>Name and fixture of the three models: an XLM-RoBERTa, a BERT and a Qwen3 decoder reranker.</summary>
    public static readonly (string Name, string Path)[] Fixtures =
    [
        ("xlmr", FixturePaths.Model("tiny-a")),
        ("bert", FixturePaths.Model("bert-a")),
        ("qwen3", FixturePaths.Model("qwen3-a")),
    ];

    private MultiModelServer(RerankModelRegistry models, WebApplication app, Uri address)
    {
        Models = models;
        App = app;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public RerankModelRegistry Models { get; }
    public WebApplication App { get; }
    public HttpClient Client { get; }

    /// <summary>The three fixtures, each loaded by the registry (on first use when <paramref name="maxMemoryBytes"/> is set, else now).</summary>
    public static Task<MultiModelServer> StartThreeAsync(long? maxMemoryBytes = null, CrossEncoderOptions? options = null)
    {
        var models = new RerankModelRegistry(maxMemoryBytes);
        foreach (var (name, path) in Fixtures)
            models.Add(name, async ct => await CrossEncoder.LoadAsync(path, options, ct), WeightBytes(path), [path]);
        return StartAsync(models, preload: maxMemoryBytes is null);
    }

    public static async Task<MultiModelServer> StartAsync(RerankModelRegistry models, bool preload = true, RerankServerOptions? options = null)
    {
        if (preload) await models.PreloadAsync();
        var app = RerankServerApplication.Create(models, options ?? new RerankServerOptions { ModelName = models.Default.Name },
            new RerankHostOptions("127.0.0.1", 0, TimeSpan.FromSeconds(20), Playground: false));
        await app.StartAsync();
        return new MultiModelServer(models, app, new Uri(RerankServerApplication.ListeningAddresses(app).Single()));
    }

    /// <summary>What a model is counted as against a memory budget: its safetensors, as <c>rerank serve</c> counts it.</summary>
    public static long WeightBytes(string folder) =>
        Directory.GetFiles(folder, "*.safetensors").Sum(f => (new FileInfo(f).ResolveLinkTarget(true) as FileInfo ?? new FileInfo(f)).Length);

    public async Task<(int Status, JsonNode? Body)> PostAsync(string path, JsonNode body)
    {
        using var response = await Client.PostAsync(path, new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async Task<(int Status, JsonNode? Body)> GetAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>A Cohere/Jina body for <paramref name="model"/>.</summary>
    public static JsonObject Body(string? model, string query, IEnumerable<string> documents)
    {
        var body = new JsonObject { ["query"] = query, ["documents"] = new JsonArray(documents.Select(d => (JsonNode)d!).ToArray()) };
        if (model is not null) body["model"] = model;
        return body;
    }

    /// <summary>The scores of a Cohere-shaped reply, by document index.</summary>
    public static float[] ScoresByIndex(JsonNode reply, int count)
    {
        var scores = new float[count];
        Array.Fill(scores, float.NaN);
        foreach (var result in reply["results"]!.AsArray())
            scores[result!["index"]!.GetValue<int>()] = result["relevance_score"]!.GetValue<float>();
        return scores;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Models.Dispose();
    }
}
