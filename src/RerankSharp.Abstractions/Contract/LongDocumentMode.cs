namespace RerankSharp.Scoring;

/// <summary>What happens to a document whose pair with the query is longer than the max length.</summary>
public enum LongDocumentMode
{
    /// <summary>Cut the pair to the max length (the reference's behaviour): text past the cut is never seen.</summary>
    Truncate,

    /// <summary>
    /// Score the query against overlapping windows of the document's tokens, in the normal batches, and combine the
    /// window scores into one (<see cref="WindowAggregation"/>). Documents that fit are scored exactly as by
    /// <see cref="Truncate"/>. Time and memory grow linearly with the document's length.
    /// </summary>
    Chunk,
}
