using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RerankSharp.Inference;

namespace RerankSharp.Scoring;

/// <summary>A padded batch ready for the encoder: row-major ids and mask, <c>Rows × Tokens</c>.</summary>
internal sealed record PaddedBatch(long[] InputIds, long[] AttentionMask, int Rows, int Tokens);

/// <summary>One caller's results and how its time was spent.</summary>
/// <param name="Results">One result per sequence (a logit, or a listwise block's embeddings), input order.</param>
/// <param name="QueueTime">From enqueueing until the first batch holding one of its sequences started.</param>
/// <param name="InferenceTime">From that start until its last result was ready.</param>
internal sealed record QueuedResults<TRow>(TRow[] Results, TimeSpan QueueTime, TimeSpan InferenceTime);

/// <summary>
/// The queue in front of the encoder (DESIGN.md §1): callers enqueue token sequences and await
/// their own logits; one worker thread owns the session, forms batches from whatever is waiting
/// (across callers), pads each batch to its own longest row, and skips work whose caller has gone.
/// </summary>
/// <typeparam name="TRow">What the model gives per sequence: a logit (the cross-encoders and pointwise decoders), or a
/// listwise reranker's embeddings at the markers of one block.</typeparam>
internal sealed class BatchQueue<TRow> : IDisposable
{
    private readonly Func<PaddedBatch, CancellationToken, TRow[]> _run;
    private readonly int _batchSize;
    private readonly int _maxBatchTokens;
    private readonly long _maxQueuedTokens;
    private readonly int _padId;
    private readonly ILogger _logger;
    private readonly Action<BatchReport>? _onBatch;
    private readonly LinkedList<Item> _pending = new();   // arrival order
    private readonly object _lock = new();
    private readonly Thread _worker;
    private long _queuedTokens;
    private bool _stopping;

    public BatchQueue(Func<PaddedBatch, CancellationToken, TRow[]> run, int batchSize, int maxBatchTokens,
        long maxQueuedTokens, int padId, ILogger logger, Action<BatchReport>? onBatch = null)
    {
        _onBatch = onBatch;
        _run = run;
        _batchSize = batchSize;
        _maxBatchTokens = maxBatchTokens;
        _maxQueuedTokens = maxQueuedTokens;
        _padId = padId;
        _logger = logger;
        _worker = new Thread(WorkLoop) { IsBackground = true, Name = "RerankSharp encoder" };
        _worker.Start();
    }

    /// <summary>Batches run so far (for tests and metrics).</summary>
    public long BatchesRun => Interlocked.Read(ref _batchesRun);
    private long _batchesRun;
    private long _sequencesRun;
    private long _tokensRun;
    private long _paddedTokensRun;

    /// <summary>What is waiting now and what has run so far; a consistent snapshot of the waiting part.</summary>
    public QueueStatistics Statistics
    {
        get
        {
            int sequences;
            long tokens;
            lock (_lock)
            {
                sequences = _pending.Count;
                tokens = _queuedTokens;
            }
            return new QueueStatistics(sequences, tokens, _maxQueuedTokens, Interlocked.Read(ref _batchesRun),
                Interlocked.Read(ref _sequencesRun), Interlocked.Read(ref _tokensRun), Interlocked.Read(ref _paddedTokensRun));
        }
    }

    /// <summary>Queues the sequences and returns one result per sequence, in input order.</summary>
    public Task<TRow[]> EnqueueAsync(IReadOnlyList<int[]> sequences, CancellationToken cancellationToken)
    {
        // Not async itself, so that refusals (overloaded, disposed) are thrown to the caller at once.
        var queued = EnqueueTimedAsync(sequences, cancellationToken);
        return ResultsOf(queued);

        static async Task<TRow[]> ResultsOf(Task<QueuedResults<TRow>> queued) => (await queued.ConfigureAwait(false)).Results;
    }

