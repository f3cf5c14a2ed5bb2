using Microsoft.AspNetCore.Http;

namespace RerankSharp.Server;

/// <summary>
/// A refusal that exists only at the HTTP edge (body too large, wrong content type, no key, busy); the library's
/// own failures stay <see cref="RerankException"/>s. Both become a response in <see cref="ErrorResponses"/>.
/// </summary>
internal sealed class HttpError(int status, string errorType, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string ErrorType { get; } = errorType;

    public static HttpError TooLarge(string message) => new(StatusCodes.Status413PayloadTooLarge, ErrorTypes.TooLarge, message);

    public static HttpError Invalid(string message) => new(StatusCodes.Status400BadRequest, ErrorTypes.Validation, message);
}

/// <summary>The <c>error_type</c> values a client can switch on.</summary>
internal static class ErrorTypes
{
    public const string Validation = "validation";
    public const string TooLarge = "too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string Unauthorized = "unauthorized";
    public const string Overloaded = "overloaded";
    public const string Unhealthy = "unhealthy";
    public const string Backend = "backend";
    public const string Internal = "internal";
    public const string NotFound = "not_found";
    public const string ModelNotFound = "model_not_found";
}
