using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// Typed access to the keys of one JSON object read from a model file. Every failure is an
/// <see cref="RerankErrorKind.InvalidModel"/> error of the form "FILE: problem; what to do.".
/// </summary>
/// <remarks>
/// A key whose value is JSON <c>null</c> counts as absent, because Hugging Face's
/// <c>to_json_string</c> writes unset optional attributes that way (e.g. <c>"classifier_dropout": null</c>).
/// </remarks>
internal readonly struct JsonObjectReader
{
    private readonly JsonElement _object;

    private JsonObjectReader(JsonElement obj, string path, string whatToDo)
    {
        _object = obj;
        Path = path;
        WhatToDo = whatToDo;
    }

    /// <summary>The file the object came from, as named in messages.</summary>
    public string Path { get; }

    /// <summary>The advice that ends every message.</summary>
    public string WhatToDo { get; }

    /// <summary>The document's root, which must be an object.</summary>
    public static JsonObjectReader Root(JsonDocument document, string path, string whatToDo)
    {
        var reader = new JsonObjectReader(document.RootElement, path, whatToDo);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw reader.Invalid($"the top level must be a JSON object, but is {JsonFile.Describe(document.RootElement)}");
        return reader;
    }

    /// <summary>
    /// An object that is an entry of a list (e.g. one module of modules.json), which must be an object;
    /// <paramref name="source"/> names it in messages, e.g. <c>…/modules.json: module 1</c>.
    /// </summary>
    public static JsonObjectReader Entry(JsonElement element, string source, string whatToDo)
    {
        var reader = new JsonObjectReader(element, source, whatToDo);
        if (element.ValueKind != JsonValueKind.Object)
            throw reader.Invalid($"must be a JSON object, but is {JsonFile.Describe(element)}");
        return reader;
    }

    /// <summary>An error about this file, ending with <see cref="WhatToDo"/>.</summary>
    public RerankException Invalid(string problem) =>
        new(RerankErrorKind.InvalidModel, $"{Path}: {problem}; {WhatToDo}.");

    public bool TryGet(string key, out JsonElement value) =>
        _object.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    public JsonElement Required(string key) =>
        TryGet(key, out JsonElement value) ? value : throw Invalid($"\"{key}\" is missing");

    public int RequiredInt(string key, int min) => Int(key, Required(key), min);

    public int? OptionalInt(string key, int min) =>
        TryGet(key, out JsonElement value) ? Int(key, value, min) : null;

    public string RequiredString(string key)
    {
        JsonElement value = Required(key);
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
            throw Invalid($"\"{key}\" must be a non-empty string, but is {JsonFile.Describe(value)}");
        return text;
    }

    public string? OptionalString(string key)
    {
        if (!TryGet(key, out JsonElement value))
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw Invalid($"\"{key}\" must be a string, but is {JsonFile.Describe(value)}");
        return value.GetString();
    }

    /// <summary>A finite number strictly greater than zero.</summary>
    public double? OptionalPositiveDouble(string key)
    {
        if (!TryGet(key, out JsonElement value))
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number)
            || !double.IsFinite(number) || number <= 0)
            throw Invalid($"\"{key}\" must be a positive number, but is {JsonFile.Describe(value)}");
        return number;
    }

    public bool? OptionalBool(string key)
    {
        if (!TryGet(key, out JsonElement value))
            return null;
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw Invalid($"\"{key}\" must be true or false, but is {JsonFile.Describe(value)}");
        return value.GetBoolean();
    }

    public JsonObjectReader? OptionalObject(string key)
    {
        if (!TryGet(key, out JsonElement value))
            return null;
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid($"\"{key}\" must be a JSON object, but is {JsonFile.Describe(value)}");
        return new JsonObjectReader(value, Path, WhatToDo);
    }

    public IEnumerable<JsonProperty> Properties() => _object.EnumerateObject();

    public int Count() => _object.EnumerateObject().Count();

    private int Int(string key, JsonElement value, int min)
    {
        // Python's json module writes ints without a fraction, so 1024.0 or "1024" means the
        // file was written by something else and is better flagged than guessed at.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int number) || number < min)
        {
            string wanted = min switch
            {
                0 => "a non-negative integer",
                1 => "a positive integer",
                _ => $"an integer of at least {min}",
            };
            throw Invalid($"\"{key}\" must be {wanted}, but is {JsonFile.Describe(value)}");
        }
        return number;
    }
}
