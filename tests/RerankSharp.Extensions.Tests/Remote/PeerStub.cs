using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RerankSharp.Extensions.Tests.Remote;

/// <summary>
/// A Kestrel on 127.0.0.1 that stands in for another rerank server: every POST and GET goes to <see cref="Handler"/>,
/// which answers in that server's shape (<see cref="PeerReplies"/>); requests are recorded with their JSON bodies.
/// </summary>
internal sealed class PeerStub : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Received(string Method, string Path, JsonNode? Body, string? Authorization);

    private PeerStub(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Answers a request; its recorded body is given. Replace per test.</summary>
    public Func<HttpContext, Received, Task> Handler { get; set; } = (context, _) =>
    {
        context.Response.StatusCode = 404;
        return Task.CompletedTask;
    };

    public IEnumerable<Received> Posts => Requests.Where(r => r.Method == "POST");

    public static async Task<PeerStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        PeerStub? stub = null;
        app.Run(async context =>
        {
            var text = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
            var received = new Received(context.Request.Method, context.Request.Path, text.Length > 0 ? JsonNode.Parse(text) : null,
                context.Request.Headers.Authorization.FirstOrDefault());
            stub!.Requests.Enqueue(received);
            await stub.Handler(context, received);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        stub = new PeerStub(app, new Uri(address));
        return stub;
    }

    public static Task Json(HttpContext context, JsonNode body, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
