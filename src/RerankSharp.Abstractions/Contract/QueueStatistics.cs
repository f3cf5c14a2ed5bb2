namespace RerankSharp.Scoring;

/// <summary>
/// A snapshot of the batching queue of a <c>CrossEncoder</c>: what waits now, and running totals since load.
/// Read it for metrics (queue depth, queued tokens, tokens processed) or to estimate when a full queue will drain.
/// </summary>
/// <param name="QueuedSequences">Pairs waiting for a batch.</param>
/// <param name="QueuedTokens">Tokens of the waiting pairs.</param>
/// <param name="MaxQueuedTokens">The limit above which new work is refused as overloaded.</param>
/// <param name="BatchesRun">Inference batches run since load.</param>
/// <param name="SequencesRun">Pairs scored since load.</param>
/// <param name="TokensRun">Tokens of the pairs scored since load (padding not counted).</param>
/// <param name="PaddedTokensRun">Rows × padded length of every batch since load: what the encoder actually computed.</param>
public sealed record QueueStatistics(int QueuedSequences, long QueuedTokens, long MaxQueuedTokens, long BatchesRun,
    long SequencesRun, long TokensRun, long PaddedTokensRun);
