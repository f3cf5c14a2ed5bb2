using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>
/// TEI's gRPC API (<c>tei.v1</c> <c>Rerank</c>, <c>Info</c>, <c>Tokenize</c>) with gRPC health and reflection, as TEI
/// serves them. gRPC needs HTTP/2; without TLS that means an endpoint of its own with <c>HttpProtocols.Http2</c>
/// (<c>rerank serve --grpc-port</c> makes one).
/// </summary>
public static class TeiGrpcServices
{
    /// <summary>Registers the gRPC services over the encoder of <c>AddRerankServer</c>, which must be called first.</summary>
    public static IServiceCollection AddRerankGrpc(this IServiceCollection services)
    {
        services.AddGrpc(o => o.Interceptors.Add<TeiGrpcInterceptor>());
        // A message may be as large as an HTTP body may (gRPC's own default is 4 MiB).
        services.AddOptions<GrpcServiceOptions>().Configure<RerankServerOptions>((grpc, server) =>
            grpc.MaxReceiveMessageSize = (int)Math.Min(server.MaxBodyBytes, int.MaxValue));
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks(o =>
            {
                // TEI reports a reranker's health under its service names as well as under "" (the whole server).
                o.Services.Map("", _ => true);
                o.Services.Map("tei.v1.Rerank", _ => true);
            })
            .AddCheck<ServingHealthCheck>("serving");
        return services;
    }

    /// <summary>Maps <c>tei.v1.Rerank</c>, <c>tei.v1.Info</c>, <c>tei.v1.Tokenize</c>, <c>grpc.health.v1.Health</c> and server reflection.</summary>
    public static IEndpointRouteBuilder MapRerankGrpcServices(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<RerankGrpcService>();
        endpoints.MapGrpcService<InfoGrpcService>();
        endpoints.MapGrpcService<TokenizeGrpcService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
        return endpoints;
    }
}

/// <summary>SERVING until the host begins to stop, as <c>GET /health</c> is 200 until then.</summary>
internal sealed class ServingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("The server is shutting down.")
            : HealthCheckResult.Healthy());
}
