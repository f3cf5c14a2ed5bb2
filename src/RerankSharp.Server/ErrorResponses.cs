using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RerankSharp.Server.Contracts;

namespace RerankSharp.Server;

/// <summary>The one place that turns a failure into an HTTP status and an <see cref="ErrorResponse"/> (DESIGN.md §5).</summary>
internal static class ErrorResponses
{
    /// <summary>Status of a request whose client went away before the answer (nginx's 499); only metrics see it.</summary>
    public const int ClientClosedRequest = 499;

    public static (int Status, string ErrorType) For(RerankErrorKind kind) => kind switch
    {
        RerankErrorKind.InvalidInput => (StatusCodes.Status400BadRequest, ErrorTypes.Validation),
        RerankErrorKind.Overloaded => (StatusCodes.Status429TooManyRequests, ErrorTypes.Overloaded),
        RerankErrorKind.Backend => (StatusCodes.Status500InternalServerError, ErrorTypes.Backend),
        // The model is loaded before the server listens, so these can only mean a broken deployment.
        RerankErrorKind.ModelNotFound or RerankErrorKind.InvalidModel or RerankErrorKind.UnsupportedModel
            => (StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy),
        _ => (StatusCodes.Status500InternalServerError, ErrorTypes.Internal),
    };

    public static IResult From(Exception exception, HttpContext context, RerankMetrics metrics, ILogger logger)
    {
        var (status, type, message) = Describe(exception);
        if (status >= 500) logger.LogError(exception, "Request {Path} failed with {Status}.", context.Request.Path, status);
        if (status == StatusCodes.Status429TooManyRequests)
            context.Response.Headers.RetryAfter = metrics.SecondsUntilQueueDrains().ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (status == StatusCodes.Status401Unauthorized)
            context.Response.Headers.WWWAuthenticate = "Bearer";
        return Error(status, type, message);
    }

    /// <summary>The status, <c>error_type</c> and message of a failure; the gRPC edge maps the same error types to its codes.</summary>
    public static (int Status, string ErrorType, string Message) Describe(Exception exception) =>
        exception switch
        {
            HttpError e => (e.Status, e.ErrorType, e.Message),
            RerankException e => (For(e.Kind).Status, For(e.Kind).ErrorType, e.Message),
            // Kestrel's own refusals while the body is read: over MaxRequestBodySize (413), a broken chunked
            // encoding or a body that stopped arriving (400).
            BadHttpRequestException e => (e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? ErrorTypes.TooLarge : ErrorTypes.Validation,
                e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is larger than the server's limit; send fewer or shorter documents." : $"Bad request: {e.Message}"),
            ObjectDisposedException => (StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy, "The server is shutting down; retry on another instance."),
            _ => (StatusCodes.Status500InternalServerError, ErrorTypes.Internal, $"Unexpected {exception.GetType().Name}: {exception.Message} (this is a bug; please report it)."),
        };

    public static IResult Error(int status, string errorType, string message) =>
        TypedResults.Json(new ErrorResponse(message, errorType), RerankJson.Options, statusCode: status);
}
