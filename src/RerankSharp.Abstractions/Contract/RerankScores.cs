namespace RerankSharp.Scoring;

/// <summary>
/// The two steps every reranker shares after the model: a logit becomes a score, and scores become a ranking. Written
/// once, so that the engine, a remote reranker that gets logits and the score cache agree to the bit.
/// </summary>
public static class RerankScores
{
    /// <summary>
    /// 1 / (1 + e^−logit), computed in double and rounded once: FlagEmbedding's <c>normalize=True</c> and
    /// sentence-transformers' default activation for one label.
    /// </summary>
    public static float Sigmoid(float logit) => (float)(1.0 / (1.0 + Math.Exp(-(double)logit)));

    /// <summary>
    /// Sorts by score, best first; equal scores keep input order; <paramref name="topN"/> null keeps all. Each result
    /// carries its document's entry of <paramref name="windows"/> when given.
    /// </summary>
    public static IReadOnlyList<RerankResult> Rank(IReadOnlyList<float> scores, IReadOnlyList<string> documents, int? topN = null,
        IReadOnlyList<DocumentWindow>? windows = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(documents);
        return Enumerable.Range(0, scores.Count)
            .OrderByDescending(i => scores[i])   // OrderBy is stable: ties stay in input order
            .Take(topN ?? scores.Count)
            .Select(i => new RerankResult(i, scores[i], documents[i]) { Window = windows?[i] })
            .ToList();
    }
}
