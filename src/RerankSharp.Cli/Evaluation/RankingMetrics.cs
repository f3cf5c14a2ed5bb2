namespace RerankSharp.Cli.Evaluation;

/// <summary>nDCG@k, MRR@k and Recall@k of one ranked list, as trec_eval (and so pytrec_eval and BEIR) computes them.</summary>
/// <param name="Ndcg10">nDCG@10.</param>
/// <param name="Mrr10">MRR@10: 1 / rank of the first relevant document within the top 10, else 0.</param>
/// <param name="Recall10">Relevant documents in the top 10 over all relevant documents.</param>
/// <param name="Recall100">The same in the top 100.</param>
internal sealed record RankingMetrics(double Ndcg10, double Mrr10, double Recall10, double Recall100)
{
    public static RankingMetrics Of(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgements) =>
        new(Ndcg(ranked, judgements, 10), ReciprocalRank(ranked, judgements, 10), Recall(ranked, judgements, 10), Recall(ranked, judgements, 100));

    /// <summary>The mean of each metric over queries (zeros for none).</summary>
    public static RankingMetrics Mean(IReadOnlyCollection<RankingMetrics> perQuery) => perQuery.Count == 0
        ? new RankingMetrics(0, 0, 0, 0)
        : new RankingMetrics(perQuery.Average(m => m.Ndcg10), perQuery.Average(m => m.Mrr10), perQuery.Average(m => m.Recall10), perQuery.Average(m => m.Recall100));

    /// <summary>
    /// trec_eval's <c>ndcg_cut</c>: gain = the judgement grade (linear, not 2^grade − 1), discount log2(rank + 1),
    /// normalised by the ideal ordering of all positively judged documents, retrieved or not; 0 when there are none.
    /// </summary>
    public static double Ndcg(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        var dcg = 0.0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgements.TryGetValue(ranked[i], out var grade) && grade > 0)
                dcg += grade / Math.Log2(i + 2);
        var ideal = 0.0;
        var i2 = 0;
        foreach (var grade in judgements.Values.Where(g => g > 0).OrderDescending().Take(k))
            ideal += grade / Math.Log2(i2++ + 2);
        return ideal > 0 ? dcg / ideal : 0;
    }

    /// <summary>trec_eval's <c>recip_rank</c> over the top <paramref name="k"/>: relevant means grade ≥ 1.</summary>
    public static double ReciprocalRank(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgements.TryGetValue(ranked[i], out var grade) && grade >= 1)
                return 1.0 / (i + 1);
        return 0;
    }

    /// <summary>trec_eval's <c>recall_k</c>: 0 for a query with no relevant document.</summary>
    public static double Recall(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        var relevant = judgements.Values.Count(g => g >= 1);
        if (relevant == 0) return 0;
        var found = 0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgements.TryGetValue(ranked[i], out var grade) && grade >= 1)
                found++;
        return (double)found / relevant;
    }
}
