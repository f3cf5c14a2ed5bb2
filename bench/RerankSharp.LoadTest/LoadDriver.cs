using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RerankSharp.LoadTest;

/// <summary>One request's outcome.</summary>
internal sealed record Reply(int Status, string Text, TimeSpan Elapsed, string? RetryAfter);

/// <summary>One level's outcome.</summary>
internal sealed record LoadResult(int Clients, int Requests, int Errors, TimeSpan Elapsed, double[] LatenciesMs, long Tokens, double MeanBatchRows, double MergedBatches)
{
    public string ToMarkdownRow(LoadOptions options)
    {
        var ok = Requests - Errors;
        var seconds = Elapsed.TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"| {Clients} | {Requests} | {options.Docs} × {options.Tokens} | {ok / seconds:F2} | {ok * options.Docs / seconds:F1} | {Tokens / seconds:F0} | " +
            $"{Percentile(0.50):F0} | {Percentile(0.99):F0} | {MeanBatchRows:F1} | {MergedBatches:F0} | {Errors} |");
    }

    // Nearest-rank percentile over the successful requests.
    private double Percentile(double p)
    {
        if (LatenciesMs.Length == 0) return double.NaN;
        var sorted = LatenciesMs.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>
/// Builds request bodies of exactly docs × tokens with the server's /tokenize, then runs levels of N clients that
/// share a bounded request count, one request at a time each; reads /metrics before and after for batch figures.
/// </summary>
/// <remarks><paramref name="model"/> goes in every body's <c>model</c> field and sizes texts with that model's tokenizer (a one-model server serves any name).</remarks>
internal sealed class LoadDriver(Uri server, LoadOptions options, string model = "m")
{
    private static readonly string[] Words =
        ["river", "capital", "mountain", "history", "population", "train", "museum", "北京", "城市", "首都", "Москва", "données", "system", "energy", "garden", "ocean"];

    private readonly HttpClient _client = Client(server, options);

    public HttpClient Http => _client;
    private readonly List<string> _bodies = [];

    private static HttpClient Client(Uri server, LoadOptions options)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { BaseAddress = server, Timeout = TimeSpan.FromMinutes(10) };
        if (options.ApiKey is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        return client;
    }

    public async Task PrepareAsync()
    {
        var random = new Random(options.Seed);
        const string query = "which city is the capital";
        var queryTokens = (await TokenizeAsync([query]))[0];
        var documentTokens = options.Tokens - queryTokens - 4;
        if (documentTokens < 1) throw new ArgumentException($"--tokens {options.Tokens} leaves no room for a document after the {queryTokens}-token query.");
        // Eight distinct bodies, used in turn.
        for (var b = 0; b < 8; b++)
        {
            var documents = new List<string>();
            for (var d = 0; d < options.Docs; d++) documents.Add(await DocumentOfAsync(documentTokens, random));
            var body = new JsonObject
            {
                ["query"] = query,
                [options.Route == "/rerank" ? "texts" : "documents"] = new JsonArray(documents.Select(x => (JsonNode)x!).ToArray()),
                ["model"] = model,
            };
            _bodies.Add(body.ToJsonString());
        }
        Console.Error.WriteLine($"warming up ({options.Docs} documents × {options.Tokens} tokens per request) ...");
        foreach (var body in _bodies.Take(2)) await PostAsync(body);
    }

    /// <summary>A request body of <paramref name="docs"/> documents whose pairs with the query are <paramref name="tokens"/> long.</summary>
    public async Task<string> BodyAsync(int docs, int tokens, Random random)
    {
        const string query = "which city is the capital";
        var queryTokens = (await TokenizeAsync([query]))[0];
        var documents = new List<string>();
        for (var d = 0; d < docs; d++) documents.Add(await DocumentOfAsync(tokens - queryTokens - 4, random));
        return new JsonObject
        {
            ["query"] = query,
            [options.Route == "/rerank" ? "texts" : "documents"] = new JsonArray(documents.Select(x => (JsonNode)x!).ToArray()),
            ["model"] = model,
        }.ToJsonString();
    }

    /// <summary>One POST of <paramref name="body"/>: status, body text, latency and Retry-After; a cancel disconnects.</summary>
    public async Task<Reply> SendAsync(string body, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await _client.PostAsync(options.Route, new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new Reply((int)response.StatusCode, text, Stopwatch.GetElapsedTime(started),
            response.Headers.TryGetValues("Retry-After", out var retry) ? retry.Single() : null);
    }

    /// <summary>The scores of a /rerank (TEI) answer by document index.</summary>
    public static float[] ScoresOf(string reply)
    {
        var items = JsonNode.Parse(reply)!.AsArray();
        var scores = new float[items.Count];
        foreach (var item in items) scores[item!["index"]!.GetValue<int>()] = item["score"]!.GetValue<float>();
        return scores;
    }

    // The longest prefix of a random word sequence that fits, then single letters to fill the rest exactly.
    private async Task<string> DocumentOfAsync(int tokens, Random random)
    {
        var words = Enumerable.Range(0, tokens * 2).Select(_ => Words[random.Next(Words.Length)]).ToArray();
        int low = 0, high = words.Length;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if ((await TokenizeAsync([string.Join(' ', words[..middle])]))[0] <= tokens) low = middle; else high = middle - 1;
        }
        var text = string.Join(' ', words[..low]);
        for (var guard = 0; guard < tokens; guard++)
        {
            var count = (await TokenizeAsync([text]))[0];
            if (count >= tokens) break;
            text += " a";
        }
        return text;
    }

    private async Task<int[]> TokenizeAsync(string[] texts)
    {
        var body = new JsonObject { ["inputs"] = new JsonArray(texts.Select(x => (JsonNode)x!).ToArray()), ["add_special_tokens"] = false, ["model"] = model };
        using var response = await _client.PostAsync("/tokenize", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray().Select(t => t!.AsArray().Count).ToArray();
    }

    private async Task<(bool Ok, long Tokens)> PostAsync(string body)
    {
        using var response = await _client.PostAsync(options.Route, new StringContent(body, Encoding.UTF8, "application/json"));
        await response.Content.ReadAsByteArrayAsync();
        var tokens = response.Headers.TryGetValues("x-compute-tokens", out var values) ? long.Parse(values.Single(), CultureInfo.InvariantCulture) : 0;
        return (response.IsSuccessStatusCode, tokens);
    }

    public async Task<LoadResult> RunAsync(int clients, int requests)
    {
        var before = await MetricsAsync();
        var next = -1;
        var latencies = new List<double>();
        var errors = 0;
        long tokens = 0;
        var deadline = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int k;
            while ((k = Interlocked.Increment(ref next)) < requests && deadline.Elapsed.TotalSeconds < options.MaxSeconds)
            {
                var started = Stopwatch.GetTimestamp();
                var (ok, used) = await PostAsync(_bodies[k % _bodies.Count]);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (latencies)
                {
                    if (ok) { latencies.Add(elapsed); tokens += used; }
                    else errors++;
                }
            }
        })));
        var wall = clock.Elapsed;
        var after = await MetricsAsync();
        var batches = after.GetValueOrDefault("rerank_batch_size_count") - before.GetValueOrDefault("rerank_batch_size_count");
        var rows = after.GetValueOrDefault("rerank_batch_size_sum") - before.GetValueOrDefault("rerank_batch_size_sum");
        var merged = after.GetValueOrDefault("rerank_batches_merged_total") - before.GetValueOrDefault("rerank_batches_merged_total");
        var issued = latencies.Count + errors;
        Console.Error.WriteLine($"{clients} clients: {issued} requests in {wall.TotalSeconds:F1} s");
        return new LoadResult(clients, issued, errors, wall, latencies.ToArray(), tokens, batches > 0 ? rows / batches : double.NaN, merged);
    }

    public async Task<Dictionary<string, double>> MetricsAsync()
    {
        var samples = new Dictionary<string, double>();
        using var response = await _client.GetAsync("/metrics");
        if (!response.IsSuccessStatusCode) return samples;
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.StartsWith('#') || line.Contains('{')) continue;
            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], CultureInfo.InvariantCulture, out var value)) samples[line[..space]] = value;
        }
        return samples;
    }
}
