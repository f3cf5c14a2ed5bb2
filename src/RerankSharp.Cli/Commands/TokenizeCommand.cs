using System.CommandLine;
using System.Text.Json.Nodes;
using RerankSharp.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank tokenize</c>: the ids the model would see, from JSON Lines of <c>{"text"}</c> or
/// <c>{"query", "document"}</c>, with optional <c>max_length</c> and <c>truncation</c>. Loads only the tokenizer.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create() =>
        JsonLines.Command("tokenize", "Tokenize JSON Lines: {\"text\"} or {\"query\", \"document\"} → {\"input_ids\": [...]}.", RunAsync);

    private static async Task<int> RunAsync(ParseResult result, Stream input, string source, TextWriter writer, CancellationToken ct)
    {
        var folder = ModelFolder.Open(await CommonOptions.ResolveModelAsync(result, ct));
        var tokenizer = PairTokenizer.Load(folder);
        var defaultMaxLength = result.GetValue(CommonOptions.MaxLength) ?? folder.DefaultMaxLength;
        var errors = new LineErrors("tokenized");
        var lines = 0;
        foreach (var (line, text) in JsonLines.ReadLines(input, source))
        {
            ct.ThrowIfCancellationRequested();
            lines++;
            JsonObject obj;
            try
            {
                var array = new JsonArray();
                foreach (var id in Encode(tokenizer, JsonLines.ParseObject(text, line, source), defaultMaxLength, line, source)) array.Add(id);
                obj = new JsonObject { ["input_ids"] = array };
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
            {
                obj = errors.Record(line, e);
            }
            await writer.WriteLineAsync(JsonLines.Serialize(obj));
        }
        return errors.Finish(lines);
    }

    private static int[] Encode(PairTokenizer tokenizer, JsonObject obj, int defaultMaxLength, int line, string source)
    {
        var maxLength = defaultMaxLength;
        if (obj["max_length"] is JsonNode node)
            maxLength = node is JsonValue v && v.TryGetValue<int>(out var m) && m > 0
                ? m
                : throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line}: \"max_length\" must be a positive whole number.");
        var strategy = TruncationStrategy.LongestFirst;
        if (obj["truncation"] is JsonNode t)
            strategy = (t as JsonValue)?.GetValueKind() == System.Text.Json.JsonValueKind.String ? t.GetValue<string>() switch
            {
                "longest_first" => TruncationStrategy.LongestFirst,
                "only_second" => TruncationStrategy.OnlySecond,
                _ => throw BadTruncation(line, source),
            } : throw BadTruncation(line, source);

        if (obj.ContainsKey("text"))
            return tokenizer.EncodeSingle(JsonLines.RequiredString(obj, "text", line, source), maxLength);
        if (obj.ContainsKey("query") || obj.ContainsKey("document"))
            return tokenizer.EncodePair(JsonLines.RequiredString(obj, "query", line, source),
                JsonLines.RequiredString(obj, "document", line, source), maxLength, strategy,
                obj.ContainsKey("instruction") ? JsonLines.RequiredString(obj, "instruction", line, source) : null);
        throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} needs \"text\", or \"query\" and \"document\".");
    }

    private static RerankException BadTruncation(int line, string source) =>
        new(RerankErrorKind.InvalidInput, $"{source}: line {line}: \"truncation\" must be \"longest_first\" or \"only_second\".");
}
