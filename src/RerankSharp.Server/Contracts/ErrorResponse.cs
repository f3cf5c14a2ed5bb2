using System.Text.Json.Serialization;

namespace RerankSharp.Server.Contracts;

/// <summary>Every error body, TEI's shape: a message that says what was wrong, and a kind to switch on.</summary>
public sealed record ErrorResponse(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_type")] string ErrorType);
