using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RerankSharp.Cli;

/// <summary>JSON Lines input and output for <c>score</c> and <c>tokenize</c>: strict UTF-8, line numbers in every error.</summary>
internal static class JsonLines
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static TextReader OpenInput(string path)
    {
        if (path == "-") return new StreamReader(Console.OpenStandardInput(), StrictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Input file {path} does not exist; pass a JSON Lines file or - for standard input.");
        return new StreamReader(path, StrictUtf8, detectEncodingFromByteOrderMarks: false, new FileStreamOptions { BufferSize = 1 << 16 });
    }

    public static TextWriter OpenOutput(string? path)
    {
        if (path is null or "-") return new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        return new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 16);
    }

    /// <summary>Yields (line number, text) for each non-blank line; invalid UTF-8 stops with the line number.</summary>
    public static IEnumerable<(int Line, string Text)> ReadLines(TextReader reader, string source)
    {
        var number = 0;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException)
            {
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"{source}: line {number + 1} is not valid UTF-8; convert the file first (e.g. iconv -f LATIN1 -t UTF-8).");
            }
            if (line is null) yield break;
            number++;
            if (number == 1 && line.StartsWith('\uFEFF')) line = line[1..];
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return (number, line);
        }
    }

    public static JsonObject ParseObject(string text, int line, string source)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} is not valid JSON ({e.Message}).");
        }
        return node as JsonObject
            ?? throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} must be a JSON object.");
    }

    public static string RequiredString(JsonObject obj, string key, int line, string source) =>
        obj[key] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} needs a string \"{key}\".");

    public static string Serialize(JsonObject obj) => obj.ToJsonString(Options);

    // Scores must round-trip exactly; non-ASCII text stays readable.
    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
