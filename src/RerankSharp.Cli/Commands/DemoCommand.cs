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
    // The texts of the reference's two demo scripts (test.py and test2.py in section 3 of the brief in ../shared/seed/),
    // byte for byte: ASCII ',' '?' 'C' and 'AI', full-width '。'. The reference's expected output: demo 1
    // 深度… 0.9213 > 机器学习… 0.7654 > 苹果… 0.1023; demo 2 北京… 0.9832 first, then the two keyword traps.

    /// <summary>The basic scoring example (the reference's test.py).</summary>
    internal const string BasicQuery = "人工智能的发展趋势";

    internal static readonly string[] BasicPassages =
    [
        "机器学习是人工智能的一个分支。",
        "苹果是一种水果,富含维生素C。",
        "深度神经网络推动了AI技术进步。",
    ];

    /// <summary>The RAG example (the reference's test2.py): one passage answers, two only share the query's keywords.</summary>
    internal const string RagQuery = "中国的首都是哪里?";

    internal const string RagAnswer = "北京是中国的政治中心和首都。";

    /// <summary>The keyword traps: they share 首都 (capital) and 北京 with the query but are about an airport and a university.</summary>
    internal static readonly string[] RagKeywordTraps = ["首都机场位于北京,是中国重要交通枢纽。", "首都医科大学位于北京市丰台区。"];

    internal static readonly string[] RagPassages =
    [
        RagAnswer,
        "上海是中国最大的城市,经济发达。",
        RagKeywordTraps[0],
        "杭州有西湖,是著名的旅游城市。",
        RagKeywordTraps[1],
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
            var colour = Colour(sigmoid ? r.Score : RerankScores.Sigmoid(r.Score));
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
        int Rank(string passage) => ranked.Select((r, rank) => (r, rank)).First(x => x.r.Document == passage).rank + 1;
        var answer = Rank(RagAnswer);
        var traps = RagKeywordTraps.Select(Rank).ToArray();
        var verdict = answer < traps.Min()
            ? $"[green]This model ranks the answer #{answer}, above both traps (#{traps[0]} and #{traps[1]}).[/]"
            : $"[yellow]This model ranks the answer #{answer}, the traps #{traps[0]} and #{traps[1]}; a trained reranker puts the answer first (a random-weight test model ranks at random).[/]";
        console.WriteLine();
        console.MarkupLine($"Keyword traps: \"{RagKeywordTraps[0]}\" and \"{RagKeywordTraps[1]}\" share 首都 (capital) and 北京 with the query");
        console.MarkupLine($"but are about an airport and a university, so keyword search ranks them high; a cross-encoder reads query and passage");
        console.MarkupLine($"together and should put \"{RagAnswer}\" first (the reference shows it at 0.9832, the traps at 0.4121 and 0.3987).");
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
