namespace RerankSharp.Scoring;

/// <summary>One inference batch that ran, as reported by <see cref="IBatchingStatistics.BatchCompleted"/>.</summary>
/// <param name="Rows">Pairs in the batch.</param>
/// <param name="PaddedLength">Tokens per row after padding (the longest pair of the batch).</param>
/// <param name="Callers">Distinct callers (library calls, HTTP requests) whose pairs shared the batch; above 1 when batching merged them.</param>
/// <param name="Tokens">Tokens of the pairs, padding not counted.</param>
/// <param name="Duration">Padding plus the encoder run.</param>
public sealed record BatchReport(int Rows, int PaddedLength, int Callers, long Tokens, TimeSpan Duration);
