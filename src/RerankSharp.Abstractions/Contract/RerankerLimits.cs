namespace RerankSharp.Scoring;

/// <summary>
/// The limits and runtime of an in-process reranker, for a server's <c>/info</c>: ask with
/// <c>reranker.GetService&lt;RerankerLimits&gt;()</c> (null for a remote reranker).
/// </summary>
/// <param name="MaxLength">Tokens per pair, special tokens included.</param>
/// <param name="MaxBatchTokens">Most padded tokens in one batch.</param>
/// <param name="BatchSize">Most pairs in one batch.</param>
/// <param name="MaxQueuedTokens">Tokens waiting in the queue beyond which new work is refused as overloaded.</param>
/// <param name="ExecutionProvider">The ONNX Runtime execution provider the model runs on.</param>
/// <param name="Dtype">The checkpoint's <c>torch_dtype</c> (float32 when it declares none).</param>
public sealed record RerankerLimits(int MaxLength, int MaxBatchTokens, int BatchSize, long MaxQueuedTokens, string ExecutionProvider, string Dtype);
