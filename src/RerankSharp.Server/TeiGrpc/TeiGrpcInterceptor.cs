using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>
/// What <see cref="RerankEndpointFilter"/> does for HTTP, for every <c>tei.v1</c> call: checks the API key, refuses
/// work beyond <see cref="RerankServerOptions.MaxConcurrentRequests"/> (one count shared with HTTP), turns failures into
/// the gRPC status of their <c>error_type</c>, and counts the call in the metrics. gRPC health and reflection pass
/// through untouched and unauthenticated, as on TEI.
/// </summary>
internal sealed class TeiGrpcInterceptor(RerankServerOptions options, ApiKeyCheck keys, InFlightRequests inFlight, RerankMetrics metrics,
    ILogger<TeiGrpcInterceptor> logger) : Interceptor
{
    private const string TeiPrefix = "/tei.v1.";
    private const string InfoMethod = "/tei.v1.Info/Info";

    /// <summary>gRPC's standard server pushback: a client with a retry policy waits this long before retrying.</summary>
    private const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        context.Method.StartsWith(TeiPrefix, StringComparison.Ordinal) ? GuardAsync(context, () => continuation(request, context)) : continuation(request, context);

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        context.Method.StartsWith(TeiPrefix, StringComparison.Ordinal) ? GuardAsync(context, () => continuation(requestStream, context)) : continuation(requestStream, context);

    private async Task<TResponse> GuardAsync<TResponse>(ServerCallContext context, Func<Task<TResponse>> call)
    {
        var started = Stopwatch.GetTimestamp();
        // x-total-time in the timing metadata counts from here, as it counts from the filter on HTTP.
        context.GetHttpContext().Items[RerankEndpointFilter.StartedKey] = started;
        var code = StatusCode.OK;
        try
        {
            if (!keys.Accepts(context.RequestHeaders.GetValue("authorization")))
                throw GrpcErrors.Refusal(ErrorTypes.Unauthorized, context.RequestHeaders.GetValue("authorization") is null
                    ? "This server needs an API key; send the metadata 'authorization: Bearer <key>'."
                    : "The API key is not valid; send 'authorization: Bearer <key>' with a key the server was started with.");
            // Reads are never gated, as GET /info is not.
            var gated = context.Method != InfoMethod;
            if (gated && !inFlight.TryEnter())
                throw GrpcErrors.Refusal(ErrorTypes.Overloaded, $"The server is handling {options.MaxConcurrentRequests} requests already; retry shortly.", Pushback(1));
            try
            {
                return await call();
            }
            finally
            {
                if (gated) inFlight.Exit();
            }
        }
        catch (RpcException e)
        {
            code = e.StatusCode;
            throw;
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client left or its deadline passed; its pairs have been dropped from the queue.
            code = context.Deadline <= DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled;
            throw new RpcException(new Status(code, "The call was cancelled or ran past its deadline before its answer was ready."));
        }
        catch (Exception e)
        {
            var (_, type, message) = ErrorResponses.Describe(e);
            code = GrpcErrors.For(type);
            if (code is StatusCode.Internal or StatusCode.FailedPrecondition or StatusCode.Unavailable)
                logger.LogError(e, "gRPC call {Method} failed with {Code}.", context.Method, code);
            throw GrpcErrors.Refusal(type, message, code == StatusCode.ResourceExhausted ? Pushback(metrics.SecondsUntilQueueDrains()) : null);
        }
        finally
        {
            metrics.RecordGrpcCall(context.Method, code.ToString(), Stopwatch.GetElapsedTime(started));
        }
    }

    private static Metadata Pushback(int seconds) =>
        new() { { RetryPushbackTrailer, (seconds * 1000L).ToString(CultureInfo.InvariantCulture) } };
}
