using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using RerankSharp.Scoring;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank score</c>: JSON Lines in (<c>{"query", "documents"}</c>), JSON Lines out (<c>{"scores"}</c>),
/// one output line per input line, same order. Lines are submitted ahead of the one being written,
/// so short lines share inference batches.
/// </summary>
internal static class ScoreCommand
{
    private const int LinesInFlight = 64;

    private static readonly Option<double> ProgressInterval = new("--progress-interval")
    {
        Description = "When standard error is not a terminal, print a progress line every this many seconds (0: never). Env: RERANK_PROGRESS_INTERVAL.",
        DefaultValueFactory = _ => double.TryParse(Environment.GetEnvironmentVariable("RERANK_PROGRESS_INTERVAL"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 10,
    };

    private static readonly Option<InputShard?> Shard = new("--shard")
    {
        Description = "Score only shard I of N (0 ≤ I < N): the I-th of N contiguous blocks of input lines, so the outputs of shards 0..N-1 concatenated in order are the unsharded output, line for line. Needs --input FILE. Env: RERANK_SHARD.",
        CustomParser = arg => InputShard.Parse(arg, arg.Tokens.Single().Value, "--shard"),
        DefaultValueFactory = arg => CommonOptions.Env("RERANK_SHARD") is { } value ? InputShard.Parse(arg, value, "RERANK_SHARD") : null,
    };

    public static Command Create()
    {
        var command = JsonLines.Command("score",
            "Score query/document pairs from JSON Lines: {\"query\": ..., \"documents\": [...]} → {\"scores\": [...]}. Progress on standard error; Ctrl-C keeps the complete lines written so far.",
            RunAsync);
        command.Options.Add(ProgressInterval);
        command.Options.Add(Shard);
        command.Options.Add(CommonOptions.Instruction);
        LongDocumentOptions.AddTo(command);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, Stream input, string source, TextWriter writer, CancellationToken ct)
    {
        var shard = result.GetValue(Shard);
        if (shard is not null && !input.CanSeek)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"--shard {shard} needs a file (--input FILE): the shard's lines are found by counting the whole input first, which {source} cannot be read twice for.");
        // Before the model loads, so a bad shard or input fails at once.
        var lineRange = shard?.Lines(JsonLines.ReadLines(input, source).LongCount());
        if (lineRange is not null) input.Position = 0;
        using var encoder = await CrossEncoder.LoadAsync(await CommonOptions.ResolveModelAsync(result, ct), CommonOptions.EncoderOptions(result), ct);
        var raw = result.GetValue(CommonOptions.Raw);
        var options = LongDocumentOptions.Apply(result, new RerankOptions { RawScores = raw, Instruction = result.GetValue(CommonOptions.Instruction) });
        // A file can be counted first, for a percentage and a time left; standard input cannot.
        long? total = lineRange is { } range ? range.End - range.Start : input.CanSeek ? JsonLines.CountLines(input) : null;
        var progress = new ProgressLine(!Console.IsErrorRedirected, TimeSpan.FromSeconds(result.GetValue(ProgressInterval)));
        var clock = Stopwatch.StartNew();
        var inFlight = new Queue<(int Line, Task<float[]> Scores)>();
        var errors = new LineErrors("scored");
        var lines = 0;
        long pairs = 0;

        async Task WriteOldest()
        {
            var (line, task) = inFlight.Dequeue();
            JsonObject obj;
            try
            {
                var scores = await task;
                var array = new JsonArray();
                foreach (var s in scores) array.Add(s);
                obj = new JsonObject { ["scores"] = array };
                pairs += scores.Length;
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
            {
                obj = errors.Record(line, e);
            }
            await writer.WriteLineAsync(JsonLines.Serialize(obj));
            lines++;
            progress.Report(lines, total, "lines", $"{pairs.ToString("N0", CultureInfo.InvariantCulture)} pairs · {pairs / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F1} pairs/s");
        }

        try
        {
            long index = -1;
            foreach (var (line, text) in JsonLines.ReadLines(input, source))
            {
                ct.ThrowIfCancellationRequested();
                index++;
                if (lineRange is { } shardLines)
                {
                    if (index < shardLines.Start) continue;
                    if (index >= shardLines.End) break;
                }
                inFlight.Enqueue((line, Submit(encoder, text, line, source, options, ct)));
                if (inFlight.Count >= LinesInFlight) await WriteOldest();
            }
            while (inFlight.Count > 0) await WriteOldest();
        }
        catch
        {
            progress.Clear();
            throw;
        }
        progress.Done($"scored {pairs} pairs from {lines} lines in {clock.Elapsed.TotalSeconds:F1} s ({pairs / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F1} pairs/s)");
        return errors.Finish(lines);
    }

    // A bad line becomes a failed task rather than an exception, so it gets its own error line and
    // the lines around it are still scored.
    private static Task<float[]> Submit(CrossEncoder encoder, string text, int line, string source, RerankOptions options, CancellationToken ct)
    {
        try
        {
            var (query, documents, instruction) = ParseLine(text, line, source);
            // A line's own "instruction" wins over --instruction. A ranking call, so the library's rules for its query and
            // documents (RankingInput) hold here as on the server.
            return Scores(encoder.ScoreDocumentsAsync(query, documents, instruction is null ? options : options with { Instruction = instruction }, ct));
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
        {
            return Task.FromException<float[]>(e);
        }

        static async Task<float[]> Scores(Task<DocumentScores> scored) => (await scored.ConfigureAwait(false)).Scores;
    }

    /// <summary>
    /// One input line as its query, documents and own "instruction", if any; anything malformed is an
    /// <see cref="RerankErrorKind.InvalidInput"/> naming the line.
    /// </summary>
    internal static (string Query, List<string> Documents, string? Instruction) ParseLine(string text, int line, string source)
    {
        var obj = JsonLines.ParseObject(text, line, source);
        var query = JsonLines.RequiredString(obj, "query", line, source);
        if (obj["documents"] is not JsonArray documents)
            throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} needs an array \"documents\".");
        var texts = new List<string>(documents.Count);
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i] is not JsonValue value || !value.TryGetValue<string>(out var document))
                throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line}: documents[{i}] must be a string.");
            texts.Add(document);
        }
        string? instruction = null;
        if (obj["instruction"] is JsonNode given)
            instruction = given is JsonValue v && v.TryGetValue<string>(out var lineInstruction) ? lineInstruction
                : throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line}: \"instruction\" must be a string.");
        return (query, texts, instruction);
    }
}
