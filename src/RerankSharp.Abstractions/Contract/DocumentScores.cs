namespace RerankSharp.Scoring;

/// <summary>
/// Scores of documents against one query in input order, with what a server reports beside them: the tokens each
/// pair took, whether it was cut, and where the time went.
/// </summary>
/// <param name="Scores">Sigmoid scores, or raw logits when asked; one per document, input order.</param>
/// <param name="Tokens">Tokens of each pair as the model saw it, special tokens included (all windows of a chunked document).</param>
/// <param name="Truncated">Whether each pair was cut to fit the max length (or the per-call document cap).</param>
/// <param name="TokenizationTime">Turning text into ids.</param>
/// <param name="QueueTime">Waiting for the first batch that held one of these pairs.</param>
/// <param name="InferenceTime">From that batch's start until the last score was ready.</param>
public sealed record DocumentScores(float[] Scores, int[] Tokens, bool[] Truncated, TimeSpan TokenizationTime,
    TimeSpan QueueTime, TimeSpan InferenceTime)
{
    /// <summary>Sum of <see cref="Tokens"/>: the usage a server bills or reports.</summary>
    public long TotalTokens => Tokens.Sum(t => (long)t);

    /// <summary>Per document, the part that decided its score; only when <see cref="RerankOptions.ReturnWindows"/> asked.</summary>
    public DocumentWindow[]? Windows { get; init; }
}
