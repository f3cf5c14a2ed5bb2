using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using RerankSharp.Models;
using RerankSharp.Scoring;
using Spectre.Console;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank demo</c>: the two reference demos people start with — a query about AI trends with
/// three passages, and a RAG retrieval whose passages include a "keyword trap" — each scored,
/// timed and printed best first with score bars; or the user's own <c>--query</c> and <c>--doc</c>.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The basic scoring example, texts exactly as in the reference scripts.</summary>
    internal const string BasicQuery = "人工智能的发展趋势";

    internal static readonly string[] BasicPassages =
    [
        "人工智能正在向多模态和通用化方向发展。",
        "机器学习是人工智能的一个重要分支。",
        "今天天气很好,适合出去散步。",
    ];

    /// <summary>The RAG example: one passage answers, one only shares the query's keywords.</summary>
    internal const string RagQuery = "中国的首都是哪里?";

    internal const string RagAnswer = "北京是中国的政治中心和首都。";

    internal const string RagKeywordTrap = "首都机场位于北京,是中国重要交通枢纽。";

    internal static readonly string[] RagPassages =
    [
        RagAnswer,
        RagKeywordTrap,
        "上海是中国最大的经济中心城市。",
        "东京是日本的首都,也是日本最大的城市。",
        "长城是中国古代修建的军事防御工程。",
    ];

    private const int BarWidth = 20;

    public static Command Create()
    {
        var query = new Option<string?>("--query", "-q") { Description = "Your own query instead of the two demos (needs --doc)." };
        var docs = new Option<string[]>("--doc", "-d") { Description = "A passage for --query; repeat for each." };
        var command = new Command("demo",
            "Run the two reference demos (basic scoring; RAG retrieval with a keyword trap): passages best first with score bars and timing.")
        { query, docs };
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            var ownQuery = result.GetValue(query);
            var ownDocs = result.GetValue(docs) ?? [];
            if (ownQuery is null && ownDocs.Length > 0)
                throw new RerankException(RerankErrorKind.InvalidInput, "--doc needs --query: pass the query the passages are to be ranked for.");
            if (ownQuery is not null && ownDocs.Length == 0)
                throw new RerankException(RerankErrorKind.InvalidInput, "--query needs at least one --doc passage to rank.");

            var raw = result.GetValue(CommonOptions.Raw);
            var console = StdoutConsole.Create();
            var directory = await CommonOptions.ResolveModelAsync(result, ct);
            using var encoder = await CrossEncoder.LoadAsync(directory, CommonOptions.EncoderOptions(result), ct);
            console.MarkupLine($"[grey]model {Markup.Escape(encoder.Folder.Directory)} · loaded in {encoder.LoadTime.TotalSeconds:F1} s · {Markup.Escape(encoder.ExecutionProvider)}[/]");

            if (ownQuery is not null)
            {
                await RunAsync(console, encoder, "Your query", ownQuery, ownDocs, raw, ct);
                return 0;
            }
            await RunAsync(console, encoder, "Demo 1 · basic scoring", BasicQuery, BasicPassages, raw, ct);
            var ranked = await RunAsync(console, encoder, "Demo 2 · RAG retrieval and the keyword trap", RagQuery, RagPassages, raw, ct);
            ExplainKeywordTrap(console, ranked);
            return 0;
        }));
        return command;
    }

    private static async Task<IReadOnlyList<RerankResult>> RunAsync(IAnsiConsole console, CrossEncoder encoder, string title,
        string query, IReadOnlyList<string> passages, bool raw, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var ranked = await encoder.RerankAsync(query, passages, new RerankOptions { RawScores = raw }, ct);
        var elapsed = clock.Elapsed;

        console.WriteLine();
        console.MarkupLine($"[bold]{Markup.Escape(title)}[/]");
        console.MarkupLine($"query: [bold]{Markup.Escape(query)}[/]");
        console.MarkupLine($"[grey]{passages.Count} passages scored in {elapsed.TotalMilliseconds:F0} ms[/]");
        // Sigmoid scores are in [0, 1] and fill the bar by their value; raw logits (or another --activation's scores)
        // have no fixed range, so their bars span the lowest to the highest shown.
        var sigmoid = !raw && encoder.Activation == ScoreActivation.Sigmoid;
        var (low, high) = sigmoid ? (0f, 1f) : (ranked.Min(r => r.Score), ranked.Max(r => r.Score));
        var grid = new Grid().AddColumn(new GridColumn().RightAligned()).AddColumn(new GridColumn().RightAligned()).AddColumn().AddColumn();
        for (var i = 0; i < ranked.Count; i++)
        {
            var r = ranked[i];
            var fill = high > low ? (r.Score - low) / (high - low) : 1f;
            var colour = Colour(sigmoid ? r.Score : 1f / (1f + MathF.Exp(-r.Score)));
            grid.AddRow(
                (i + 1).ToString(CultureInfo.InvariantCulture),
                r.Score.ToString("F4", CultureInfo.InvariantCulture),
                $"[{colour}]{Bar(fill)}[/]",
                Markup.Escape(r.Document));
        }
        console.Write(grid);
        return ranked;
    }

    private static void ExplainKeywordTrap(IAnsiConsole console, IReadOnlyList<RerankResult> ranked)
    {
        var trap = ranked.Select((r, rank) => (r, rank)).First(x => x.r.Document == RagKeywordTrap).rank + 1;
        var answer = ranked.Select((r, rank) => (r, rank)).First(x => x.r.Document == RagAnswer).rank + 1;
        var verdict = answer < trap
            ? $"[green]This model ranks the answer #{answer}, above the trap (#{trap}).[/]"
            : $"[yellow]This model ranks the trap #{trap}, above the answer (#{answer}); a trained reranker should not (a random-weight test model ranks at random).[/]";
        console.WriteLine();
        console.MarkupLine($"Keyword trap: \"{RagKeywordTrap}\" shares 首都 (capital) and 北京 with the query but is about the airport,");
        console.MarkupLine($"so keyword search ranks it high; a cross-encoder reads query and passage together and should put \"{RagAnswer}\" first.");
        console.MarkupLine(verdict);
    }

    private static string Colour(float probability) => probability switch
    {
        >= 0.5f => "green",
        >= 0.1f => "yellow",
        _ => "red",
    };

    /// <summary>A bar of <see cref="BarWidth"/> cells in eighths of a cell, the rest shaded, so bars of equal scores look equal.</summary>
    internal static string Bar(float fraction)
    {
        var eighths = (int)Math.Round(Math.Clamp(fraction, 0f, 1f) * BarWidth * 8);
        var bar = new StringBuilder(BarWidth);
        bar.Append('█', eighths / 8);
        if (eighths % 8 > 0) bar.Append(" ▏▎▍▌▋▊▉"[eighths % 8]);
        bar.Append('░', BarWidth - bar.Length);
        return bar.ToString();
    }
}
