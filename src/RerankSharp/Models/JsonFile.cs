using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RerankSharp.Models;

/// <summary>
/// Parses the small JSON files of a model folder (config.json, tokenizer_config.json, the shard
/// index, a safetensors header) so that every failure names the file and says where it broke.
/// </summary>
internal static class JsonFile
{
    /// <summary>
    /// Reads and parses <paramref name="path"/>. A missing file is <see cref="RerankErrorKind.ModelNotFound"/>;
    /// unreadable or malformed content is <see cref="RerankErrorKind.InvalidModel"/>.
    /// </summary>
    /// <param name="path">The file, named in every message.</param>
    /// <param name="whatToDo">The closing advice of every message, e.g. "re-download config.json from the hub".</param>
    public static JsonDocument Read(string path, string whatToDo)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"{path} not found; {whatToDo}.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"Cannot read {path}: {e.Message} Check that the file is readable.", e);
        }

        // Editors on Windows may save a byte-order mark; Python's json module never writes one,
        // but it is harmless, and Utf8JsonReader does not skip it by itself.
        ReadOnlyMemory<byte> json = bytes;
        if (json.Span.StartsWith(Encoding.UTF8.Preamble))
            json = json[Encoding.UTF8.Preamble.Length..];
        return Parse(json, path, whatToDo);
    }

    /// <summary>Parses UTF-8 JSON already in memory; <paramref name="source"/> names it in messages.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string source, string whatToDo)
    {
        // Utf8JsonReader checks UTF-8 only inside strings it decodes; checking up front makes a
        // binary or mis-encoded file fail here, with this message, rather than later.
        if (!Utf8.IsValid(utf8.Span))
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{source} is not valid JSON: it is not UTF-8 text; {whatToDo}.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{source} is not valid JSON ({Where(e)}: {Reason(e)}); {whatToDo}.", e);
        }
        if (FindLoneSurrogateEscape(utf8.Span) is { } offset)
        {
            document.Dispose();
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{source} is not valid JSON text: the string at byte {offset} escapes a lone UTF-16 surrogate (such as \\ud800 without its pair), which is no character; {whatToDo}.");
        }
        return document;
    }

    /// <summary>
    /// The byte offset of the first string or key whose escapes make a lone surrogate (<c>"\ud800"</c>), or null.
    /// JsonDocument accepts such text and throws InvalidOperationException only when the string is read, from whichever
    /// lookup meets it first (found by fuzzing: a key <c>"vocab\ud800_size"</c> broke every TryGetProperty after it).
    /// </summary>
    internal static long? FindLoneSurrogateEscape(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped)
                continue;
            try
            {
                _ = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return reader.TokenStartIndex;
            }
        }
        return null;
    }

    /// <summary>JsonException counts lines and bytes from 0; people count from 1.</summary>
    private static string Where(JsonException e) =>
        e.LineNumber is { } line && e.BytePositionInLine is { } position
            ? $"line {line + 1}, position {position + 1}"
            : "at an unknown position";

    /// <summary>The first sentence of the reader's message, without its own "Path: … | LineNumber: …" tail.</summary>
    private static string Reason(JsonException e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
            cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        message = (cut >= 0 ? message[..cut] : message).Trim();
        return message.TrimEnd('.');
    }

    /// <summary>
    /// A short rendering of a JSON value for messages. Strings are marked as such, because
    /// <c>"1024"</c> for a number is the mistake most worth seeing.
    /// </summary>
    public static string Describe(JsonElement value)
    {
        string raw = value.GetRawText();
        if (raw.Length > 40)
            raw = raw[..37] + "...";
        return value.ValueKind == JsonValueKind.String ? $"{raw} (a string)" : raw;
    }
}
