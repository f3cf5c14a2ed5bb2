using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>Per-call settings; null fields take the reranker's defaults.</summary>
public sealed record RerankOptions
{
    /// <summary>Keep only the best <c>TopN</c> results (ranking calls).</summary>
    public int? TopN { get; init; }

    /// <summary>
    /// Raw logits instead of scores (sigmoid scores in [0, 1] unless <c>CrossEncoderOptions.Activation</c> chose
    /// another activation at load); it wins over that choice.
    /// </summary>
    public bool RawScores { get; init; }

    /// <summary>Overrides the reranker's truncation strategy for this call.</summary>
    public TruncationStrategy? Truncation { get; init; }

    /// <summary>
    /// Cut pairs longer than the max length (default). When false, such a pair fails the call with
    /// <see cref="RerankErrorKind.InvalidInput"/> instead of being scored on a part of its text.
    /// </summary>
    public bool Truncate { get; init; } = true;

    /// <summary>Which end a cut removes; the right (the end of the text) unless asked.</summary>
    public TruncationDirection TruncationDirection { get; init; } = TruncationDirection.Right;

    /// <summary>
    /// The task instruction of instruction-following rerankers (Qwen3-Reranker's <c>&lt;Instruct&gt;</c>; null = the model card's
    /// "Given a web search query, retrieve relevant passages that answer the query"). Cross-encoders without one ignore it.
    /// </summary>
    public string? Instruction { get; init; }

    /// <summary>Cap each document at this many tokens before the pair is built (Cohere's <c>max_tokens_per_doc</c>); null = no cap.</summary>
    public int? MaxDocumentTokens { get; init; }

    /// <summary>
    /// Listwise rerankers only (jina-reranker-v3): cut the query at this many tokens before the prompt is built, as the
    /// reference's <c>max_query_length</c> (null = its 512). Pointwise models cut the whole pair to the max length instead.
    /// </summary>
    public int? MaxQueryTokens { get; init; }

    /// <summary>Cut documents that do not fit (default, as the reference) or score them in overlapping windows.</summary>
    public LongDocumentMode LongDocuments { get; init; } = LongDocumentMode.Truncate;

    /// <summary>
    /// Chunking: document tokens each window shares with the one before (HF tokenizers' <c>stride</c>, the overlap);
    /// null = a quarter of the window. Must be less than the window (max length − 4 − the query's tokens).
    /// </summary>
    public int? ChunkStride { get; init; }

    /// <summary>Chunking: how window scores become the document's (best window by default).</summary>
    public WindowAggregation ChunkAggregation { get; init; } = WindowAggregation.Max;

    /// <summary>Also say which part of each document decided its score (<see cref="DocumentWindow"/>), with token and character offsets.</summary>
    public bool ReturnWindows { get; init; }
}
