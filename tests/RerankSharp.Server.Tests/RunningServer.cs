using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using RerankSharp.Scoring;
using RerankSharp.Server;
using RerankSharp.Tests;

namespace RerankSharp.Server.Tests;

/// <summary>A real Kestrel on 127.0.0.1 and a free port, serving the tiny-a fixture model, and a client for it.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    public static readonly string ModelPath = FixturePaths.Model("tiny-a");

    private RunningServer(CrossEncoder encoder, WebApplication app, Uri address, Uri? grpcAddress)
    {
        Encoder = encoder;
        App = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        GrpcAddress = grpcAddress;
        Channel = grpcAddress is null ? null : GrpcChannel.ForAddress(grpcAddress);
    }

    public CrossEncoder Encoder { get; }
    public WebApplication App { get; }
    public Uri Address { get; }
    public HttpClient Client { get; }
    public string? ApiKey { get; init; }

    /// <summary>The gRPC endpoint, when started with <c>grpc: true</c>.</summary>
    public Uri? GrpcAddress { get; }

    /// <summary>A channel to <see cref="GrpcAddress"/> (cleartext HTTP/2), shared by the test's calls.</summary>
    public GrpcChannel? Channel { get; }

    public static async Task<RunningServer> StartAsync(RerankServerOptions? options = null, CrossEncoderOptions? encoderOptions = null,
        bool grpc = false, bool playground = true)
    {
        options ??= new RerankServerOptions();
        var encoder = await CrossEncoder.LoadAsync(ModelPath, encoderOptions);
        var app = RerankServerApplication.Create(encoder, options,
            new RerankHostOptions("127.0.0.1", 0, TimeSpan.FromSeconds(20), GrpcPort: grpc ? 0 : null, Playground: playground));
        await app.StartAsync();
        var address = new Uri(RerankServerApplication.ListeningAddresses(app).Single());
        var grpcAddress = RerankServerApplication.GrpcAddress(app) is { } g ? new Uri(g) : null;
        return new RunningServer(encoder, app, address, grpcAddress) { ApiKey = options.ApiKeys.FirstOrDefault() };
    }

    /// <summary>gRPC call options carrying the server's key (or <paramref name="key"/>; "" for none), as TEI's clients send it.</summary>
    public CallOptions GrpcCall(string? key = null, CancellationToken cancellationToken = default)
    {
        key ??= ApiKey;
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(key)) headers.Add("authorization", $"Bearer {key}");
        return new CallOptions(headers, cancellationToken: cancellationToken);
    }

    public HttpRequestMessage Request(HttpMethod method, string path, string? json = null, bool authorize = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (authorize && ApiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return request;
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> PostAsync(string path, JsonNode body, CancellationToken cancellationToken = default)
    {
        var response = await Client.SendAsync(Request(HttpMethod.Post, path, body.ToJsonString()), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, bool authorize = true)
    {
        var response = await Client.SendAsync(Request(HttpMethod.Get, path, authorize: authorize));
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of one Prometheus sample, e.g. <c>rerank_batches_merged_total</c> or <c>rerank_http_requests_total{route="/rerank",status="200"}</c>.</summary>
    public async Task<double> MetricAsync(string sample)
    {
        var (_, text) = await GetAsync("/metrics");
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(sample + " ", StringComparison.Ordinal))
                return double.Parse(line[(sample.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Channel?.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Encoder.Dispose();
    }
}

/// <summary>One default server per test class (xunit class fixture), plus a separately loaded encoder to compute expected scores.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    internal RunningServer Server { get; private set; } = null!;
    internal CrossEncoder Reference { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RunningServer.StartAsync();
        Reference = await CrossEncoder.LoadAsync(RunningServer.ModelPath);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Reference.Dispose();
    }
}

/// <summary>One server with the gRPC endpoint per test class, plus a separately loaded encoder for expected scores.</summary>
public sealed class GrpcServerFixture : IAsyncLifetime
{
    internal RunningServer Server { get; private set; } = null!;
    internal CrossEncoder Reference { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RunningServer.StartAsync(grpc: true);
        Reference = await CrossEncoder.LoadAsync(RunningServer.ModelPath);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Reference.Dispose();
    }
}
