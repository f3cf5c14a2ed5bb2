using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// The keys of a Hugging Face <c>tokenizer_config.json</c> that matter for an XLM-R cross-encoder.
/// Property names are the JSON keys in PascalCase.
/// </summary>
public sealed record TokenizerConfig
{
    private const string FixIt = "fix tokenizer_config.json or re-download the model from the Hugging Face hub";

    /// <summary>
    /// The largest limit taken at face value. Anything above is transformers' "no limit" sentinel,
    /// <c>VERY_LARGE_INTEGER = int(1e30)</c>, written when a tokenizer was saved without a known
    /// maximum; no real model takes inputs of two billion tokens.
    /// </summary>
    private const double LargestLimit = int.MaxValue;

    /// <summary>
    /// <c>model_max_length</c>: the longest input the tokenizer truncates to by default, or null when
    /// the file has none or has the "no limit" sentinel (1e30).
    /// </summary>
    public int? ModelMaxLength { get; init; }

    /// <summary><c>tokenizer_class</c>, e.g. <c>XLMRobertaTokenizer</c>.</summary>
    public string? TokenizerClass { get; init; }

    /// <summary>Special tokens as written; each may be a string or an AddedToken object in the file.</summary>
    public string? BosToken { get; init; }

    public string? EosToken { get; init; }

    public string? UnkToken { get; init; }

    public string? SepToken { get; init; }

    public string? PadToken { get; init; }

    public string? ClsToken { get; init; }

    public string? MaskToken { get; init; }

    /// <summary>Reads and checks a tokenizer_config.json.</summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.ModelNotFound"/> if the file is missing;
    /// <see cref="RerankErrorKind.InvalidModel"/> if it is not JSON or a key has the wrong type.
    /// </exception>
    public static TokenizerConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.GetFullPath(path);
        if (!LinkedFile.Exists(path))
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Tokenizer config not found: {path} does not exist. {ModelFolder.WhatToPass}");

        using JsonDocument document = JsonFile.Read(path, FixIt);
        JsonObjectReader json = JsonObjectReader.Root(document, path, FixIt);
        return new TokenizerConfig
        {
            ModelMaxLength = ReadModelMaxLength(json),
            TokenizerClass = json.OptionalString("tokenizer_class"),
            BosToken = ReadToken(json, "bos_token"),
            EosToken = ReadToken(json, "eos_token"),
            UnkToken = ReadToken(json, "unk_token"),
            SepToken = ReadToken(json, "sep_token"),
            PadToken = ReadToken(json, "pad_token"),
            ClsToken = ReadToken(json, "cls_token"),
            MaskToken = ReadToken(json, "mask_token"),
        };
    }

    private static int? ReadModelMaxLength(JsonObjectReader json)
    {
        if (!json.TryGet("model_max_length", out JsonElement value))
            return null;
        // Python writes int(1e30) as the 31-digit integer 1000000000000000019884624838656, which no
        // .NET integer holds; reading it as a double keeps it comparable. Some files hold 1e+30.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number)
            || number < 1 || Math.Floor(number) != number)
            throw json.Invalid($"\"model_max_length\" must be a positive integer, but is {JsonFile.Describe(value)}");
        return number > LargestLimit ? null : (int)number;
    }

    /// <summary>A token is a plain string, or an AddedToken dict <c>{"content": "&lt;s&gt;", "lstrip": …}</c>.</summary>
    private static string? ReadToken(JsonObjectReader json, string key)
    {
        if (!json.TryGet(key, out JsonElement value))
            return null;
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString();
        if (value.ValueKind == JsonValueKind.Object
            && value.TryGetProperty("content", out JsonElement content)
            && content.ValueKind == JsonValueKind.String)
            return content.GetString();
        throw json.Invalid($"\"{key}\" must be a string or an object with \"content\", but is {JsonFile.Describe(value)}");
    }
}
