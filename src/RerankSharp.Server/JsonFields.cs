using System.Globalization;
using System.Text.Json;

namespace RerankSharp.Server;

/// <summary>
/// Typed reads of a request object's fields, each failing with a message that names the field, what it must be and
/// what came instead ("`top_n` must be a whole number of at least 1; got 0"). Unknown fields are ignored, as clients
/// send provider-specific extras.
/// </summary>
internal readonly struct JsonFields(JsonElement body)
{
    /// <summary>Whether the field is present with a non-null value.</summary>
    public bool Has(string name) => body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public string RequiredString(string name)
    {
        if (!body.TryGetProperty(name, out var value)) throw HttpError.Invalid($"`{name}` is missing; send it as a string.");
        if (value.ValueKind != JsonValueKind.String) throw HttpError.Invalid($"`{name}` must be a string; got {Describe(value.ValueKind)}.");
        return ReadString(value, name);
    }

    public string? OptionalString(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw HttpError.Invalid($"`{name}` must be a string; got {Describe(value.ValueKind)}.");
        return ReadString(value, name);
    }

    public bool? OptionalBool(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw HttpError.Invalid($"`{name}` must be true or false; got {Describe(value.ValueKind)}."),
        };
    }

    public int? OptionalPositiveInt(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
            throw HttpError.Invalid($"`{name}` must be a whole number of at least 1; got {Show(value)}.");
        if (number < 1) throw HttpError.Invalid($"`{name}` must be a whole number of at least 1; got {number}.");
        return (int)Math.Min(number, int.MaxValue);
    }

    /// <summary>Any whole number; its range is for the caller (top_n's is <see cref="RerankSharp.Scoring.RankingInput"/>'s).</summary>
    public int? OptionalInt(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
            throw HttpError.Invalid($"`{name}` must be a whole number; got {Show(value)}.");
        return (int)Math.Clamp(number, int.MinValue, int.MaxValue);
    }

    public int? OptionalNonNegativeInt(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < 0)
            throw HttpError.Invalid($"`{name}` must be a whole number of at least 0; got {Show(value)}.");
        return (int)Math.Min(number, int.MaxValue);
    }

    /// <summary>One of <typeparamref name="T"/>'s values by name in any case, e.g. <c>"chunk"</c>.</summary>
    public T? OptionalEnum<T>(string name) where T : struct, Enum
    {
        var text = OptionalString(name);
        if (text is null) return null;
        return Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !char.IsAsciiDigit(text[0])
            ? value
            : throw HttpError.Invalid($"`{name}` must be one of {string.Join(", ", Enum.GetNames<T>().Select(n => $"\"{n.ToLowerInvariant()}\""))}; got \"{text}\".");
    }

    public float? OptionalNumber(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            throw HttpError.Invalid($"`{name}` must be a number; got {Show(value)}.");
        return (float)number;
    }

    public IReadOnlyList<string>? OptionalStringList(string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Array) throw HttpError.Invalid($"`{name}` must be a list of strings; got {Describe(value.ValueKind)}.");
        var list = new List<string>(value.GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw HttpError.Invalid($"`{name}[{i}]` must be a string; got {Describe(item.ValueKind)}.");
            list.Add(ReadString(item, $"{name}[{i}]"));
            i++;
        }
        return list;
    }

    /// <summary>
    /// A list of documents (an empty one ranks to no results, as <see cref="RerankSharp.Scoring.RankingInput"/> decides), each a string or (when <paramref name="allowObjects"/>) an object whose text is its
    /// <c>text</c> field, or its <paramref name="rankFields"/> as <c>field: value</c> lines (Cohere v1's rank_fields).
    /// </summary>
    public IReadOnlyList<string> Documents(string name, int maxDocuments, bool allowObjects, IReadOnlyList<string>? rankFields = null)
    {
        if (!body.TryGetProperty(name, out var value)) throw HttpError.Invalid($"`{name}` is missing; send the documents to rank as a list of strings.");
        if (value.ValueKind != JsonValueKind.Array) throw HttpError.Invalid($"`{name}` must be a list of strings; got {Describe(value.ValueKind)}.");
        var count = value.GetArrayLength();
        if (count > maxDocuments)
            throw HttpError.TooLarge($"{count} documents in one request is over the limit of {maxDocuments}; send them in several requests or raise --max-documents.");
        var documents = new string[count];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            var path = $"{name}[{i}]";
            documents[i++] = item.ValueKind switch
            {
                JsonValueKind.String => ReadString(item, path),
                JsonValueKind.Object when allowObjects => ObjectText(item, path, rankFields),
                _ => throw HttpError.Invalid(allowObjects
                    ? $"`{path}` must be a string or an object with a string `text`; got {Describe(item.ValueKind)}."
                    : $"`{path}` must be a string; got {Describe(item.ValueKind)}."),
            };
        }
        return documents;
    }

    private static string ObjectText(JsonElement item, string path, IReadOnlyList<string>? rankFields)
    {
        if (rankFields is null or { Count: 0 })
        {
            if (!item.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                throw HttpError.Invalid($"`{path}` is an object without a string `text`; send {{\"text\": \"...\"}} or name the fields to rank in `rank_fields`.");
            return ReadString(text, $"{path}.text");
        }
        // Cohere ranks structured documents as "field: value" lines of the chosen fields.
        var lines = new List<string>(rankFields.Count);
        foreach (var field in rankFields)
        {
            if (!item.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) continue;
            lines.Add(value.ValueKind == JsonValueKind.String ? $"{field}: {ReadString(value, $"{path}.{field}")}" : $"{field}: {value.GetRawText()}");
        }
        if (lines.Count == 0) throw HttpError.Invalid($"`{path}` has none of the rank_fields [{string.Join(", ", rankFields)}].");
        return string.Join('\n', lines);
    }

    private static string ReadString(JsonElement value, string path)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json validates UTF-8 only when a string is transcoded.
            throw HttpError.Invalid($"`{path}` is not valid UTF-8; send the body encoded as UTF-8.");
        }
    }

    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => "nothing",
    };

    private static string Show(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetRawText().Length <= 32 ? value.GetRawText() : "a very long number" : Describe(value.ValueKind);
}
