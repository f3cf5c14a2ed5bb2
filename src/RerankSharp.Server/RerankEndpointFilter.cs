using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace RerankSharp.Server;

/// <summary>
/// Wraps every rerank route: counts it in the metrics when the response completes, refuses work beyond
/// <see cref="RerankServerOptions.MaxConcurrentRequests"/>, checks the API key, and turns any failure into
/// the JSON error of <see cref="ErrorResponses"/>.
/// </summary>
internal sealed class RerankEndpointFilter(RerankServerOptions options, ApiKeyCheck keys, RerankMetrics metrics, InFlightRequests inFlight,
    ShutdownDrain drain, ILogger<RerankEndpointFilter> logger) : IEndpointFilter
{
    public const string StartedKey = "RerankSharp.Started";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var started = Stopwatch.GetTimestamp();
        context.Items[StartedKey] = started;
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value ?? "";
        context.Response.OnCompleted(() =>
        {
            var status = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted
                ? ErrorResponses.ClientClosedRequest : context.Response.StatusCode;
            metrics.RecordRequest(route, status, Stopwatch.GetElapsedTime(started));
            return Task.CompletedTask;
        });

        if (!IsOpen(route) && !keys.Accepts(context.Request.Headers.Authorization))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ErrorResponses.Error(StatusCodes.Status401Unauthorized, ErrorTypes.Unauthorized,
                context.Request.Headers.Authorization.Count == 0
                    ? "This server needs an API key; send 'Authorization: Bearer <key>'."
                    : "The API key is not valid; send 'Authorization: Bearer <key>' with a key the server was started with.");
        }

        // Fail fast instead of holding unbounded bodies in memory (DESIGN.md §8.5); reads are never gated.
        var gated = HttpMethods.IsPost(context.Request.Method);
        if (gated && drain.IsDraining)
        {
            // The client should go elsewhere, and not on this connection: the listener closes soon.
            context.Response.Headers.Connection = "close";
            return ErrorResponses.Error(StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy, "The server is shutting down; retry on another instance.");
        }
        if (gated && !inFlight.TryEnter())
        {
            context.Response.Headers.RetryAfter = "1";
            return ErrorResponses.Error(StatusCodes.Status429TooManyRequests, ErrorTypes.Overloaded,
                $"The server is handling {options.MaxConcurrentRequests} requests already; retry shortly.");
        }
        try
        {
            return await next(invocation);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; its pairs have been dropped from the queue and nobody reads this answer.
            return Results.StatusCode(ErrorResponses.ClientClosedRequest);
        }
        catch (Exception e)
        {
            return ErrorResponses.From(e, context, metrics, logger);
        }
        finally
        {
            if (gated) inFlight.Exit();
        }
    }

    private bool IsOpen(string route) =>
        (options.OpenHealth && route == "/health") || (options.OpenMetrics && route == "/metrics");
}

/// <summary>Scoring requests being handled now, across all routes of one server (filters are created per route).</summary>
internal sealed class InFlightRequests(RerankServerOptions options)
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _count) <= options.MaxConcurrentRequests) return true;
        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _count);
}
