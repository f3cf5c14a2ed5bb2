using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RerankSharp.Server;

/// <summary>How responses are written.</summary>
internal static class RerankJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        // Absent, never null: strict clients (LiteLLM) break on "document": null.
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Documents come back as they were sent, not as \uXXXX escapes; this is JSON, never HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
