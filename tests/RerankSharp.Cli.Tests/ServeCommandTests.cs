using System.Diagnostics;
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
    public void A_host_that_is_not_an_ip_address_fails_with_one_line()
    {
        var result = RerankProcess.Run(null, "serve", "--model", FixturePaths.Model("tiny-a"), "--host", "example.invalid", "--port", "0");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("is not an IP address", result.Stderr);
    }
}
