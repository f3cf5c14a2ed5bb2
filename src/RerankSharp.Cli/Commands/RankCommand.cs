using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
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
        var command = new Command("rank", "Rank documents against one query.") { query, docs, topN, json, CommonOptions.Instruction };
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            using var encoder = await CrossEncoder.LoadAsync(await CommonOptions.ResolveModelAsync(result, ct), CommonOptions.EncoderOptions(result), ct);
            var documents = result.GetValue(docs)!;
            var clock = Stopwatch.StartNew();
            var ranked = await encoder.RerankAsync(result.GetValue(query)!, documents,
                new RerankOptions { TopN = result.GetValue(topN), RawScores = result.GetValue(CommonOptions.Raw), Instruction = result.GetValue(CommonOptions.Instruction) }, ct);
            var elapsed = clock.Elapsed;
            if (result.GetValue(json)) PrintJson(ranked);
            else PrintTable(ranked, result.GetValue(CommonOptions.Raw), elapsed);
            return 0;
        }));
        return command;
    }

    private static void PrintJson(IReadOnlyList<RerankResult> ranked)
    {
        var results = new JsonArray();
        foreach (var r in ranked)
            results.Add(new JsonObject { ["index"] = r.Index, ["score"] = r.Score, ["document"] = r.Document });
        Console.Out.WriteLine(JsonLines.Serialize(new JsonObject { ["results"] = results }));
    }

    private static void PrintTable(IReadOnlyList<RerankResult> ranked, bool raw, TimeSpan elapsed)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("rank").RightAligned())
            .AddColumn(new TableColumn(raw ? "logit" : "score").RightAligned())
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn("document");
        for (var i = 0; i < ranked.Count; i++)
        {
            var r = ranked[i];
            table.AddRow((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.Score.ToString(raw ? "F4" : "F6", System.Globalization.CultureInfo.InvariantCulture),
                r.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(r.Document));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]{ranked.Count} documents in {elapsed.TotalMilliseconds:F0} ms[/]");
    }
}
