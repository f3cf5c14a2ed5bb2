using System.Text.Json.Serialization;
using RerankSharp.Scoring;

namespace RerankSharp.Server.Contracts;

/// <summary>Extension, when <c>return_windows</c> is true: the part of the document that decided its score.</summary>
public sealed record RerankWindow(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("token_start")] int TokenStart,
    [property: JsonPropertyName("token_end")] int TokenEnd,
    [property: JsonPropertyName("char_start")] int CharStart,
    [property: JsonPropertyName("char_end")] int CharEnd)
{
    internal static RerankWindow? Of(DocumentWindow? window) => window is null ? null
        : new RerankWindow(window.Index, window.Count, window.TokenStart, window.TokenEnd, window.CharStart, window.CharEnd);
}

/// <summary>The OpenAPI descriptions of the long-document extension fields, shared by every rerank route.</summary>
internal static class LongDocumentFields
{
    public const string Mode = "Extension: \"truncate\" (default: the server's --long-documents) cuts a pair over the max length; \"chunk\" scores overlapping windows of the document and combines them.";
    public const string Stride = "Extension, with chunk: document tokens each window shares with the previous one; default a quarter of the window.";
    public const string Aggregation = "Extension, with chunk: \"max\" (default), \"mean\" or \"first\".";
    public const string ReturnWindows = "Extension: add `window` to each result: which window decided the score, with token and character offsets into the document.";
    public const string Window = "Extension, with return_windows: the window that decided the score ({index, count, token_start, token_end, char_start, char_end}); character offsets are UTF-16 indices into the document.";
}
