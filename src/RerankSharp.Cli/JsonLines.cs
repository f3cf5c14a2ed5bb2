using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RerankSharp.Cli;

/// <summary>JSON Lines input and output for <c>score</c> and <c>tokenize</c>: strict UTF-8, line numbers in every error.</summary>
internal static class JsonLines
{
    /// <summary>
    /// A command that reads JSON Lines from <c>--input</c> (file or - for standard input) and writes
    /// JSON Lines to <c>--output</c> (default standard output); <paramref name="run"/> gets the input
    /// source and its name for messages.
    /// </summary>
    public static Command Command(string name, string description,
        Func<ParseResult, Stream, string, TextWriter, CancellationToken, Task<int>> run)
    {
        var input = new Option<string>("--input", "-i") { Description = "JSON Lines file, or - for standard input.", DefaultValueFactory = _ => "-" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write JSON Lines (default: standard output)." };
        var command = new Command(name, description) { input, output };
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            var inputPath = result.GetValue(input)!;
            var outputPath = result.GetValue(output);
            await using var reader = OpenInput(inputPath);
            // A file is written beside its final name and moved into place when the run is through,
            // so a failed run never leaves a half-written (or emptied) output behind. Ctrl-C is not a
            // failure but a stop: the lines written so far are whole (each is written in one piece
            // and flushed before the move), so they are kept.
            var partial = outputPath is null or "-" ? null : $"{outputPath}.partial-{Environment.ProcessId}";
            var completed = false;
            try
            {
                int exitCode;
                var stopped = false;
                await using (var writer = partial is null
                    ? new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16)
                    : new StreamWriter(OpenOutput(partial, outputPath!), new UTF8Encoding(false), 1 << 16))
                {
                    try
                    {
                        exitCode = await run(result, reader, inputPath == "-" ? "standard input" : inputPath, writer, ct);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        exitCode = 130;
                        stopped = true;
                    }
                    await writer.FlushAsync(CancellationToken.None);
                }
                if (stopped)
                {
                    if (partial is null)
                        throw new StoppedRunException("standard output holds the complete lines written before the stop.");
                    var kept = CountLines(partial);
                    if (kept == 0)
                        throw new StoppedRunException($"no line was finished; {outputPath} was left as it was.");
                    File.Move(partial, outputPath!, overwrite: true);
                    completed = true;
                    throw new StoppedRunException($"{outputPath} holds the {kept} complete lines written before the stop.");
                }
                if (partial is not null) File.Move(partial, outputPath!, overwrite: true);
                completed = true;
                return exitCode;
            }
            finally
            {
                if (!completed && partial is not null && File.Exists(partial)) File.Delete(partial);
            }
        }));
        return command;
    }

    /// <summary>Lines that hold more than white space, counted from the start; a seekable stream is put back where it was.</summary>
    public static long CountLines(Stream stream)
    {
        var start = stream.Position;
        long lines = 0;
        var blank = true;
        var buffer = new byte[1 << 16];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            foreach (var b in buffer.AsSpan(0, read))
            {
                if (b == '\n')
                {
                    if (!blank) lines++;
                    blank = true;
                }
                else if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) blank = false;
            }
        if (!blank) lines++;
        stream.Position = start;
        return lines;
    }

    private static long CountLines(string path)
    {
        using var file = File.OpenRead(path);
        return CountLines(file);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static Stream OpenInput(string path)
    {
        if (path == "-") return new BufferedStream(Console.OpenStandardInput(), 1 << 16);
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Input file {path} does not exist; pass a JSON Lines file or - for standard input.");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    // The partial file's name is ours, not the user's: a failure to create it is reported for the --output they gave.
    private static FileStream OpenOutput(string partial, string outputPath)
    {
        try
        {
            return new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(outputPath));
            var reason = e switch
            {
                DirectoryNotFoundException => $"the folder {folder} does not exist",
                UnauthorizedAccessException => $"the folder {folder} is not writable here",
                _ => e.Message.Replace(partial, outputPath, StringComparison.Ordinal).TrimEnd('.'),
            };
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"Cannot write the output file {outputPath}: {reason}; pass a path in a folder you can write, or - for standard output.");
        }
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
        var utf8 = Encoding.UTF8.GetBytes(text);
        try
        {
            // JsonNode accepts an escaped lone surrogate ("\ud800") and throws InvalidOperationException when the
            // string is read (found by fuzzing); it is no character, so the line is refused first.
            if (LoneSurrogateEscape(utf8) is { } offset)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"{source}: line {line} escapes a lone UTF-16 surrogate (such as \\ud800 without its pair) at byte {offset + 1}, which is no character.");
            // A key given twice would make JsonObject throw ArgumentException on first use (found by fuzzing).
            node = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            // System.Text.Json counts lines within the one line it was given ("LineNumber: 0"); the position that means
            // something here is the column of the input line.
            var reason = e.Message.Split(" LineNumber:", 2)[0].Trim().TrimEnd('.');
            var column = e.BytePositionInLine is { } byteIndex ? $" at byte {byteIndex + 1}" : "";
            throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} is not valid JSON{column}: {reason}.");
        }
        return node as JsonObject
            ?? throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} must be a JSON object.");
    }

    private static long? LoneSurrogateEscape(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
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

    public static string RequiredString(JsonObject obj, string key, int line, string source) =>
        obj[key] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} needs a string \"{key}\".");

    public static string Serialize(JsonObject obj) => obj.ToJsonString(Options);

    // Scores must round-trip exactly; non-ASCII text stays readable.
    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary>
/// Lines that got an <c>{"error": ...}</c> line instead of a result: the rest of the input is still
/// processed, and the run ends with one summary line and exit code 4.
/// </summary>
internal sealed class LineErrors(string verb)
{
    private int _failed;
    private string? _first;

    public JsonObject Record(int line, RerankException error)
    {
        _failed++;
        // Input errors name their line already ("standard input: line 2 …"); others (a model failure) get it here.
        _first ??= error.Message.Contains($"line {line} ", StringComparison.Ordinal) ? error.Message : $"line {line}: {error.Message}";
        return new JsonObject { ["error"] = error.Message };
    }

    public int Finish(int lines)
    {
        if (_failed == 0) return 0;
        Console.Error.WriteLine($"error: {_failed} of {lines} lines could not be {verb} and got an \"error\" line instead; the first: {_first!.TrimEnd('.')}.");
        return 4;
    }
}
