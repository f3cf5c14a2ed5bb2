using System.Text.Json.Serialization;
using RerankSharp.Server.Models;

namespace RerankSharp.Server.Contracts;

/// <summary><c>GET /v1/models</c>: OpenAI's list shape, as vLLM and Infinity answer it.</summary>
public sealed record ModelList([property: JsonPropertyName("data")] IReadOnlyList<ModelCard> Data)
{
    [JsonPropertyName("object")]
    public string Object => "list";
}

/// <summary>
/// One served model: OpenAI's fields (<c>id</c>, <c>object</c>, <c>created</c>, <c>owned_by</c>), vLLM's
/// <c>root</c> and <c>max_model_len</c>, Infinity's <c>capabilities</c>, and where it stands on this server.
/// </summary>
public sealed record ModelCard(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("root"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Root,
    [property: JsonPropertyName("max_model_len"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MaxModelLen,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    [property: JsonPropertyName("default")] bool Default)
{
    private static readonly long Started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [JsonPropertyName("object")]
    public string Object => "model";

    [JsonPropertyName("owned_by")]
    public string OwnedBy => "rerank_sharp";

    [JsonPropertyName("capabilities")]
    public IReadOnlyList<string> Capabilities => ["rerank"];

    internal static ModelCard Of(ServedModel model, bool isDefault) => new(model.Name, Started, model.Aliases.FirstOrDefault(),
        model.Limits?.MaxLength, model.Aliases, model.State.ToString().ToLowerInvariant(), model.Error, isDefault);
}
