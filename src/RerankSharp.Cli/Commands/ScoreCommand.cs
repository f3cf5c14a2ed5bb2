using System.CommandLine;
using System.Diagnostics;
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

    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "JSON Lines file, or - for standard input.", DefaultValueFactory = _ => "-" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write JSON Lines (default: standard output)." };
        var command = new Command("score", "Score query/document pairs from JSON Lines: {\"query\": ..., \"documents\": [...]} → {\"scores\": [...]}.")
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
        using var encoder = await CrossEncoder.LoadAsync(result.GetValue(CommonOptions.Model)!, CommonOptions.EncoderOptions(result), ct);
        var raw = result.GetValue(CommonOptions.Raw);
        await using var writer = JsonLines.OpenOutput(outputPath);
        var progress = new ProgressLine(Console.IsErrorRedirected);
        var clock = Stopwatch.StartNew();
        var inFlight = new Queue<(int Line, Task<float[]> Scores)>();
        int lines = 0, failed = 0;
        long pairs = 0;
        string? firstError = null;

        async Task WriteOldest()
        {
            var (line, task) = inFlight.Dequeue();
            var obj = new JsonObject();
            try
            {
                var scores = await task;
                var array = new JsonArray();
                foreach (var s in scores) array.Add(s);
                obj["scores"] = array;
                pairs += scores.Length;
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
            {
                failed++;
                firstError ??= $"line {line}: {e.Message}";
                obj["error"] = e.Message;
            }
            await writer.WriteLineAsync(JsonLines.Serialize(obj));
            lines++;
            progress.Report($"{lines} lines, {pairs} pairs, {pairs / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F1} pairs/s");
        }

        foreach (var (line, text) in JsonLines.ReadLines(reader, source))
        {
            inFlight.Enqueue((line, Submit(encoder, text, line, source, raw, ct)));
            if (inFlight.Count >= LinesInFlight) await WriteOldest();
        }
        while (inFlight.Count > 0) await WriteOldest();
        await writer.FlushAsync(ct);
        progress.Done($"scored {pairs} pairs from {lines} lines in {clock.Elapsed.TotalSeconds:F1} s");

        if (failed > 0)
        {
            Console.Error.WriteLine($"error: {failed} of {lines} lines could not be scored and got an \"error\" line instead (first: {firstError})");
            return 4;
        }
        return 0;
    }

    // A bad line becomes a failed task rather than an exception, so it gets its own error line and
    // the lines around it are still scored.
    private static Task<float[]> Submit(CrossEncoder encoder, string text, int line, string source, bool raw, CancellationToken ct)
    {
        try
        {
            var obj = JsonLines.ParseObject(text, line, source);
            var query = JsonLines.RequiredString(obj, "query", line, source);
            if (obj["documents"] is not JsonArray documents)
                throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line} needs an array \"documents\".");
            var pairs = new List<(string, string)>(documents.Count);
            for (var i = 0; i < documents.Count; i++)
            {
                if (documents[i] is not JsonValue value || !value.TryGetValue<string>(out var document))
                    throw new RerankException(RerankErrorKind.InvalidInput, $"{source}: line {line}: documents[{i}] must be a string.");
                pairs.Add((query, document));
            }
            return encoder.PredictAsync(pairs, new RerankOptions { RawScores = raw }, ct);
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
        {
            return Task.FromException<float[]>(e);
        }
    }
}
