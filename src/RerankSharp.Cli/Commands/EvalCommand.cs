using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using RerankSharp.Cli.Evaluation;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using Spectre.Console;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank eval</c>: reranks the top-K candidates of each query of a BEIR-format dataset and reports nDCG@10, MRR@10
/// and Recall@10/100 before and after, for each precision and max length asked; with <c>--compare A,B</c>, how alike
/// two precisions rank the same candidates.
/// </summary>
internal static class EvalCommand
{
    // Queries scored at once: enough to fill batches, few enough that a large dataset never meets the queue limit.
    private const int QueriesInFlight = 8;

    private static readonly Option<string> Dataset = new("--dataset")
    {
        Description = "BEIR folder: corpus.jsonl ({\"_id\", \"title\", \"text\"}), queries.jsonl ({\"_id\", \"text\"}), qrels/SPLIT.tsv (query-id, corpus-id, score).",
        Required = true,
    };

    private static readonly Option<string> Candidates = new("--candidates")
    {
        Description = "First-stage results to rerank, TREC run format (qid Q0 docid rank score tag), e.g. from BM25 or a vector search; ordered by score as trec_eval orders them.",
        Required = true,
    };

    private static readonly Option<string?> Split = new("--split") { Description = "Which qrels/SPLIT.tsv (default: the only one, else test)." };

    private static readonly Option<int> TopK = new("--top-k")
    {
        Description = "Candidates reranked per query; the rest keep their first-stage order after them. Env: RERANK_EVAL_TOP_K.",
        DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_EVAL_TOP_K") ?? 100,
    };

    private static readonly Option<string?> MaxLengths = new("--max-lengths")
    {
        Description = "Max lengths to evaluate, comma-separated (default: --max-length, else the model's).",
    };

    private static readonly Option<string?> Compare = new("--compare")
    {
        Description = "Two precisions, A,B: per query Spearman and Kendall correlation of their scores (mean, worst), top-1 agreement, largest score difference. Both are evaluated.",
    };

    private static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of tables." };

    public static Command Create()
    {
        var command = new Command("eval", "Measure ranking quality on a BEIR-format dataset: nDCG@10, MRR@10, Recall@10/100 of first-stage candidates before and after reranking, per precision and max length.")
        {
            Dataset, Candidates, Split, TopK, MaxLengths, Compare, Json,
        };
        LongDocumentOptions.AddTo(command);
        command.SetAction((result, token) => Cli.Run(result, token, ct => RunAsync(result, ct)));
        return command;
    }

    private sealed record Configuration(Precision Precision, int? RequestedMaxLength)
    {
        public int MaxLength { get; set; }
        public RankingMetrics After { get; set; } = null!;
        public Dictionary<string, float[]> Scores { get; } = new(StringComparer.Ordinal);
        public long Pairs { get; set; }
        public TimeSpan Elapsed { get; set; }
        public string Name => Precision.ToString().ToLowerInvariant();
    }

