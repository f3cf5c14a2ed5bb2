using Microsoft.Extensions.Logging;
using RerankSharp.Inference;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>How a <see cref="CrossEncoder"/> is loaded and how it batches. Every setting has a working default.</summary>
public sealed record CrossEncoderOptions
{
    /// <summary>Where to run; CUDA is used only when the native runtime has it.</summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>Tokens per pair including the four special tokens; null = the model's own (8192 for bge-reranker-v2-m3). Larger values are clamped with a warning.</summary>
    public int? MaxLength { get; init; }

    /// <summary>Default truncation when a pair is longer than <see cref="MaxLength"/>: longest_first, as sentence-transformers' CrossEncoder.</summary>
    public TruncationStrategy Truncation { get; init; } = TruncationStrategy.LongestFirst;

    /// <summary>Most pairs in one inference batch (short pairs fill a batch's token budget up to this many).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Most padded tokens (rows × longest row) in one batch; a single longer pair still runs alone. Null (default) =
    /// <see cref="CpuBatchTokens"/> on the CPU, <see cref="GpuBatchTokens"/> on CUDA.
    /// </summary>
    /// <remarks>
    /// On the CPU small batches are faster per token: the activations of a 1,024-token batch stay in cache between the
    /// GEMMs and the LayerNorm/GELU/attention that read them, while a 4,096-token batch streams them from memory
    /// (bge-reranker-v2-m3, 2 cores: 50 pairs of 256 tokens 0–13 % faster in batches of 1,024 tokens than in batches
    /// of 16 pairs, and steady when the host's memory is busy; docs/benchmarks.md). A GPU needs large batches to be busy.
    /// </remarks>
    public int? MaxBatchTokens { get; init; }

    /// <summary>The CPU's default <see cref="MaxBatchTokens"/>: 1,024 (four 256-token pairs).</summary>
    public const int CpuBatchTokens = 1024;

    /// <summary>The CUDA provider's default <see cref="MaxBatchTokens"/>: 16,384, as text-embeddings-inference.</summary>
    public const int GpuBatchTokens = 16384;

    /// <summary><see cref="MaxBatchTokens"/> as it applies to a session on <paramref name="executionProvider"/>.</summary>
    internal int BatchTokensFor(string executionProvider) =>
        MaxBatchTokens ?? (executionProvider == EncoderSession.CudaProvider ? GpuBatchTokens : CpuBatchTokens);

    /// <summary>Most tokens waiting in the queue before new work is refused as overloaded (a request arriving at an empty queue is always taken).</summary>
    public long MaxQueuedTokens { get; init; } = 4_000_000;

    /// <summary>ONNX Runtime intra-op threads; null = one per physical core this process may use (hyper-threads add no GEMM throughput).</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Let ONNX Runtime re-lay the weight matrices for its GEMM kernels at load. Null (default) decides by precision,
    /// as measured on bge-reranker-v2-m3's shapes (docs/benchmarks.md): off for fp32, where it costs 5–9 s at load and
    /// changes a run by −5% to +7% at the default batching (without it the session is ready in 0.3 s and the weights stay
    /// file-backed, shared with the page cache); on for int8 and fp16, where the packed int8 kernels run 13–25% faster for ~1.3 s more at load.
    /// </summary>
    public bool? PrepackWeights { get; init; }

    /// <summary>
    /// Run one short pair through the model at load (default), so that the first request does not pay the one-time
    /// costs of the first run (page-ins of the mapped weights, the runtime's first allocations): about 0.5 s of load
    /// time on bge-reranker-v2-m3 on 2 cores, saved on the first request.
    /// </summary>
    public bool WarmUp { get; init; } = true;

    internal bool PrepackFor(Precision precision) => PrepackWeights ?? precision != Precision.Fp32;

    /// <summary>fp32 (default, the reference's scores), fp16 (for the CUDA provider: float16 weights and matrix arithmetic, float32 LayerNorms and head) or int8 (faster on CPU, approximate; quantized weights are cached in the model folder's .rerank-cache/).</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>Which matrices int8 quantizes and how it treats their activations; null = <see cref="Int8Recipe.Default"/>. Ignored unless <see cref="Precision"/> is int8.</summary>
    public Int8Recipe? Int8Recipe { get; init; }

    /// <summary>
    /// What turns a logit into the score: the sigmoid for every model (default, FlagEmbedding's <c>normalize=True</c>),
    /// the activation the folder declares for sentence-transformers' <c>CrossEncoder.predict</c> (<see cref="ActivationMode.Model"/>:
    /// <c>predict</c>'s numbers), or the logit itself. A call's <see cref="RerankOptions.RawScores"/> wins over it.
    /// </summary>
    public ActivationMode Activation { get; init; } = ActivationMode.Sigmoid;

    /// <summary>
    /// Decoder rerankers (Qwen3-Reranker, mxbai-rerank-v2, bge-reranker-v2-gemma): compute the prompt's head that a
    /// batch's rows share (system text, instruction, query) once and run each document's tokens against its cached keys
    /// and values (default), rather than the whole prompt per document. The scores are the same to float rounding;
    /// false is the cross-check. Encoders ignore it.
    /// </summary>
    public bool ReusePromptPrefix { get; init; } = true;

    /// <summary>Contrib-operator graph (default) or the plain-ONNX cross-check.</summary>
    public GraphForm GraphForm { get; init; } = GraphForm.Fused;

    /// <summary>
    /// Run this ONNX file of the model folder (relative to it, e.g. <c>onnx/model_quantized.onnx</c>, or a full path) instead of
    /// building the graph from the safetensors. Null: a folder without safetensors runs <c>onnx/model.onnx</c>
    /// (with <see cref="Precision.Int8"/>, its int8 variant), one with safetensors builds its own graph.
    /// </summary>
    public string? OnnxFile { get; init; }

    /// <summary>Write the built graph (weights stay external) to this path, for inspection in Netron.</summary>
    public string? SaveOnnxPath { get; init; }

    /// <summary>Where warnings (clamped max length, missing CUDA) go.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Benchmark seam: false builds the fused graph with ONNX Runtime's contrib SkipLayerNormalization instead of
    /// RerankSharp's CPU kernel (Inference/SkipLayerNormKernel), so the two can be timed side by side.
    /// </summary>
    internal bool OwnKernels { get; init; } = true;

    /// <summary>Test seam: runs each padded batch instead of the ONNX Runtime session, which is still loaded.</summary>
    internal Func<PaddedBatch, CancellationToken, float[]>? BatchRunner { get; init; }

    internal void Validate()
    {
        if (BatchSize < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"Batch size {BatchSize} must be at least 1.");
        if (MaxBatchTokens is < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"Max batch tokens {MaxBatchTokens} must be at least 1.");
        if (MaxLength is < 5) throw new RerankException(RerankErrorKind.InvalidInput, $"Max length {MaxLength} is too small: a pair needs 4 special tokens plus at least one token; use 5 or more.");
        if (Threads is < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"Threads {Threads} must be at least 1.");
        if (!Enum.IsDefined(Activation)) throw new RerankException(RerankErrorKind.InvalidInput, $"Activation {Activation} is not one of Sigmoid, Model and None.");
    }
}
