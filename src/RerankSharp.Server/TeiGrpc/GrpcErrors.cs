using Grpc.Core;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>
/// The gRPC status of each <c>error_type</c>: the same failure gets the same class of answer on both edges, and the
/// codes are TEI's (router/src/grpc/server.rs, <c>impl From&lt;ErrorResponse&gt; for Status</c>).
/// </summary>
internal static class GrpcErrors
{
    public static StatusCode For(string errorType) => errorType switch
    {
        // TEI answers an over-long client batch with a validation error, not a resource one.
        ErrorTypes.Validation or ErrorTypes.TooLarge or ErrorTypes.UnsupportedMediaType => StatusCode.InvalidArgument,
        ErrorTypes.Overloaded => StatusCode.ResourceExhausted,
        ErrorTypes.Unauthorized => StatusCode.Unauthenticated,
        ErrorTypes.Unhealthy => StatusCode.Unavailable,
        ErrorTypes.Backend => StatusCode.FailedPrecondition,
        ErrorTypes.NotFound => StatusCode.NotFound,
        _ => StatusCode.Internal,
    };

    /// <summary>A refusal raised at the gRPC edge itself, with the message an HTTP client would get for the same request.</summary>
    public static RpcException Refusal(string errorType, string message, Metadata? trailers = null) =>
        new(new Status(For(errorType), message), trailers ?? Metadata.Empty);
}
