using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using Spectre.Console;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank bench</c>: the latency and memory table people size hardware with — rows of
/// (input length × documents) → median latency, pairs/s, tokens/s, peak RSS — measured on this
/// machine with the options given (threads, batch size, device), as a table, JSON or a PNG plot.
/// </summary>
internal static class BenchCommand
{
    public const string DefaultGrid = "512x10,1024x20,8192x5";

    public static Command Create()
    {
        var grid = new Option<string>("--grid")
        {
            Description = $"Rows as TOKENSxDOCS, comma-separated: each row scores DOCS pairs of exactly TOKENS tokens as one request (a listwise model: DOCS documents of TOKENS tokens each). Env: RERANK_BENCH_GRID.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RERANK_BENCH_GRID") is { Length: > 0 } g ? g : DefaultGrid,
        };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs per row first (first-touch page faults make early runs slow).", DefaultValueFactory = _ => 1 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per row; the median is reported.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON instead of a table." };
        var plot = new Option<string?>("--plot")
        {
            Description = "Also draw latency against input length as a PNG (default file: rerank-bench.png).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("bench", $"Measure latency, throughput and peak memory over input lengths × document counts (default {DefaultGrid}).")
        { grid, warmup, repeats, json, plot };
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            var cells = ParseGrid(result.GetValue(grid)!);
            var warmups = result.GetValue(warmup);
            var runs = result.GetValue(repeats);
            if (warmups < 0) throw new RerankException(RerankErrorKind.InvalidInput, $"--warmup {warmups} must not be negative.");
            if (runs < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"--repeats {runs} must be at least 1.");
            var plotPath = result.GetResult(plot) is null ? null : result.GetValue(plot) ?? "rerank-bench.png";

            var options = CommonOptions.EncoderOptions(result);
            using var encoder = await CrossEncoder.LoadAsync(await CommonOptions.ResolveModelAsync(result, ct), options, ct);
            var tooLong = cells.Where(c => c.Tokens > encoder.MaxLength).Select(c => c.Tokens).Distinct().ToArray();
            if (tooLong.Length > 0)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"--grid asks for {string.Join(", ", tooLong)}-token inputs but this model takes at most {encoder.MaxLength} tokens (--max-length); pass --grid with lengths up to {encoder.MaxLength}, e.g. --grid {Math.Min(512, encoder.MaxLength)}x10.");

            var threads = encoder.Threads;
            var setup = $"{encoder.ExecutionProvider}, {threads} threads, batches of ≤ {encoder.BatchSize} pairs and ≤ {encoder.MaxBatchTokens} tokens, {warmups} warm-up + {runs} timed runs per row";
            Console.Error.WriteLine($"bench: {encoder.Folder.Directory} loaded in {encoder.LoadTime.TotalSeconds:F1} s; {setup}");
            var peakResets = ProcessMemory.TryResetPeak();
            var rows = new List<BenchRow>();
            foreach (var (tokens, docs) in cells)
                rows.Add(await MeasureAsync(encoder, tokens, docs, warmups, runs, ct));

            if (result.GetValue(json)) PrintJson(encoder, threads, options, warmups, runs, peakResets, rows);
            else PrintTable(encoder, setup, peakResets, rows);
            if (plotPath is not null)
            {
                BenchPlot.Save(plotPath, $"rerank bench · {Path.GetFileName(encoder.Folder.Directory)} · {encoder.ExecutionProvider}, {threads} threads", rows);
                Console.Error.WriteLine($"bench: plot written to {plotPath}");
            }
            return 0;
        }));
        return command;
    }

    internal static IReadOnlyList<(int Tokens, int Docs)> ParseGrid(string text)
    {
        var cells = new List<(int, int)>();
        foreach (var cell in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = cell.ToLowerInvariant().Split('x', '×');
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var tokens)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var docs)
                || tokens < 5 || docs < 1)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"--grid cell '{cell}' is not TOKENSxDOCS with TOKENS ≥ 5 and DOCS ≥ 1; write e.g. --grid {DefaultGrid}.");
            cells.Add((tokens, docs));
        }
        if (cells.Count == 0)
            throw new RerankException(RerankErrorKind.InvalidInput, $"--grid is empty; write e.g. --grid {DefaultGrid}.");
        return cells;
    }

    private static async Task<BenchRow> MeasureAsync(CrossEncoder encoder, int tokens, int docs, int warmups, int runs, CancellationToken ct)
    {
        Func<Task> score;
        if (encoder.Listwise)
        {
            // A listwise model reads a request's documents together: one request of DOCS documents, each cut to exactly
            // TOKENS tokens by the per-document limit (the reference's max_doc_length), read in one or more blocks.
            var passages = BenchInputs.Passages(tokens, docs);
            var options = new RerankOptions { MaxDocumentTokens = tokens };
            var first = await encoder.ScoreDocumentsAsync(BenchInputs.Query, passages, options, ct);
            if (first.Truncated.Any(cut => !cut))
                throw new RerankException(RerankErrorKind.Internal, $"A bench document came out shorter than {tokens} tokens. This is a bug.");
            Console.Error.WriteLine($"bench: listwise, {docs} documents of {tokens} tokens in one request; the model reads {first.TotalTokens:N0} tokens");
            score = () => encoder.ScoreDocumentsAsync(BenchInputs.Query, passages, options, ct);
        }
        else
        {
            var inputs = BenchInputs.Make(encoder.Tokenizer, tokens, docs);
            score = () => encoder.ScoreTokenizedAsync(inputs, rawScores: true, ct);
        }
        ProcessMemory.TryResetPeak();
        for (var w = 0; w < warmups; w++)
            await score();
        var seconds = new List<double>(runs);
        for (var r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            await score();
            // Read once: the progress line shows the time the row records, not a later reading of the clock.
            var elapsed = clock.Elapsed.TotalSeconds;
            seconds.Add(elapsed);
            Console.Error.WriteLine($"bench: {tokens} tokens × {docs} docs: run {r + 1}/{runs} {BenchRow.FormatSeconds(elapsed)}");
        }
        return new BenchRow(tokens, docs, seconds, ProcessMemory.PeakMiB());
    }

    private static void PrintTable(CrossEncoder encoder, string setup, bool peakResets, IReadOnlyList<BenchRow> rows)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("input length").RightAligned())
            .AddColumn(new TableColumn("documents").RightAligned())
            .AddColumn(new TableColumn("median latency").RightAligned())
            .AddColumn(new TableColumn("pairs/s").RightAligned())
            .AddColumn(new TableColumn("tokens/s").RightAligned())
            .AddColumn(new TableColumn(peakResets ? "peak RSS" : "peak RSS (so far)").RightAligned());
        foreach (var row in rows)
            table.AddRow(
                row.Tokens.ToString("N0", CultureInfo.InvariantCulture),
                row.Docs.ToString(CultureInfo.InvariantCulture),
                BenchRow.FormatSeconds(row.MedianSeconds),
                row.PairsPerSecond.ToString("F1", CultureInfo.InvariantCulture),
                row.TokensPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                $"{row.PeakRssMiB:N0} MiB");
        var console = StdoutConsole.Create();
        console.MarkupLine($"[grey]{Markup.Escape(encoder.Folder.Directory)}: {Markup.Escape(setup)}[/]");
        console.Write(table);
    }

    private static void PrintJson(CrossEncoder encoder, int threads, CrossEncoderOptions options, int warmups, int runs, bool peakResets, IReadOnlyList<BenchRow> rows)
    {
        var array = new JsonArray();
        foreach (var row in rows)
        {
            var runSeconds = new JsonArray();
            foreach (var s in row.RunSeconds) runSeconds.Add(Math.Round(s, 6));
            array.Add(new JsonObject
            {
                ["tokens"] = row.Tokens,
                ["docs"] = row.Docs,
                ["median_s"] = Math.Round(row.MedianSeconds, 6),
                ["min_s"] = Math.Round(row.RunSeconds.Min(), 6),
                ["runs_s"] = runSeconds,
                ["pairs_per_s"] = Math.Round(row.PairsPerSecond, 3),
                ["tokens_per_s"] = Math.Round(row.TokensPerSecond, 1),
                ["peak_rss_mib"] = Math.Round(row.PeakRssMiB, 1),
            });
        }
        Console.Out.WriteLine(JsonLines.Serialize(new JsonObject
        {
            ["model"] = encoder.Folder.Directory,
            ["provider"] = encoder.ExecutionProvider,
            ["threads"] = threads,
            ["batch_size"] = encoder.BatchSize,
            ["max_batch_tokens"] = encoder.MaxBatchTokens,
            ["warmup"] = warmups,
            ["repeats"] = runs,
            ["load_s"] = Math.Round(encoder.LoadTime.TotalSeconds, 3),
            // Without a reset (not Linux), each row's peak is the process's peak so far.
            ["peak_rss_per_row"] = peakResets,
            ["rows"] = array,
        }));
    }
}
