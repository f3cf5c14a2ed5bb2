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
    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "JSON Lines file, or - for standard input.", DefaultValueFactory = _ => "-" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write JSON Lines (default: standard output)." };
        var command = new Command("tokenize", "Tokenize JSON Lines: {\"text\"} or {\"query\", \"document\"} → {\"input_ids\": [...]}.")
        {
            input,
            output,
        };
        command.SetAction((result, ct) => Cli.Run(result, () => RunAsync(result, result.GetValue(input)!, result.GetValue(output), ct)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, string inputPath, string? outputPath, CancellationToken ct)
    {
        var source = inputPath == "-" ? "standard input" : inputPath;
        using var reader = JsonLines.OpenInput(inputPath);
        var folder = ModelFolder.Open(HubCache.ResolveModelDirectory(result.GetValue(CommonOptions.Model)!));
        var tokenizer = XlmRobertaTokenizer.FromFiles(folder.SentencePieceModelPath, folder.TokenizerJsonPath);
        var defaultMaxLength = result.GetValue(CommonOptions.MaxLength) ?? folder.DefaultMaxLength;
        await using var writer = JsonLines.OpenOutput(outputPath);
        int lines = 0, failed = 0;
        string? firstError = null;
        foreach (var (line, text) in JsonLines.ReadLines(reader, source))
        {
            ct.ThrowIfCancellationRequested();
            lines++;
            var obj = new JsonObject();
            try
            {
                var ids = Encode(tokenizer, JsonLines.ParseObject(text, line, source), defaultMaxLength, line, source);
                var array = new JsonArray();
                foreach (var id in ids) array.Add(id);
                obj["input_ids"] = array;
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
            {
                failed++;
                firstError ??= $"line {line}: {e.Message}";
                obj["error"] = e.Message;
            }
            await writer.WriteLineAsync(JsonLines.Serialize(obj));
        }
        await writer.FlushAsync(ct);
        if (failed > 0)
        {
            Console.Error.WriteLine($"error: {failed} of {lines} lines could not be tokenized and got an \"error\" line instead (first: {firstError})");
            return 4;
        }
        return 0;
    }

    private static int[] Encode(XlmRobertaTokenizer tokenizer, JsonObject obj, int defaultMaxLength, int line, string source)
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
                JsonLines.RequiredString(obj, "document", line, source), maxLength, strategy);
        throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} needs \"text\", or \"query\" and \"document\".");
    }

    private static RerankException BadTruncation(int line, string source) =>
        new(RerankErrorKind.InvalidInput, $"{source}: line {line}: \"truncation\" must be \"longest_first\" or \"only_second\".");
}