    private static async Task<int> RunAsync(ParseResult result, CancellationToken ct)
    {
        var topK = result.GetValue(TopK);
        if (topK < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"--top-k {topK} must be at least 1.");
        // The common --precision, read here as a comma-separated list of the precisions to evaluate (default fp32).
        var precisions = ParsePrecisions(CommonOptions.PrecisionText(result) ?? "fp32", "--precision");
        var compared = result.GetValue(Compare) is { } pair ? ParsePrecisions(pair, "--compare") : null;
        if (compared is not null && (compared.Count != 2 || compared[0] == compared[1]))
            throw new RerankException(RerankErrorKind.InvalidInput, "--compare takes two different precisions, e.g. --compare fp32,int8.");
        var maxLengths = result.GetValue(MaxLengths) is { } lengths
            ? ParseList(lengths, "--max-lengths", s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 5 ? n : (int?)null, "a whole number of at least 5")
                .Select(n => (int?)n).ToList()
            : [result.GetValue(CommonOptions.MaxLength)];

        var data = BeirDataset.Load(result.GetValue(Dataset)!, result.GetValue(Split));
        var run = TrecRun.Load(result.GetValue(Candidates)!);
        // As trec_eval: the queries that have both judgements and candidates.
        var queries = data.Qrels.Keys.Where(run.ContainsKey).Order(StringComparer.Ordinal).ToList();
        if (queries.Count == 0)
            throw new RerankException(RerankErrorKind.InvalidInput, $"No query of {data.QrelsPath} has candidates in the run; check that both use the same query ids.");
        foreach (var q in queries)
        {
            if (!data.Queries.ContainsKey(q))
                throw new RerankException(RerankErrorKind.InvalidInput, $"Query {q} is judged and has candidates but is not in queries.jsonl.");
            if (run[q].Take(topK).FirstOrDefault(d => !data.Corpus.ContainsKey(d)) is { } missing)
                throw new RerankException(RerankErrorKind.InvalidInput, $"The candidates of query {q} name document {missing}, which corpus.jsonl does not have.");
        }
        var before = RankingMetrics.Mean(queries.Select(q => RankingMetrics.Of(run[q], data.Qrels[q])).ToList());

        var configurations = precisions.Union(compared ?? []).SelectMany(p => maxLengths.Select(l => new Configuration(p, l))).ToList();
        var options = LongDocumentOptions.Apply(result, new RerankOptions { RawScores = result.GetValue(CommonOptions.Raw) });
        var modelDirectory = await CommonOptions.ResolveModelAsync(result, ct);
        var progress = new EvalProgress(configurations.Count * (long)queries.Count);
        await progress.RunAsync(async report =>
        {
            foreach (var configuration in configurations)
                await ScoreAsync(configuration, modelDirectory, result, options, data, run, queries, topK, report, ct);
        });

        var comparisons = compared is null ? [] : maxLengths.Select(l => Agreement(
            configurations.Single(c => c.Precision == compared[0] && c.RequestedMaxLength == l),
            configurations.Single(c => c.Precision == compared[1] && c.RequestedMaxLength == l), queries)).ToList();
        if (result.GetValue(Json)) PrintJson(result, data, queries.Count, topK, options, before, configurations, comparisons);
        else PrintTables(queries.Count, topK, options, before, configurations, comparisons, result.GetValue(CommonOptions.Raw));
        return 0;
    }

    private static async Task ScoreAsync(Configuration configuration, string modelDirectory, ParseResult result, RerankOptions options, BeirDataset data,
        Dictionary<string, List<string>> run, List<string> queries, int topK, Action<string> report, CancellationToken ct)
    {
        using var encoder = await CrossEncoder.LoadAsync(modelDirectory,
            CommonOptions.EncoderOptions(result, configuration.Precision) with { MaxLength = configuration.RequestedMaxLength }, ct);
        configuration.MaxLength = encoder.MaxLength;
        var label = $"{configuration.Name} · max_length {encoder.MaxLength}";
        var clock = Stopwatch.StartNew();
        var perQuery = new List<RankingMetrics>(queries.Count);
        var inFlight = new Queue<(string Query, List<string> Candidates, Task<DocumentScores> Scores)>();

        async Task Finish()
        {
            var (q, candidates, task) = inFlight.Dequeue();
            var scores = (await task).Scores;
            configuration.Scores[q] = scores;
            configuration.Pairs += scores.Length;
            // Reranked candidates first, best first (ties keep first-stage order), then the rest as they were.
            var reranked = Enumerable.Range(0, candidates.Count).OrderByDescending(i => scores[i]).Select(i => candidates[i])
                .Concat(run[q].Skip(candidates.Count)).ToList();
            perQuery.Add(RankingMetrics.Of(reranked, data.Qrels[q]));
            report(label);
        }

        foreach (var q in queries)
        {
            var candidates = run[q].Take(topK).ToList();
            inFlight.Enqueue((q, candidates, encoder.ScoreDocumentsAsync(data.Queries[q], candidates.Select(d => data.Corpus[d]).ToList(), options, ct)));
            if (inFlight.Count >= QueriesInFlight) await Finish();
        }
        while (inFlight.Count > 0) await Finish();
        configuration.After = RankingMetrics.Mean(perQuery);
        configuration.Elapsed = clock.Elapsed;
    }

