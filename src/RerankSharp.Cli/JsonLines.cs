using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RerankSharp.Cli;

/// <summary>JSON Lines input and output for <c>score</c> and <c>tokenize</c>: strict UTF-8, line numbers in every error.</summary>
internal static class JsonLines
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static Stream OpenInput(string path)
    {
        if (path == "-") return new BufferedStream(Console.OpenStandardInput(), 1 << 16);
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Input file {path} does not exist; pass a JSON Lines file or - for standard input.");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    public static TextWriter OpenOutput(string? path)
    {
        if (path is null or "-") return new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        return new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 16);
    }

    /// <summary>
    /// Yields (line number, text) for each non-blank line. Lines are decoded one by one, so invalid
    /// UTF-8 is reported with the number of the line that holds it.
    /// </summary>
    public static IEnumerable<(int Line, string Text)> ReadLines(Stream input, string source)
    {
        var buffer = new MemoryStream();
        var number = 0;
        while (true)
        {
            buffer.SetLength(0);
            int b;
            while ((b = input.ReadByte()) >= 0 && b != '\n') buffer.WriteByte((byte)b);
            if (b < 0 && buffer.Length == 0) yield break;
            number++;
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (bytes.Length > 0 && bytes[^1] == '\r') bytes = bytes[..^1];
            if (number == 1 && bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
            string line;
            try
            {
                line = StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"{source}: line {number} is not valid UTF-8; convert the file first (e.g. iconv -f LATIN1 -t UTF-8).");
            }
            if (!string.IsNullOrWhiteSpace(line)) yield return (number, line);
            if (b < 0) yield break;
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
