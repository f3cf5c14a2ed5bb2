namespace RerankSharp.Inference;

/// <summary>
/// First come, first served admission of batches to a shared thread pool, at most <see cref="Capacity"/> at once: a
/// batch waits for its turn (every batch that asked before it has started) and for a free place.
/// </summary>
/// <remarks>
/// One at a time makes a short batch of one model wait for the whole of a long batch of another: 45 s behind a
/// 1 × 8192-token batch of bge-reranker-v2-m3 on 2 cores. With two at once, the second batch starts at once and shares
/// the pool's threads with the first (ONNX Runtime's global pool serves concurrent runs, each caller working on its own
/// run), so it takes a few times its time alone instead; a third waits. docs/benchmarks.md, "Two models in one server".
/// </remarks>
internal sealed class BatchTurns(int capacity)
{
    private readonly object _gate = new();
    private long _nextTicket;
    private long _nextAdmitted;
    private int _running;

    /// <summary>Batches that may run at once.</summary>
    public int Capacity { get; } = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "At least 1.");

    /// <summary>Batches running now.</summary>
    public int Running
    {
        get { lock (_gate) return _running; }
    }

    /// <summary>Batches waiting for their turn or a place.</summary>
    public long Waiting
    {
        get { lock (_gate) return _nextTicket - _nextAdmitted; }
    }

    /// <summary>Waits for this batch's turn and a free place, and holds the place until disposed.</summary>
    public Turn Take()
    {
        lock (_gate)
        {
            var ticket = _nextTicket++;
            while (ticket != _nextAdmitted || _running >= Capacity) Monitor.Wait(_gate);
            _nextAdmitted++;
            _running++;
            // The next ticket may be admitted too, if a place is left.
            Monitor.PulseAll(_gate);
        }
        return new Turn(this);
    }

    private void Release()
    {
        lock (_gate)
        {
            _running--;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>A held place; disposing it frees the place for the next batch.</summary>
    internal readonly struct Turn(BatchTurns? turns) : IDisposable
    {
        public void Dispose() => turns?.Release();
    }
}