    private sealed record Comparison(Configuration A, Configuration B, double SpearmanMean, double SpearmanWorst, double KendallMean, double KendallWorst,
        int Correlated, double TopOneAgreement, double MaxScoreDifference);

    private static Comparison Agreement(Configuration a, Configuration b, List<string> queries)
    {
        var spearman = new List<double>();
        var kendall = new List<double>();
        var sameTop = 0;
        var maxDifference = 0.0;
        foreach (var q in queries)
        {
            var (sa, sb) = (a.Scores[q], b.Scores[q]);
            if (sa.Length == 0) continue;
            var rho = RankAgreement.Spearman(sa, sb);
            var tau = RankAgreement.KendallTauB(sa, sb);
            // A query with one candidate or constant scores has no ranking to agree on; it is left out of the means.
            if (!double.IsNaN(rho)) spearman.Add(rho);
            if (!double.IsNaN(tau)) kendall.Add(tau);
            if (ArgMax(sa) == ArgMax(sb)) sameTop++;
            for (var i = 0; i < sa.Length; i++) maxDifference = Math.Max(maxDifference, Math.Abs((double)sa[i] - sb[i]));
        }
        return new Comparison(a, b,
            spearman.Count > 0 ? spearman.Average() : double.NaN, spearman.Count > 0 ? spearman.Min() : double.NaN,
            kendall.Count > 0 ? kendall.Average() : double.NaN, kendall.Count > 0 ? kendall.Min() : double.NaN,
            spearman.Count, (double)sameTop / queries.Count, maxDifference);

        static int ArgMax(float[] s)
        {
            var best = 0;
            for (var i = 1; i < s.Length; i++) if (s[i] > s[best]) best = i;
            return best;
        }
    }

