using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using RerankSharp.Models;
using RerankSharp.Scoring;
using Spectre.Console;

namespace RerankSharp.Cli.Commands;

/// <summary><c>rerank rank --query Q --doc D ...</c>: one query, documents best first, as a table or JSON.</summary>
internal static class RankCommand
{
    public static Command Create()
    {
        var query = new Option<string>("--query", "-q") { Description = "The query.", Required = true };
        var docs = new Option<string[]>("--doc", "-d") { Description = "A document; repeat for each.", Required = true };
        var topN = new Option<int?>("--top-n") { Description = "Show only the best N." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var windows = new Option<bool>("--return-windows") { Description = "Also show which part of each document decided its score: the winning window of a chunked document, or the part a cut kept (token and character offsets)." };
        var command = new Command("rank", "Rank documents against one query.") { query, docs, topN, json, windows, CommonOptions.Instruction };
        LongDocumentOptions.AddTo(command);
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            using var encoder = await CrossEncoder.LoadAsync(await CommonOptions.ResolveModelAsync(result, ct), CommonOptions.EncoderOptions(result), ct);
            var documents = result.GetValue(docs)!;
            var clock = Stopwatch.StartNew();
            var options = LongDocumentOptions.Apply(result,
                new RerankOptions { TopN = result.GetValue(topN), RawScores = result.GetValue(CommonOptions.Raw), ReturnWindows = result.GetValue(windows),
                    Instruction = result.GetValue(CommonOptions.Instruction) });
            var ranked = await encoder.RerankAsync(result.GetValue(query)!, documents, options, ct);
            var elapsed = clock.Elapsed;
            if (result.GetValue(json)) PrintJson(ranked);
            else PrintTable(ranked, documents.Length, result.GetValue(CommonOptions.Raw) || encoder.Activation == ScoreActivation.Identity, elapsed);
            return 0;
        }));
        return command;
    }

    private static void PrintJson(IReadOnlyList<RerankResult> ranked)
    {
        var results = new JsonArray();
        foreach (var r in ranked)
        {
            var item = new JsonObject { ["index"] = r.Index, ["score"] = r.Score, ["document"] = r.Document };
            if (r.Window is { } window) item["window"] = LongDocumentOptions.Json(window);
            results.Add(item);
        }
        Console.Out.WriteLine(JsonLines.Serialize(new JsonObject { ["results"] = results }));
    }

    private static void PrintTable(IReadOnlyList<RerankResult> ranked, int scored, bool raw, TimeSpan elapsed)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("rank").RightAligned())
            .AddColumn(new TableColumn(raw ? "logit" : "score").RightAligned())
            .AddColumn(new TableColumn("#").RightAligned());
        var windows = ranked.Any(r => r.Window is not null);
        if (windows) table.AddColumn("window");
        table.AddColumn("document");
        for (var i = 0; i < ranked.Count; i++)
        {
            var r = ranked[i];
            var cells = new List<string>
            {
                (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.Score.ToString(raw ? "F4" : "F6", System.Globalization.CultureInfo.InvariantCulture),
                r.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            if (windows) cells.Add(r.Window is { } w ? $"{w.Index + 1}/{w.Count} · chars {w.CharStart}–{w.CharEnd}" : "");
            cells.Add(Markup.Escape(r.Document));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        // With --top-n the table shows fewer rows than were scored; the footer says both so the time reads right.
        var documents = scored == 1 ? "1 document" : $"{scored} documents";
        var shown = ranked.Count < scored ? $"best {ranked.Count} of {documents}" : documents;
        AnsiConsole.MarkupLine($"[grey]{shown} in {elapsed.TotalMilliseconds:F0} ms[/]");
    }
}
