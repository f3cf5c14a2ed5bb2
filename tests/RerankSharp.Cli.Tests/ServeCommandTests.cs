using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class ServeCommandTests
{
    [Fact]
    public async Task Serve_listens_takes_its_settings_from_flags_and_variables_and_stops_cleanly_on_sigterm()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, StandardErrorEncoding = Encoding.UTF8 };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rerank.dll"));
        foreach (var arg in new[] { "serve", "--model", FixturePaths.Model("tiny-a"), "--port", "0", "--max-documents", "3", "--open-health" }) info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        info.Environment["RERANK_API_KEY"] = "alpha, beta";
        info.Environment["RERANK_SERVED_MODEL_NAME"] = "bge-test";
        using var process = Process.Start(info)!;
        try
        {
            // "rerank: serving bge-test on http://127.0.0.1:PORT (...)" on standard error once listening.
            var line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(line);
            Assert.Contains("serving bge-test on http://127.0.0.1:", line);
            var address = line.Split(' ')[4];
            using var client = new HttpClient { BaseAddress = new Uri(address) };

            Assert.Equal(200, (int)(await client.GetAsync("/health")).StatusCode);
            Assert.Equal(401, (int)(await client.GetAsync("/info")).StatusCode);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "beta");
            var ok = await client.PostAsync("/v1/rerank", new StringContent("""{"query": "q", "documents": ["a", "b"]}""", Encoding.UTF8, "application/json"));
            var tooMany = await client.PostAsync("/rerank", new StringContent("""{"query": "q", "texts": ["a", "b", "c", "d"]}""", Encoding.UTF8, "application/json"));

            Assert.Equal(200, (int)ok.StatusCode);
            Assert.Equal("bge-test", JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["model"]!.GetValue<string>());
            Assert.Equal(413, (int)tooMany.StatusCode);

            Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "rerank serve did not stop on SIGTERM");
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Serve_adds_teis_grpc_port_from_the_variable_and_leaves_out_the_playground_by_flag()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, StandardErrorEncoding = Encoding.UTF8 };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rerank.dll"));
        foreach (var arg in new[] { "serve", "--model", FixturePaths.Model("tiny-a"), "--port", "0", "--no-playground" }) info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        info.Environment["RERANK_GRPC_PORT"] = "0";
        using var process = Process.Start(info)!;
        try
        {
            // "rerank: serving ... on http://127.0.0.1:PORT (...)", then "rerank: gRPC (...) on http://127.0.0.1:PORT".
            var serving = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var grpc = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(serving);
            Assert.NotNull(grpc);
            Assert.StartsWith("rerank: gRPC (tei.v1 Rerank, Info, Tokenize) on http://127.0.0.1:", grpc);
            using var client = new HttpClient { BaseAddress = new Uri(serving.Split(' ')[4]) };
            using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(grpc.Split(' ')[^1]);

            var health = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = "tei.v1.Rerank" });
            var root = await client.GetAsync("/");

            Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            Assert.Equal(404, (int)root.StatusCode);
            Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "rerank serve did not stop on SIGTERM");
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Sigterm_drains_with_503s_finishes_the_request_in_flight_and_exits_0()
    {
        var info = RerankProcess.StartInfo(null, "serve", "--model", FixturePaths.Model("tiny-a"), "--port", "0",
            "--batch-size", "1", "--threads", "1", "--drain-delay", "2", "--shutdown-timeout", "30");
        using var process = Process.Start(info)!;
        try
        {
            var line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(line);
            using var client = new HttpClient { BaseAddress = new Uri(line.Split(' ')[4]), Timeout = TimeSpan.FromSeconds(60) };
            // 120 pairs of ~500 tokens one at a time: seconds of work on tiny-a, still running at SIGTERM.
            var words = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"word{i % 37}"));
            var documents = new JsonArray(Enumerable.Range(0, 120).Select(i => (JsonNode)$"{i} {words}").ToArray());
            var clock = Stopwatch.StartNew();
            var answeredAt = TimeSpan.Zero;
            var inFlight = client.PostAsync("/rerank", new StringContent(new JsonObject { ["query"] = "q", ["texts"] = documents }.ToJsonString(), Encoding.UTF8, "application/json"))
                .ContinueWith(t => { answeredAt = clock.Elapsed; return t.Result; });
            await WaitForMetric(client, "rerank_requests_in_flight 1");

            Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
            var health = await PollUntil(() => client.GetAsync("/health"), r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
            var drainingAt = clock.Elapsed;
            var refused = await client.PostAsync("/v1/rerank", new StringContent("""{"query": "q", "documents": ["a"]}""", Encoding.UTF8, "application/json"));
            var answered = await inFlight;
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(40)), "rerank serve did not stop after draining");
            var stderr = await process.StandardError.ReadToEndAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("shutting down", await refused.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Equal(120, JsonNode.Parse(await answered.Content.ReadAsStringAsync())!.AsArray().Count);
            Assert.True(answeredAt > drainingAt, $"the request was answered at {answeredAt}, before the drain was seen at {drainingAt}");
            Assert.Equal(0, process.ExitCode);
            // One line when the drain starts, one when it ends.
            Assert.Contains("rerank: stopping: 1 request in flight to finish, new ones get 503 (at most 30 s)", stderr);
            Assert.Matches(@"rerank: stopped after \d+\.\d s; 1 request in flight finished", stderr);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task An_otlp_endpoint_gets_the_instruments_that_metrics_shows()
    {
        // A collector stand-in on loopback: it keeps the bodies POSTed to /v1/metrics (OTLP over HTTP, protobuf).
        var port = FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var bodies = new System.Collections.Concurrent.ConcurrentQueue<(string Path, byte[] Body)>();
        var receiving = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                HttpListenerContext context;
                try { context = await collector.GetContextAsync(); }
                catch (Exception) when (!collector.IsListening) { return; }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                bodies.Enqueue((context.Request.Url!.AbsolutePath, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });
        var info = RerankProcess.StartInfo(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        }, "serve", "--model", FixturePaths.Model("tiny-a"), "--port", "0", "--otlp-endpoint", $"http://127.0.0.1:{port}");
        using var process = Process.Start(info)!;
        try
        {
            var line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(line);
            using var client = new HttpClient { BaseAddress = new Uri(line.Split(' ')[4]) };
            var ok = await client.PostAsync("/v1/rerank", new StringContent("""{"query": "q", "documents": ["a", "b"]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)ok.StatusCode);
            Assert.Contains("# TYPE rerank_model_documents_total counter", await client.GetStringAsync("/metrics"));

            // Protobuf keeps strings as UTF-8 bytes: the instrument names and the model label are in the export.
            static bool Has(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
            var seen = false;
            for (var i = 0; i < 200 && !seen; i++)
            {
                seen = bodies.Any(b => Has(b.Body, "rerank.model.documents") && Has(b.Body, "rerank.http.requests") && Has(b.Body, "tiny-a"));
                if (!seen) await Task.Delay(50);
            }
            Assert.True(seen, $"no export named the server's instruments; {bodies.Count} bodies to {string.Join(", ", bodies.Select(b => b.Path).Distinct())}");
            Assert.All(bodies, b => Assert.Equal("/v1/metrics", b.Path));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            collector.Stop();
            await receiving;
        }
    }

    private static int FreePort()
    {
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private static async Task WaitForMetric(HttpClient client, string sample)
    {
        for (var i = 0; i < 400; i++)
        {
            if ((await client.GetStringAsync("/metrics")).Split('\n').Contains(sample)) return;
            await Task.Delay(25);
        }
        Assert.Fail($"/metrics never showed '{sample}'");
    }

    private static async Task<HttpResponseMessage> PollUntil(Func<Task<HttpResponseMessage>> send, Func<HttpResponseMessage, bool> done)
    {
        for (var i = 0; ; i++)
        {
            var response = await send();
            if (done(response) || i == 200) return response;
            await Task.Delay(10);
        }
    }

    [Fact]
    public void A_host_that_is_not_an_ip_address_fails_with_one_line()
    {
        var result = RerankProcess.Run(null, "serve", "--model", FixturePaths.Model("tiny-a"), "--host", "example.invalid", "--port", "0");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("is not an IP address", result.Stderr);
    }

    [Fact]
    public void An_otlp_endpoint_that_is_not_a_url_fails_before_loading_with_an_example()
    {
        var result = RerankProcess.Run(null, "serve", "--model", FixturePaths.Model("tiny-a"), "--port", "0", "--otlp-endpoint", "collector:4317");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("--otlp-endpoint 'collector:4317' is not an http(s) URL", result.Stderr);
        Assert.Contains("http://127.0.0.1:4317", result.Stderr);
    }
}
