using System.Text.Json;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

/// <summary>The stand-in XLM-R tokenizer files (tests/fixtures/tokenizer, made by tools/tokenizer) and their golden cases.</summary>
internal static class TokenizerFixtures
{
    public static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer");
    public static readonly string ModelPath = Path.Combine(Folder, "sentencepiece.bpe.model");
    public static readonly string JsonPath = Path.Combine(Folder, "tokenizer.json");
    public static readonly string GoldenPath = Path.Combine(Folder, "golden.jsonl");

    private static readonly Lazy<XlmRobertaTokenizer> FromModelLazy = new(() => XlmRobertaTokenizer.FromSentencePieceModel(ModelPath));
    private static readonly Lazy<XlmRobertaTokenizer> FromJsonLazy = new(() => XlmRobertaTokenizer.FromTokenizerJson(JsonPath));
    private static readonly Lazy<(JsonElement Header, GoldenCase[] Cases)> GoldenLazy = new(() => ReadGolden(GoldenPath));

    public static XlmRobertaTokenizer FromModel => FromModelLazy.Value;

    public static XlmRobertaTokenizer FromJson => FromJsonLazy.Value;

    public static JsonElement GoldenHeader => GoldenLazy.Value.Header;

    public static GoldenCase[] Golden => GoldenLazy.Value.Cases;

    /// <summary>A golden.jsonl of tools/tokenizer/golden.js or tools/wordpiece/golden.js: header line, then one case a line.</summary>
    public static (JsonElement Header, GoldenCase[] Cases) ReadGolden(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = JsonDocument.Parse(lines[0]).RootElement.Clone();
        var cases = new GoldenCase[lines.Length - 1];
        for (int i = 1; i < lines.Length; i++)
        {
            var e = JsonDocument.Parse(lines[i]).RootElement;
            string? Str(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            int[]? ids = e.GetProperty("ids").ValueKind == JsonValueKind.Null ? null : e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            cases[i - 1] = new GoldenCase(
                Line: i + 1,
                Category: Str("category") ?? "",
                Kind: Str("kind")!,
                Text: Str("text"),
                Query: Str("query"),
                Document: Str("document"),
                MaxLength: e.TryGetProperty("max_length", out var m) ? m.GetInt32() : null,
                Truncation: Str("truncation"),
                Ids: ids,
                Error: Str("error"))
            {
                TypeIds = e.TryGetProperty("type_ids", out var t) ? t.EnumerateArray().Select(x => x.GetInt32()).ToArray() : null,
            };
        }

        return (header, cases);
    }
}

internal sealed record GoldenCase(
    int Line, string Category, string Kind, string? Text, string? Query, string? Document,
    int? MaxLength, string? Truncation, int[]? Ids, string? Error)
{
    /// <summary>The reference's token_type_ids of a pair, where the golden file has them (BERT).</summary>
    public int[]? TypeIds { get; init; }

    public TruncationStrategy Strategy => Truncation switch
    {
        null or "longest_first" => TruncationStrategy.LongestFirst,
        "only_second" => TruncationStrategy.OnlySecond,
        _ => throw new InvalidOperationException($"golden line {Line}: unknown truncation '{Truncation}'"),
    };

    /// <summary>Runs the case through <paramref name="tokenizer"/> as the golden generator ran it through HF.</summary>
    public int[] Encode(PairTokenizer tokenizer)
    {
        if (Kind == "single")
        {
            return MaxLength is int single
                ? tokenizer.EncodeSingle(Text!, single)
                : [tokenizer.BosId, .. tokenizer.EncodeText(Text!), tokenizer.EosId];
        }

        return tokenizer.EncodePair(Query!, Document!, MaxLength ?? int.MaxValue, Strategy);
    }

    /// <summary>JSON that shows non-ASCII text as itself, for readable mismatch reports.</summary>
    public static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A golden line that did not match, with the first 30 expected and actual ids and their pieces.</summary>
    public static void AppendMismatch(System.Text.StringBuilder report, string line, int[] expected, int[] actual, Func<int[], string[]> pieces) =>
        report.AppendLine(line.Length > 300 ? line[..300] : line)
            .AppendLine($"  expected {string.Join(",", expected.Take(30))} {JsonSerializer.Serialize(pieces(expected.Take(30).ToArray()), Readable)}")
            .AppendLine($"  actual   {string.Join(",", actual.Take(30))} {JsonSerializer.Serialize(pieces(actual.Take(30).ToArray()), Readable)}");

    public string Describe() => Kind == "single"
        ? $"line {Line} [{Category}] text={JsonSerializer.Serialize(Text, Readable)}{Limits()}"
        : $"line {Line} [{Category}] query={JsonSerializer.Serialize(Query, Readable)} document={JsonSerializer.Serialize(Shorten(Document!), Readable)}{Limits()}";

    private string Limits() => MaxLength is null ? "" : $" max_length={MaxLength} {Truncation ?? "longest_first"}";

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + $"…({s.Length} chars)";
}
