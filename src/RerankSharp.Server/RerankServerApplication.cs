using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;
using RerankSharp.Server.TeiGrpc;

namespace RerankSharp.Server;

/// <summary>Where and how a standalone rerank server listens.</summary>
/// <param name="Host">An IP address to bind (<c>127.0.0.1</c>, <c>0.0.0.0</c>, <c>::</c>) or <c>localhost</c>.</param>
/// <param name="Port">TCP port; 0 picks a free one (see <see cref="RerankServerApplication.ListeningAddresses"/>).</param>
/// <param name="ShutdownTimeout">How long a stopping server lets in-flight requests finish.</param>
/// <param name="LogLevel">Least severe log message written to standard error.</param>
/// <param name="GrpcPort">TCP port of TEI's gRPC API (cleartext HTTP/2, on <paramref name="Host"/>); null serves no gRPC; 0 picks a free port.</param>
/// <param name="Playground">Serve the browser playground at <c>GET /</c>.</param>
public sealed record RerankHostOptions(string Host = "127.0.0.1", int Port = 8080, TimeSpan? ShutdownTimeout = null, LogLevel LogLevel = LogLevel.Warning,
    int? GrpcPort = null, bool Playground = true)
{
    /// <summary>
    /// Adds services of the host's own to the server's container before it is built: what <c>rerank serve</c> uses to
    /// send the server's metrics (<see cref="RerankServerTelemetry.MeterName"/>) to an OpenTelemetry collector.
    /// </summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

/// <summary>
/// A Kestrel server with the rerank routes and nothing else: what <c>rerank serve</c> runs and what the tests start.
/// An application that has its own pipeline calls <c>AddRerankServer</c> and <c>MapRerankEndpoints</c> instead.
/// </summary>
public static class RerankServerApplication
{
    /// <summary>Scoring requests <paramref name="app"/> is answering now.</summary>
    public static int InFlightRequests(WebApplication app) => app.Services.GetRequiredService<ShutdownDrain>().InFlight;

    /// <summary>How <paramref name="app"/>'s drain went, once it has stopped; null before.</summary>
    public static RerankDrainReport? DrainReport(WebApplication app) => app.Services.GetRequiredService<ShutdownDrain>().Report;

    /// <summary>A server of one model, <paramref name="encoder"/>, named <see cref="RerankServerOptions.ModelName"/>; the caller disposes it after the server has stopped.</summary>
    public static WebApplication Create(CrossEncoder encoder, RerankServerOptions serverOptions, RerankHostOptions hostOptions)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return Create(services => services.AddRerankServer(encoder, serverOptions), serverOptions, hostOptions);
    }

    /// <summary>
    /// A server of the models of <paramref name="models"/>, routed by the requests' <c>model</c> field; the caller
    /// disposes the registry after the server has stopped.
    /// </summary>
    public static WebApplication Create(RerankModelRegistry models, RerankServerOptions serverOptions, RerankHostOptions hostOptions)
    {
        ArgumentNullException.ThrowIfNull(models);
        return Create(services => services.AddRerankServer(models, serverOptions), serverOptions, hostOptions);
    }

    private static WebApplication Create(Action<IServiceCollection> addServer, RerankServerOptions serverOptions, RerankHostOptions hostOptions)
    {
        ArgumentNullException.ThrowIfNull(serverOptions);
        ArgumentNullException.ThrowIfNull(hostOptions);
        var address = ParseHost(hostOptions.Host);
        if (hostOptions.GrpcPort is { } grpcPort && grpcPort == hostOptions.Port && grpcPort != 0)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"--grpc-port {grpcPort} is also --port; give gRPC a port of its own (it speaks cleartext HTTP/2, the other port HTTP/1.1).");
        var listeners = new Listeners();
        // No args, no appsettings or ASPNETCORE_ variables: the CLI's flags and RERANK_ variables are the only configuration.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        // The slim builder still reads ASPNETCORE_URLS / ASPNETCORE_HTTP_PORTS (the ASP.NET container images set the
        // latter); Kestrel listens only where Host and Port say, and those would just make it warn that they are overridden.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "").UseSetting(WebHostDefaults.HttpPortsKey, "").UseSetting(WebHostDefaults.HttpsPortsKey, "");
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(hostOptions.LogLevel);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = hostOptions.ShutdownTimeout ?? TimeSpan.FromSeconds(30));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = serverOptions.MaxBodyBytes;
            kestrel.Listen(address, hostOptions.Port);
            // Without TLS there is no protocol negotiation: a cleartext port speaks HTTP/1.1 or (with prior
            // knowledge, as gRPC clients have) HTTP/2, never both; hence a port of its own.
            if (hostOptions.GrpcPort is { } port)
                kestrel.Listen(address, port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    listeners.Grpc = listen;
                });
        });
        addServer(builder.Services);
        hostOptions.ConfigureServices?.Invoke(builder.Services);
        builder.Services.AddSingleton(listeners);
        if (hostOptions.GrpcPort is not null) builder.Services.AddRerankGrpc();

        var app = builder.Build();
        if (hostOptions.GrpcPort is not null)
        {
            app.UseRouting();
            app.Use(KeepGrpcAndHttpApart);
            app.MapRerankGrpcServices();
        }
        app.MapRerankEndpoints();
        if (hostOptions.Playground) app.MapRerankPlayground();
        var routes = "POST /rerank, /v1/rerank, /v2/rerank, /tokenize and GET /info, /health, /v1/models, /metrics, /openapi.json" + (hostOptions.Playground ? ", / (the playground)" : "");
        app.MapFallback((HttpContext context) => ErrorResponses.Error(StatusCodes.Status404NotFound, ErrorTypes.NotFound,
            $"No route {context.Request.Method} {context.Request.Path}; this server answers {routes}."));
        return app;
    }

    /// <summary>The HTTP addresses a started server listens on, with the port chosen when 0 was asked.</summary>
    public static IReadOnlyList<string> ListeningAddresses(WebApplication app)
    {
        var grpcPort = app.Services.GetRequiredService<Listeners>().Grpc?.IPEndPoint?.Port;
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            .Where(a => grpcPort is null || new Uri(a).Port != grpcPort).ToList() ?? [];
    }

    /// <summary>The address of the gRPC endpoint of a started server (<c>http://HOST:PORT</c>), or null when it serves no gRPC.</summary>
    public static string? GrpcAddress(WebApplication app)
    {
        // Kestrel writes the bound endpoint (the port it chose for 0) back into the ListenOptions.
        // IPEndPoint writes IPv6 addresses in brackets, as a URL needs them.
        return app.Services.GetRequiredService<Listeners>().Grpc?.IPEndPoint is { } endpoint ? $"http://{endpoint}" : null;
    }

    // The gRPC port carries only gRPC calls and the HTTP port only the HTTP routes, so neither answers the other's
    // requests in a shape its clients do not expect.
    private static Task KeepGrpcAndHttpApart(HttpContext context, RequestDelegate next)
    {
        var grpcPort = context.RequestServices.GetRequiredService<Listeners>().Grpc?.IPEndPoint?.Port;
        var onGrpcPort = context.Connection.LocalPort == grpcPort;
        var isGrpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
        if (onGrpcPort && isGrpc && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
            // gRPC's own limits apply instead (MaxReceiveMessageSize per message, the stream budget in RerankStream):
            // Kestrel's would fail a unary call mid-read with UNKNOWN rather than RESOURCE_EXHAUSTED and a message.
            bodyLimit.MaxRequestBodySize = null;
        if (onGrpcPort == isGrpc) return next(context);
        return ErrorResponses.Error(StatusCodes.Status404NotFound, ErrorTypes.NotFound, onGrpcPort
            ? "This port serves gRPC (tei.v1.Rerank, tei.v1.Info, tei.v1.Tokenize); the HTTP routes are on the server's --port."
            : "gRPC is served on the server's --grpc-port, not on this port.").ExecuteAsync(context);
    }

    /// <summary>The Kestrel endpoints of one server, filled in as Kestrel configures them.</summary>
    private sealed class Listeners
    {
        public ListenOptions? Grpc { get; set; }
    }

    private static IPAddress ParseHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
        : IPAddress.TryParse(host.Trim('[', ']'), out var address) ? address
        : throw new RerankException(RerankErrorKind.InvalidInput, $"--host {host} is not an IP address; use 127.0.0.1 (this machine only), 0.0.0.0 (all IPv4) or :: (all IPv6).");
}
