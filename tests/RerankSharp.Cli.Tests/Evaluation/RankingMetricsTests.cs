using System.Globalization;
using RerankSharp.Cli.Evaluation;
using RerankSharp.Tests;
using Xunit.Abstractions;

namespace RerankSharp.Cli.Tests.Evaluation;

public class RankingMetricsTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, int> Judged = new() { ["d1"] = 0, ["d2"] = 2, ["d4"] = 1, ["d5"] = 1 };
    private static readonly string[] Ranked = ["d1", "d2", "d3", "d4"];

    [Fact]
    public void Ndcg_uses_linear_gains_and_the_ideal_order_of_every_judged_relevant_document()
    {
        // DCG = 2/log2(3) + 1/log2(5); IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) (d5 counts though never retrieved).
        Assert.Equal(0.5405858, RankingMetrics.Ndcg(Ranked, Judged, 10), 6);
        // Cut at 2: DCG = 2/log2(3); IDCG = 2 + 1/log2(3).
        Assert.Equal(0.4796249, RankingMetrics.Ndcg(Ranked, Judged, 2), 6);
    }

    [Fact]
    public void Mrr_is_the_reciprocal_rank_of_the_first_relevant_document_within_the_cut()
    {
        Assert.Equal(0.5, RankingMetrics.ReciprocalRank(Ranked, Judged, 10));
        Assert.Equal(0.0, RankingMetrics.ReciprocalRank(Ranked, Judged, 1));   // d1 is judged, but not relevant
    }

    [Fact]
    public void Recall_counts_relevant_documents_found_over_all_relevant_ones()
    {
        Assert.Equal(2.0 / 3, RankingMetrics.Recall(Ranked, Judged, 10), 12);
        Assert.Equal(1.0 / 3, RankingMetrics.Recall(Ranked, Judged, 2), 12);
    }

    [Fact]
    public void A_query_with_no_relevant_document_scores_zero_everywhere()
    {
        var none = new Dictionary<string, int> { ["d1"] = 0, ["d3"] = 0 };
        Assert.Equal(new RankingMetrics(0, 0, 0, 0), RankingMetrics.Of(Ranked, none));
    }

    [Fact]
    public void Tied_candidates_are_ranked_as_trec_eval_ranks_them_so_ties_can_move_a_metric()
    {
        // d2 (relevant) and d9 tie at 3.0; trec_eval puts the larger id first: d9 before d2.
        var order = TrecRun.Order([("d2", 3.0), ("d1", 5.0), ("d9", 3.0)]);
        Assert.Equal(["d1", "d9", "d2"], order);
        Assert.Equal(1.0 / 3, RankingMetrics.ReciprocalRank(order, Judged, 10));
    }

    public static TheoryData<string> Runs => new() { "bm25.run", "noisy.run" };

    [Theory]
    [MemberData(nameof(Runs))]
    public void Every_query_and_the_mean_match_trec_eval_on_the_synthetic_runs(string runName)
    {
        var folder = Path.Combine(FixturePaths.Fixtures, "beir-synthetic");
        var data = BeirDataset.Load(folder, null);
        var run = TrecRun.Load(Path.Combine(folder, runName));
        var golden = File.ReadLines(Path.Combine(folder, "trec_eval.tsv"))
            .Where(l => !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Where(f => f[0] == runName)
            .ToDictionary(f => (f[1], f[2]), f => double.Parse(f[3], CultureInfo.InvariantCulture));
        var queries = data.Qrels.Keys.Where(run.ContainsKey).ToList();
        var perQuery = queries.ToDictionary(q => q, q => RankingMetrics.Of(run[q], data.Qrels[q]));
        var mean = RankingMetrics.Mean(perQuery.Values);

        var checkedValues = 0;
        foreach (var ((measure, query), expected) in golden)
        {
            var m = query == "all" ? mean : perQuery[query];
            var actual = measure switch
            {
                "ndcg_cut_10" => m.Ndcg10,
                "recip_rank_10" => m.Mrr10,
                "recall_10" => m.Recall10,
                "recall_100" => m.Recall100,
                _ => throw new InvalidOperationException($"unexpected measure {measure}"),
            };
            // trec_eval prints 4 decimals.
            Assert.True(Math.Abs(actual - expected) <= 5e-5, $"{runName} {measure} {query}: trec_eval {expected}, ours {actual:F6}");
            checkedValues++;
        }
        output.WriteLine($"{runName}: {checkedValues} values match trec_eval over {queries.Count} queries");
        Assert.Equal((queries.Count + 1) * 4, checkedValues);
        Assert.Contains("q13", queries);   // judged, none relevant: counted, as trec_eval counts it
        Assert.DoesNotContain("q14", queries);   // not judged: not evaluated
    }
}
