namespace RerankSharp.Scoring;

/// <summary>
/// A reranker that can also say, per document, how many tokens the model read, whether the pair was cut and where the
/// time went (<see cref="DocumentScores"/>): what a server reports as usage, truncation flags and timing headers.
/// The in-process engine implements it; a remote reranker does not. Ask with <c>reranker as IDocumentScorer</c>
/// on the reranker itself, not through <see cref="IReranker.GetService"/>, so that middleware around it is not skipped.
/// </summary>
public interface IDocumentScorer
{
    /// <summary>Scores <paramref name="documents"/> against <paramref name="query"/> in input order, unranked.</summary>
    Task<DocumentScores> ScoreDocumentsAsync(string query, IReadOnlyList<string> documents, RerankOptions? options = null,
        CancellationToken cancellationToken = default);
}
