using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RerankSharp.Remote;

/// <summary>
/// Turns a server's refusal into a <see cref="RerankException"/>: the error kind from the status, the message from
/// whichever error body the server sends — TEI's and ours <c>{error, error_type}</c>, OpenAI's
/// <c>{error: {message, type, code}}</c> (llama.cpp, vLLM, Infinity), Cohere's <c>{message}</c>, FastAPI's <c>{detail}</c>.
/// </summary>
internal static class RemoteError
{
    private const int MaxBodyInMessage = 300;

    public static RerankException From(HttpStatusCode status, string body, RerankApi api, Uri requestUri)
    {
        var detail = MessageOf(body);
        var code = (int)status;
        var what = $"{api} server at {requestUri} answered {code} {status}{(detail.Length > 0 ? $": {detail}" : "")}";
        return code switch
        {
            401 or 403 => new RerankException(RerankErrorKind.Unauthorized, $"The {what}. Set RemoteRerankerOptions.ApiKey (\"Reranker:ApiKey\", RERANK_API_KEY) to a key the server accepts."),
            404 => new RerankException(RerankErrorKind.InvalidInput, $"The {what}. Check RemoteRerankerOptions.Endpoint, Api and Model."),
            413 or 422 when LooksLikeBatchLimit(detail) => new RerankException(RerankErrorKind.InvalidInput,
                $"The {what}. Lower RemoteRerankerOptions.MaxDocumentsPerRequest (\"Reranker:MaxDocumentsPerRequest\") to the server's limit."),
            429 or 503 => new RerankException(RerankErrorKind.Overloaded, $"The {what}, and still did after the retries. Retry later, or add replicas."),
            >= 400 and < 500 => new RerankException(RerankErrorKind.InvalidInput, $"The {what}. Change the request as the server says."),
            _ => new RerankException(RerankErrorKind.Backend, $"The {what}."),
        };
    }

    private static bool LooksLikeBatchLimit(string detail) =>
        detail.Contains("batch size", StringComparison.OrdinalIgnoreCase) || detail.Contains("documents", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("texts", StringComparison.OrdinalIgnoreCase) || detail.Contains("too large", StringComparison.OrdinalIgnoreCase);

    /// <summary>The human part of an error body, with its type when the server gives one; the raw text (shortened) otherwise.</summary>
    internal static string MessageOf(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return "";
        try
        {
            var root = JsonNode.Parse(body);
            var message = root switch
            {
                JsonValue value when value.TryGetValue<string>(out var text) => text,
                JsonObject obj => FromObject(obj),
                _ => null,
            };
            if (message is not null) return Shorten(message);
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, plain text): shown as it is.
        }
        return Shorten(body.Trim());
    }

    private static string? FromObject(JsonObject obj)
    {
        switch (obj["error"])
        {
            case JsonValue value when value.TryGetValue<string>(out var text):
                return WithType(text, obj["error_type"]);
            case JsonObject inner when inner["message"] is JsonValue message && message.TryGetValue<string>(out var innerText):
                return WithType(innerText, inner["type"]);
        }
        if (obj["message"] is JsonValue m && m.TryGetValue<string>(out var plain)) return plain;
        return obj["detail"] switch
        {
            JsonValue d when d.TryGetValue<string>(out var text) => text,
            // FastAPI validation: [{"loc": [...], "msg": "...", "type": "..."}]
            JsonArray list => string.Join("; ", list.Select(e => e?["msg"]?.GetValue<string>() is { } msg
                ? e["loc"] is JsonArray loc ? $"{string.Join('.', loc.Select(l => l?.ToString()))}: {msg}" : msg
                : e?.ToJsonString())),
            _ => null,
        };
    }

    private static string WithType(string message, JsonNode? type) =>
        type is JsonValue value && value.TryGetValue<string>(out var kind) ? $"{message} ({kind})" : message;

    private static string Shorten(string text) => text.Length <= MaxBodyInMessage ? text : text[..MaxBodyInMessage] + "…";
}
