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
/// <c>DisablePerSessionThreads</c> on each session), and the batching workers of all models take turns, first come
/// first served: a batch of one model waits at most for the batch of another model that is running, so a long
/// request to one model delays a short one to another by at most one batch.</para>
/// <para>The global pool belongs to ONNX Runtime's process-wide environment, which is made once: <see cref="Enable"/>
/// must run before the first model is loaded in the process.</para>
/// </remarks>
public static class SharedThreadPool
{
    private static readonly object Gate = new();
    private static long _nextTicket;
    private static long _serving;

    /// <summary>Whether sessions run on the shared pool and batches take turns.</summary>
    public static bool Enabled { get; private set; }

    /// <summary>Threads of the shared pool, when enabled.</summary>
    public static int Threads { get; private set; }

    /// <summary>
    /// Makes ONNX Runtime's environment with a global intra-op pool of <paramref name="threads"/> threads (null: one per
    /// physical core this process may use), used by every session created after. Calling it again with the pool made
    /// does nothing.
    /// </summary>
    /// <exception cref="RerankException">A model was loaded before: the environment exists without the pool.</exception>
    public static void Enable(int? threads = null)
    {
        lock (Gate)
        {
            if (Enabled) return;
            if (OrtEnv.IsCreated)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    "The shared thread pool must be enabled before the first model is loaded in this process (ONNX Runtime's environment is made once); call SharedThreadPool.Enable first.");
            var count = threads ?? CpuTopology.DefaultThreads();
            if (count < 1) throw new RerankException(RerankErrorKind.InvalidInput, $"Threads {count} must be at least 1.");
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
            Enabled = true;
        }
    }

    /// <summary>
    /// Waits for this batch's turn and holds it until disposed; a no-op when the pool is not shared (one model's worker
    /// is the only one running its session, and separate pools were asked for).
    /// </summary>
    internal static Turn Take()
    {
        if (!Enabled) return default;
        lock (Gate)
        {
            var ticket = _nextTicket++;
            while (ticket != _serving) Monitor.Wait(Gate);
        }
        return new Turn(true);
    }

    internal readonly struct Turn(bool held) : IDisposable
    {
        public void Dispose()
        {
            if (!held) return;
            lock (Gate)
            {
                _serving++;
                Monitor.PulseAll(Gate);
            }
        }
    }
}
