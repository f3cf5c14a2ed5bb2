using Microsoft.ML.OnnxRuntime;

namespace RerankSharp.Inference;

/// <summary>
/// One ONNX Runtime intra-op thread pool for every model in the process, and turns between their batches: what a
/// server of several models needs so that the models share the machine's cores instead of oversubscribing them.
/// </summary>
/// <remarks>
/// <para>Each ONNX Runtime session has its own intra-op pool by default, one thread per core: three models are three
/// pools, and when their batches run at once 3× the cores' threads compete for the cores. With the shared pool every
/// session runs on ONNX Runtime's global pool (<c>OrtThreadingOptions</c> on the environment, and
/// <c>DisablePerSessionThreads</c> on each session), and the batching workers of all models are admitted first come
/// first served, two batches at once by default (<see cref="BatchTurns"/>): a short batch of one model starts beside a
/// long batch of another and shares the pool with it, instead of waiting for the whole of it, and a third batch waits
/// for one of the two. With one at a time, a long request to one model delays a short one to another by exactly one
/// batch, which on 2 cores is 45 s for 1 × 8192 tokens of bge-reranker-v2-m3.</para>
/// <para>The global pool belongs to ONNX Runtime's process-wide environment, which is made once: <see cref="Enable"/>
/// must run before the first model is loaded in the process.</para>
/// </remarks>
public static class SharedThreadPool
{
    private static readonly object Gate = new();
    private static BatchTurns? _turns;

    /// <summary>Whether sessions run on the shared pool and batches take turns.</summary>
    public static bool Enabled { get; private set; }

    /// <summary>Threads of the shared pool, when enabled.</summary>
    public static int Threads { get; private set; }

    /// <summary>Batches (of different models) that run on the pool at once, when enabled.</summary>
    public static int BatchesAtOnce => _turns?.Capacity ?? 0;

    /// <summary>
    /// Makes ONNX Runtime's environment with a global intra-op pool of <paramref name="threads"/> threads (null: one per
    /// physical core this process may use), used by every session created after. Calling it again with the pool made
    /// does nothing. <paramref name="batchesAtOnce"/>: batches that may run on the pool at once (2, the default: a
    /// short batch starts beside a long one; 1: strict turns, each batch alone on the pool).
    /// </summary>
    /// <exception cref="RerankException">A model was loaded before: the environment exists without the pool.</exception>
    public static void Enable(int? threads = null, int batchesAtOnce = 2)
    {
        lock (Gate)
        {
            if (Enabled) return;
            if (OrtEnv.IsCreated)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    "The shared thread pool must be enabled before the first model is loaded in this process (ONNX Runtime's environment is made once); call SharedThreadPool.Enable first.");
            var count = threads ?? CpuTopology.DefaultThreads();
            if (count < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"Threads {count} must be at least 1.");
            if (batchesAtOnce < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"Batches at once {batchesAtOnce} must be at least 1.");
            using var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = count,
                GlobalInterOpNumThreads = 1,
                // As the per-session pools (EncoderSession): spinning after each run buys ≤ 5 % and takes CPU from tokenization.
                GlobalSpinControl = false,
            };
            var environment = new EnvironmentCreationOptions
            {
                threadOptions = threading,
                logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
                logId = "RerankSharp",
            };
            OrtEnv.CreateInstanceWithOptions(ref environment);
            Threads = count;
            _turns = new BatchTurns(batchesAtOnce);
            Enabled = true;
        }
    }

    /// <summary>
    /// Waits for this batch's turn and a place on the pool, and holds it until disposed; a no-op when the pool is not
    /// shared (one model's worker is the only one running its session, and separate pools were asked for).
    /// </summary>
    internal static BatchTurns.Turn Take() => _turns?.Take() ?? default;
}