    private static void PrintTables(int queries, int topK, RerankOptions options, RankingMetrics before, List<Configuration> configurations,
        List<Comparison> comparisons, bool raw)
    {
        var console = StdoutConsole.Create();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"{queries} queries · top {topK} reranked · long documents: {Describe(options)}")
            .AddColumn("ranking").AddColumn(new TableColumn("nDCG@10").RightAligned()).AddColumn(new TableColumn("MRR@10").RightAligned())
            .AddColumn(new TableColumn("R@10").RightAligned()).AddColumn(new TableColumn("R@100").RightAligned())
            .AddColumn(new TableColumn("pairs/s").RightAligned());
        table.AddRow(["candidates (before)", F(before.Ndcg10), F(before.Mrr10), F(before.Recall10), F(before.Recall100), ""]);
        foreach (var c in configurations)
            table.AddRow([$"{c.Name} · max_length {c.MaxLength}", Delta(c.After.Ndcg10, before.Ndcg10), Delta(c.After.Mrr10, before.Mrr10),
                Delta(c.After.Recall10, before.Recall10), Delta(c.After.Recall100, before.Recall100), $"{c.Pairs / Math.Max(c.Elapsed.TotalSeconds, 1e-9):F1}"]);
        console.Write(table);
        if (comparisons.Count == 0) return;
        var agreement = new Table().Border(TableBorder.Rounded).Title($"agreement on the same candidates ({(raw ? "raw logits" : "sigmoid scores")})")
            .AddColumn("pair").AddColumn(new TableColumn("Spearman mean").RightAligned()).AddColumn(new TableColumn("worst").RightAligned())
            .AddColumn(new TableColumn("Kendall τ mean").RightAligned()).AddColumn(new TableColumn("worst").RightAligned())
            .AddColumn(new TableColumn("top-1 agree").RightAligned()).AddColumn(new TableColumn("max |Δscore|").RightAligned());
        foreach (var c in comparisons)
            agreement.AddRow([$"{c.A.Name} vs {c.B.Name} · max_length {c.A.MaxLength}", F(c.SpearmanMean), F(c.SpearmanWorst), F(c.KendallMean), F(c.KendallWorst),
                $"{c.TopOneAgreement * 100:F1}%", c.MaxScoreDifference.ToString("G4", CultureInfo.InvariantCulture)]);
        console.Write(agreement);
    }

    private static void PrintJson(ParseResult result, BeirDataset data, int queries, int topK, RerankOptions options, RankingMetrics before,
        List<Configuration> configurations, List<Comparison> comparisons)
    {
        var runs = new JsonArray();
        foreach (var c in configurations)
        {
            var item = Metrics(c.After);
            item["precision"] = c.Name;
            item["max_length"] = c.MaxLength;
            item["pairs"] = c.Pairs;
            item["seconds"] = Math.Round(c.Elapsed.TotalSeconds, 3);
            runs.Add(item);
        }
        var agreement = new JsonArray();
        foreach (var c in comparisons)
            agreement.Add(new JsonObject
            {
                ["a"] = c.A.Name,
                ["b"] = c.B.Name,
                ["max_length"] = c.A.MaxLength,
                ["queries_correlated"] = c.Correlated,
                ["spearman_mean"] = Number(c.SpearmanMean),
                ["spearman_worst"] = Number(c.SpearmanWorst),
                ["kendall_mean"] = Number(c.KendallMean),
                ["kendall_worst"] = Number(c.KendallWorst),
                ["top1_agreement"] = c.TopOneAgreement,
                ["max_score_difference"] = c.MaxScoreDifference,
            });
        var output = new JsonObject
        {
            ["dataset"] = result.GetValue(Dataset),
            ["qrels"] = data.QrelsPath,
            ["candidates"] = result.GetValue(Candidates),
            ["queries"] = queries,
            ["top_k"] = topK,
            ["long_documents"] = options.LongDocuments.ToString().ToLowerInvariant(),
            ["before"] = Metrics(before),
            ["runs"] = runs,
        };
        if (options.LongDocuments == LongDocumentMode.Chunk)
        {
            output["chunk_stride"] = options.ChunkStride;
            output["chunk_aggregation"] = options.ChunkAggregation.ToString().ToLowerInvariant();
        }
        if (comparisons.Count > 0) output["compare"] = agreement;
        Console.Out.WriteLine(JsonLines.Serialize(output));

        static JsonObject Metrics(RankingMetrics m) => new()
        {
            ["ndcg@10"] = m.Ndcg10,
            ["mrr@10"] = m.Mrr10,
            ["recall@10"] = m.Recall10,
            ["recall@100"] = m.Recall100,
        };
        // JSON has no NaN: an undefined correlation is null.
        static JsonNode? Number(double value) => double.IsNaN(value) ? null : JsonValue.Create(value);
    }

    private static string Describe(RerankOptions options) => options.LongDocuments == LongDocumentMode.Chunk
        ? $"chunk (stride {(options.ChunkStride?.ToString(CultureInfo.InvariantCulture) ?? "window/4")}, {options.ChunkAggregation.ToString().ToLowerInvariant()})"
        : "truncate";

    private static string F(double value) => double.IsNaN(value) ? "n/a" : value.ToString("F4", CultureInfo.InvariantCulture);

    private static string Delta(double after, double before)
    {
        var delta = after - before;
        var sign = delta >= 0 ? "+" : "−";
        return $"{F(after)} [grey]({sign}{Math.Abs(delta).ToString("F4", CultureInfo.InvariantCulture)})[/]";
    }

    private static List<Precision> ParsePrecisions(string list, string option) =>
        ParseList(list, option, s => Enum.TryParse<Precision>(s, ignoreCase: true, out var p) && Enum.IsDefined(p) && !int.TryParse(s, out _) ? p : (Precision?)null,
            $"one of {string.Join(", ", Enum.GetNames<Precision>().Select(n => n.ToLowerInvariant()))}").Distinct().ToList();

    private static List<T> ParseList<T>(string list, string option, Func<string, T?> parse, string what) where T : struct
    {
        var items = new List<T>();
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            items.Add(parse(part) ?? throw new RerankException(RerankErrorKind.InvalidInput, $"{option}: \"{part}\" is not {what}."));
        return items.Count > 0 ? items : throw new RerankException(RerankErrorKind.InvalidInput, $"{option} needs at least one value.");
    }
}
