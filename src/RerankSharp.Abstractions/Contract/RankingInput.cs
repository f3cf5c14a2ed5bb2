namespace RerankSharp.Scoring;

/// <summary>
/// What a ranking call (one query and its documents) accepts, decided once so that the library, the <c>rerank</c> CLI,
/// the server's routes and remote rerankers answer the same input the same way:
/// <list type="bullet">
/// <item>an empty (or whitespace-only) query is refused: it ranks by nothing, and is nearly always an upstream bug
/// such as an unfilled form field;</item>
/// <item>an empty document list is a ranking of nothing, not an error: a filtered vector search may legitimately
/// return no candidates, and a pipeline should not need a special case for it;</item>
/// <item><c>TopN</c> is null (keep all) or at least 1; more than the documents keeps all. A zero is refused, because it
/// is nearly always an unset field and would silently return nothing.</item>
/// </list>
/// Failures are <see cref="RerankErrorKind.InvalidInput"/> (HTTP 400, CLI exit code 4).
/// </summary>
public static class RankingInput
{
    /// <summary>Throws <see cref="RerankException"/> (<see cref="RerankErrorKind.InvalidInput"/>) when the call breaks a rule above.</summary>
    public static void Check(string query, IReadOnlyList<string> documents, RerankOptions? options)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(documents);
        if (string.IsNullOrWhiteSpace(query))
            throw new RerankException(RerankErrorKind.InvalidInput,
                query.Length == 0 ? "The query is empty; give the text to rank the documents against."
                    : "The query is only whitespace; give the text to rank the documents against.");
        if (options?.TopN is < 1 and var topN)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"top_n must be at least 1 (or unset to keep every document); got {topN}.");
        for (var i = 0; i < documents.Count; i++)
            if (documents[i] is null)
                throw new RerankException(RerankErrorKind.InvalidInput, $"Document {i} is null; pass an empty string instead.");
    }
}