    /// <inheritdoc cref="EnqueueAsync"/>
    /// <remarks>Also says how long the sequences waited and how long their inference took.</remarks>
    public Task<QueuedResults<TRow>> EnqueueTimedAsync(IReadOnlyList<int[]> sequences, CancellationToken cancellationToken)
    {
        if (sequences.Count == 0) return Task.FromResult(new QueuedResults<TRow>([], TimeSpan.Zero, TimeSpan.Zero));
        cancellationToken.ThrowIfCancellationRequested();
        var request = new Request(sequences.Count, cancellationToken);
        long tokens = 0;
        foreach (var s in sequences)
        {
            if (s.Length == 0) throw new RerankException(RerankErrorKind.Internal, "An empty token sequence reached the batch queue. This is a bug.");
            tokens += s.Length;
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            // Fail fast rather than grow without bound; a caller arriving at an empty queue is always
            // taken, so one large library call can never be refused.
            if (_pending.Count > 0 && _queuedTokens + tokens > _maxQueuedTokens)
                throw new RerankException(RerankErrorKind.Overloaded,
                    $"The rerank queue is full ({_queuedTokens} tokens waiting, limit {_maxQueuedTokens}); retry later.");
            for (var i = 0; i < sequences.Count; i++)
                request.Nodes[i] = _pending.AddLast(new Item(request, i, sequences[i]));
            _queuedTokens += tokens;
            Monitor.Pulse(_lock);
        }
        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.Register(() => Cancel(request));
            // The worker may have finished before the registration existed.
            if (request.Completion.Task.IsCompleted) request.Registration.Dispose();
        }
        return request.Completion.Task;
    }

    private void Cancel(Request request)
    {
        lock (_lock) RemovePending(request);
        request.Completion.TrySetCanceled(request.CancellationToken);
    }

    // Caller holds _lock.
    private void RemovePending(Request request)
    {
        foreach (var node in request.Nodes)
        {
            if (node?.List is null) continue;
            _queuedTokens -= node.Value.Sequence.Length;
            _pending.Remove(node);
        }
    }

    private void WorkLoop()
    {
        while (true)
        {
            List<Item> batch;
            lock (_lock)
            {
                while (_pending.Count == 0 && !_stopping) Monitor.Wait(_lock);
                if (_stopping) return;
                batch = TakeBatch();
            }
            RunBatch(batch);
        }
    }

    // A padded batch runs attention with a key mask, which ONNX Runtime's CPU kernel computes as full
    // [B, heads, T, T] scores; a batch of equal lengths (or one row) takes the flash kernel, linear in
    // T. So padded batches are held to B·T² ≤ 2²² (16 × 512, 4 × 1024, 1 × 2048: 256 MiB of scores at
    // 16 heads) and longer inputs batch only with inputs of their own length.
    internal const long MaxPaddedAttentionCells = 1L << 22;

    // Caller holds _lock. The oldest waiting sequence always goes in, so nothing starves; the rest
    // of the batch is filled from a window of the next waiting sequences, nearest in length first,
    // so little compute is spent on padding.
    private List<Item> TakeBatch()
    {
        var window = new List<Item>(_batchSize * 4);
        for (var node = _pending.First; node is not null && window.Count < _batchSize * 4; node = node.Next)
            window.Add(node.Value);
        var seed = window[0];
        var batch = new List<Item>(_batchSize) { seed };
        var longest = seed.Sequence.Length;
        var uniform = true;
        foreach (var candidate in window.Skip(1).OrderBy(c => Math.Abs(c.Sequence.Length - seed.Sequence.Length)))
        {
            if (batch.Count == _batchSize) break;
            var rows = batch.Count + 1L;
            var width = Math.Max(longest, candidate.Sequence.Length);
            if (width * rows > _maxBatchTokens) continue;
            var stillUniform = uniform && candidate.Sequence.Length == longest;
            if (!stillUniform && rows * width * width > MaxPaddedAttentionCells) continue;
            batch.Add(candidate);
            longest = width;
            uniform = stillUniform;
        }
        foreach (var item in batch)
        {
            _pending.Remove(item.Request.Nodes[item.Index]!);
            _queuedTokens -= item.Sequence.Length;
        }
        return batch;
    }

    private void RunBatch(List<Item> batch)
    {
        var requests = batch.Select(i => i.Request).Distinct().ToList();
        var started = Stopwatch.GetTimestamp();
        // The batch is worth finishing while any of its callers still waits; when all have
        // cancelled, the running inference is terminated.
        using var allCancelled = new CancellationTokenSource();
        var waiting = requests.Count;
        var registrations = requests.Select(r => r.CancellationToken.Register(() =>
        {
            if (Interlocked.Decrement(ref waiting) == 0) allCancelled.Cancel();
        })).ToList();
        try
        {
            if (requests.All(r => r.Completion.Task.IsCompleted)) return;
            foreach (var r in requests) r.MarkStarted(started);
            var padded = Pad(batch);
            TRow[] logits;
            // With several models sharing the cores, batches of all of them run one at a time, first come first served.
            using (SharedThreadPool.Take())
                logits = _run(padded, allCancelled.Token);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var tokens = batch.Sum(i => (long)i.Sequence.Length);
            Interlocked.Increment(ref _batchesRun);
            Interlocked.Add(ref _sequencesRun, batch.Count);
            Interlocked.Add(ref _tokensRun, tokens);
            Interlocked.Add(ref _paddedTokensRun, (long)padded.Rows * padded.Tokens);
            Report(new BatchReport(padded.Rows, padded.Tokens, requests.Count, tokens, elapsed));
            for (var i = 0; i < batch.Count; i++)
                batch[i].Request.SetResult(batch[i].Index, logits[i]);
        }
        catch (OperationCanceledException)
        {
            foreach (var r in requests) r.Completion.TrySetCanceled(r.CancellationToken);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Inference failed on a batch of {Rows} sequences.", batch.Count);
            lock (_lock)
                foreach (var r in requests) RemovePending(r);
            var error = e as RerankException ?? new RerankException(RerankErrorKind.Backend, $"Inference failed: {e.Message}", e);
            foreach (var r in requests) r.Completion.TrySetException(error);
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
        }
    }

    // A metrics sink that throws must not take the worker (and every caller) down with it.
    private void Report(BatchReport report)
    {
        if (_onBatch is null) return;
        try
        {
            _onBatch(report);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A batch observer failed; the batch itself succeeded.");
        }
    }

    private PaddedBatch Pad(List<Item> batch)
    {
        var tokens = batch.Max(i => i.Sequence.Length);
        var ids = new long[batch.Count * tokens];
        var mask = new long[batch.Count * tokens];
        Array.Fill(ids, _padId);
        for (var row = 0; row < batch.Count; row++)
        {
            var sequence = batch[row].Sequence;
            var offset = row * tokens;
            for (var t = 0; t < sequence.Length; t++)
            {
                ids[offset + t] = sequence[t];
                mask[offset + t] = 1;
            }
        }
        return new PaddedBatch(ids, mask, batch.Count, tokens);
    }

    public void Dispose()
    {
        List<Request> abandoned;
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            abandoned = _pending.Select(i => i.Request).Distinct().ToList();
            _pending.Clear();
            _queuedTokens = 0;
            Monitor.PulseAll(_lock);
        }
        foreach (var r in abandoned)
            r.Completion.TrySetException(new ObjectDisposedException(nameof(CrossEncoder), "The reranker was disposed before this request ran."));
        _worker.Join();
    }

    private sealed record Item(Request Request, int Index, int[] Sequence);

    private sealed class Request(int count, CancellationToken cancellationToken)
    {
        private readonly TRow[] _results = new TRow[count];
        private readonly long _enqueued = Stopwatch.GetTimestamp();
        private long _started;
        private int _remaining = count;

        public CancellationToken CancellationToken { get; } = cancellationToken;
        public LinkedListNode<Item>?[] Nodes { get; } = new LinkedListNode<Item>?[count];
        public TaskCompletionSource<QueuedResults<TRow>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Called by the worker for every batch that holds this request; the first one counts.</summary>
        public void MarkStarted(long timestamp) => Interlocked.CompareExchange(ref _started, timestamp, 0);

        public void SetResult(int index, TRow result)
        {
            _results[index] = result;
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                Registration.Dispose();
                var started = Interlocked.Read(ref _started);
                Completion.TrySetResult(new QueuedResults<TRow>(_results, Stopwatch.GetElapsedTime(_enqueued, started), Stopwatch.GetElapsedTime(started)));
            }
        }
    }
}
