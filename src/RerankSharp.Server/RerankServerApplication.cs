using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RerankSharp.Scoring;

namespace RerankSharp.Server;

/// <summary>Where and how a standalone rerank server listens.</summary>
/// <param name="Host">An IP address to bind (<c>127.0.0.1</c>, <c>0.0.0.0</c>, <c>::</c>) or <c>localhost</c>.</param>
/// <param name="Port">TCP port; 0 picks a free one (see <see cref="RerankServerApplication.ListeningAddresses"/>).</param>
/// <param name="ShutdownTimeout">How long a stopping server lets in-flight requests finish.</param>
/// <param name="LogLevel">Least severe log message written to standard error.</param>
public sealed record RerankHostOptions(string Host = "127.0.0.1", int Port = 8080, TimeSpan? ShutdownTimeout = null, LogLevel LogLevel = LogLevel.Warning);

/// <summary>
/// A Kestrel server with the rerank routes and nothing else: what <c>rerank serve</c> runs and what the tests start.
/// An application that has its own pipeline calls <c>AddRerankServer</c> and <c>MapRerankEndpoints</c> instead.
/// </summary>
public static class RerankServerApplication
{
    public static WebApplication Create(CrossEncoder encoder, RerankServerOptions serverOptions, RerankHostOptions hostOptions)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(serverOptions);
        ArgumentNullException.ThrowIfNull(hostOptions);
        var address = ParseHost(hostOptions.Host);
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
        });
        builder.Services.AddRerankServer(encoder, serverOptions);

        var app = builder.Build();
        app.MapRerankEndpoints();
        app.MapFallback((HttpContext context) => ErrorResponses.Error(StatusCodes.Status404NotFound, ErrorTypes.NotFound,
            $"No route {context.Request.Method} {context.Request.Path}; this server answers POST /rerank, /v1/rerank, /v2/rerank, /tokenize and GET /info, /health, /metrics, /openapi.json."));
        return app;
    }

    /// <summary>The addresses a started server listens on, with the port chosen when 0 was asked.</summary>
    public static IReadOnlyList<string> ListeningAddresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    private static IPAddress ParseHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
        : IPAddress.TryParse(host.Trim('[', ']'), out var address) ? address
        : throw new RerankException(RerankErrorKind.InvalidInput, $"--host {host} is not an IP address; use 127.0.0.1 (this machine only), 0.0.0.0 (all IPv4) or :: (all IPv6).");
}
