using Microsoft.Extensions.Logging.Abstractions;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class BatchQueueTests
{
    // The fake encoder's logit for a row is a function of its ids, so any mix-up of rows shows.
    private static float FakeLogit(ReadOnlySpan<long> row) { float s = 0; foreach (var id in row) s += id; return s; }

    private sealed class FakeEncoder
    {
        public List<PaddedBatch> Batches { get; } = [];
        public Func<PaddedBatch, CancellationToken, float[]>? OnRun { get; set; }

        public float[] Run(PaddedBatch batch, CancellationToken ct)
        {
            lock (Batches) Batches.Add(batch);
            if (OnRun is not null) return OnRun(batch, ct);
            var logits = new float[batch.Rows];
            for (var r = 0; r < batch.Rows; r++)
                logits[r] = FakeLogit(batch.InputIds.AsSpan(r * batch.Tokens, batch.Tokens));
            return logits;
        }
    }

    private static BatchQueue<float> Queue(FakeEncoder fake, int batchSize = 4, int maxBatchTokens = 1000, long maxQueued = 1_000_000) =>
        new(fake.Run, batchSize, maxBatchTokens, maxQueued, padId: 0, NullLogger.Instance);

    private static int[] Seq(int length, int value) => Enumerable.Repeat(value, length).ToArray();

    [Fact]
    public async Task Results_come_back_in_input_order_across_batches()
    {
        var fake = new FakeEncoder();
        using var queue = Queue(fake, batchSize: 3);
        var sequences = Enumerable.Range(1, 10).Select(i => Seq(1 + i % 4, i)).ToList();

        var logits = await queue.EnqueueAsync(sequences, CancellationToken.None);

        Assert.Equal(sequences.Select(s => (float)s.Sum()), logits);
        Assert.All(fake.Batches, b => Assert.True(b.Rows <= 3));
    }

    [Fact]
    public async Task Batches_are_padded_to_their_own_longest_row_with_a_zero_mask()
    {
        var fake = new FakeEncoder();
        using var queue = Queue(fake, batchSize: 8);

        await queue.EnqueueAsync([Seq(2, 5), Seq(4, 6)], CancellationToken.None);

        var batch = Assert.Single(fake.Batches);
        Assert.Equal(4, batch.Tokens);
        var shortRow = Array.FindIndex(Enumerable.Range(0, 2).ToArray(), r => batch.InputIds[r * 4] == 5);
        Assert.Equal(new long[] { 1, 1, 0, 0 }, batch.AttentionMask.AsSpan(shortRow * 4, 4).ToArray());
        Assert.Equal(new long[] { 5, 5, 0, 0 }, batch.InputIds.AsSpan(shortRow * 4, 4).ToArray());
    }

    [Fact]
    public async Task Token_budget_limits_rows_times_longest_but_a_long_sequence_still_runs_alone()
    {
        var fake = new FakeEncoder();
        using var queue = Queue(fake, batchSize: 16, maxBatchTokens: 20);

        await queue.EnqueueAsync([Seq(50, 1), Seq(10, 2), Seq(10, 3), Seq(10, 4)], CancellationToken.None);

        Assert.All(fake.Batches, b => Assert.True(b.Rows == 1 || b.Rows * b.Tokens <= 20, $"{b.Rows}×{b.Tokens}"));
        Assert.Contains(fake.Batches, b => b.Tokens == 50 && b.Rows == 1);
        Assert.Equal(4, fake.Batches.Sum(b => b.Rows));
    }

    [Fact]
    public async Task Long_rows_batch_only_with_rows_of_their_own_length_so_padded_attention_stays_bounded()
    {
        var fake = new FakeEncoder();
        using var queue = Queue(fake, batchSize: 8, maxBatchTokens: 1 << 20);

        // 2048-token rows: two of equal length may share a (mask-free) batch; a 2047-token row
        // would pad the pair and make B·T² = 2 · 2048² > 2²², so it runs on its own.
        var logits = await queue.EnqueueAsync([Seq(2048, 1), Seq(2048, 2), Seq(2047, 3)], CancellationToken.None);

        Assert.Equal([2048f, 4096f, 6141f], logits);
        Assert.All(fake.Batches, b =>
        {
            var padded = b.AttentionMask.Any(m => m == 0);
            Assert.True(!padded || (long)b.Rows * b.Tokens * b.Tokens <= BatchQueue<float>.MaxPaddedAttentionCells, $"{b.Rows} × {b.Tokens} padded");
        });
        Assert.Contains(fake.Batches, b => b.Rows == 2 && b.Tokens == 2048);
    }

    [Fact]
    public async Task Short_rows_of_different_lengths_still_share_a_padded_batch()
    {
        var fake = new FakeEncoder();
        using var queue = Queue(fake, batchSize: 16, maxBatchTokens: 16384);

        await queue.EnqueueAsync(Enumerable.Range(0, 16).Select(i => Seq(497 + i, 1)).ToList(), CancellationToken.None);

        Assert.Equal(16, Assert.Single(fake.Batches).Rows);   // 16 × 512² = 2²²: the default batch of 512-token pairs
    }

    [Fact]
    public async Task Concurrent_callers_share_batches_and_each_gets_its_own_results()
    {
        var fake = new FakeEncoder();
        using var gate = new ManualResetEventSlim(false);
        var first = true;
        fake.OnRun = (batch, ct) =>
        {
            // Hold the first batch until every caller has queued, so the next batch mixes callers.
            if (first) { first = false; gate.Wait(TimeSpan.FromSeconds(10)); }
            return Enumerable.Range(0, batch.Rows).Select(r => FakeLogit(batch.InputIds.AsSpan(r * batch.Tokens, batch.Tokens))).ToArray();
        };
        using var queue = Queue(fake, batchSize: 8);

        var blocker = queue.EnqueueAsync([Seq(3, 99)], CancellationToken.None);
        var callers = Enumerable.Range(1, 6).Select(c => queue.EnqueueAsync([Seq(3, c), Seq(2, c * 10)], CancellationToken.None)).ToList();
        gate.Set();
        var results = await Task.WhenAll(callers);
        await blocker;

        for (var c = 1; c <= 6; c++) Assert.Equal(new float[] { 3 * c, 2 * c * 10 }, results[c - 1]);
        Assert.True(fake.Batches.Count < 7, $"expected callers to share batches, got {fake.Batches.Count} batches");
    }

    [Fact]
    public async Task A_cancelled_caller_is_dropped_before_its_pairs_cost_compute()
    {
        var fake = new FakeEncoder();
        using var gate = new ManualResetEventSlim(false);
        fake.OnRun = (batch, ct) => { gate.Wait(TimeSpan.FromSeconds(10)); return new float[batch.Rows]; };
        using var queue = Queue(fake, batchSize: 1);
        using var cts = new CancellationTokenSource();

        var running = queue.EnqueueAsync([Seq(2, 1)], CancellationToken.None);
        var cancelled = queue.EnqueueAsync([Seq(2, 7), Seq(2, 7)], cts.Token);
        cts.Cancel();
        gate.Set();
        await running;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.DoesNotContain(fake.Batches, b => b.InputIds.Contains(7));
    }

    [Fact]
    public async Task The_cancellation_token_reaches_the_backend_when_all_callers_of_a_batch_cancel()
    {
        var fake = new FakeEncoder();
        using var started = new ManualResetEventSlim(false);
        var sawCancellation = false;
        fake.OnRun = (batch, ct) =>
        {
            started.Set();
            sawCancellation = ct.WaitHandle.WaitOne(TimeSpan.FromSeconds(10));
            ct.ThrowIfCancellationRequested();
            return new float[batch.Rows];
        };
        using var queue = Queue(fake);
        using var cts = new CancellationTokenSource();

        var task = queue.EnqueueAsync([Seq(4, 1)], cts.Token);
        started.Wait(TimeSpan.FromSeconds(10));
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        await WaitUntil(() => Volatile.Read(ref sawCancellation));
    }

    [Fact]
    public async Task A_full_queue_refuses_new_work_as_overloaded()
    {
        var fake = new FakeEncoder();
        using var gate = new ManualResetEventSlim(false);
        fake.OnRun = (batch, ct) => { gate.Wait(TimeSpan.FromSeconds(10)); return new float[batch.Rows]; };
        using var queue = Queue(fake, batchSize: 1, maxQueued: 10);

        var running = queue.EnqueueAsync([Seq(8, 1)], CancellationToken.None);
        await WaitUntil(() => fake.Batches.Count == 1);
        var waiting = queue.EnqueueAsync([Seq(8, 2)], CancellationToken.None); // empty queue: always accepted
        var error = Assert.Throws<RerankException>(() => { _ = queue.EnqueueAsync([Seq(8, 3)], CancellationToken.None); });
        gate.Set();
        await Task.WhenAll(running, waiting);

        Assert.Equal(RerankErrorKind.Overloaded, error.Kind);
        Assert.Contains("retry", error.Message);
    }

    [Fact]
    public async Task A_failing_batch_fails_its_callers_and_the_queue_keeps_serving()
    {
        var fake = new FakeEncoder();
        var fail = true;
        fake.OnRun = (batch, ct) =>
        {
            if (fail) { fail = false; throw new InvalidOperationException("boom"); }
            return new float[batch.Rows];
        };
        using var queue = Queue(fake);

        var error = await Assert.ThrowsAsync<RerankException>(() => queue.EnqueueAsync([Seq(2, 1)], CancellationToken.None));
        var after = await queue.EnqueueAsync([Seq(2, 1)], CancellationToken.None);

        Assert.Equal(RerankErrorKind.Backend, error.Kind);
        Assert.Single(after);
    }

    [Fact]
    public async Task The_oldest_waiting_sequence_is_in_every_batch_so_nothing_starves()
    {
        var fake = new FakeEncoder();
        using var queue = Queue(fake, batchSize: 2, maxBatchTokens: 1000);

        // One very short sequence among many long ones: length-grouping alone would leave it last.
        var sequences = new List<int[]> { Seq(1, 42) };
        sequences.AddRange(Enumerable.Range(0, 20).Select(i => Seq(30, 1)));
        await queue.EnqueueAsync(sequences, CancellationToken.None);

        Assert.Contains(42L, fake.Batches[0].InputIds);
    }

    [Fact]
    public async Task Disposing_fails_waiting_callers_instead_of_leaving_them_hanging()
    {
        var fake = new FakeEncoder();
        using var gate = new ManualResetEventSlim(false);
        fake.OnRun = (batch, ct) => { gate.Wait(TimeSpan.FromSeconds(10)); return new float[batch.Rows]; };
        var queue = Queue(fake, batchSize: 1);

        var running = queue.EnqueueAsync([Seq(2, 1)], CancellationToken.None);
        await WaitUntil(() => fake.Batches.Count == 1);
        var waiting = queue.EnqueueAsync([Seq(2, 2)], CancellationToken.None);
        var disposing = Task.Run(queue.Dispose);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        gate.Set();
        await disposing;
        await running;
    }

    [Fact]
    public async Task Merged_batches_report_their_callers_and_each_caller_its_queue_and_inference_time()
    {
        var fake = new FakeEncoder();
        using var gate = new ManualResetEventSlim(false);
        var first = true;
        fake.OnRun = (batch, ct) =>
        {
            if (first) { first = false; gate.Wait(TimeSpan.FromSeconds(10)); }
            Thread.Sleep(5);
            return new float[batch.Rows];
        };
        var reports = new List<BatchReport>();
        using var queue = new BatchQueue<float>(fake.Run, 8, 1000, 1_000_000, 0, NullLogger.Instance, r => { lock (reports) reports.Add(r); });

        var blocker = queue.EnqueueTimedAsync([Seq(3, 9)], CancellationToken.None);
        await WaitUntil(() => fake.Batches.Count == 1);
        var a = queue.EnqueueTimedAsync([Seq(3, 1), Seq(2, 1)], CancellationToken.None);
        var b = queue.EnqueueTimedAsync([Seq(3, 2)], CancellationToken.None);
        Assert.Equal(3, queue.Statistics.QueuedSequences);
        Assert.Equal(8, queue.Statistics.QueuedTokens);
        Thread.Sleep(20);
        gate.Set();
        var results = await Task.WhenAll(blocker, a, b);

        lock (reports) Assert.Contains(reports, r => r.Callers == 2 && r.Rows == 3 && r.Tokens == 8 && r.PaddedLength == 3);
        Assert.All(results[1..], r => Assert.True(r.QueueTime >= TimeSpan.FromMilliseconds(15), $"queue time {r.QueueTime}"));
        Assert.All(results, r => Assert.True(r.InferenceTime >= TimeSpan.FromMilliseconds(4), $"inference time {r.InferenceTime}"));
        Assert.Equal(4, queue.Statistics.SequencesRun);
        Assert.Equal(0, queue.Statistics.QueuedTokens);
    }

    [Fact]
    public async Task A_throwing_batch_observer_does_not_fail_the_callers()
    {
        var fake = new FakeEncoder();
        using var queue = new BatchQueue<float>(fake.Run, 4, 1000, 1_000_000, 0, NullLogger.Instance, _ => throw new InvalidOperationException("observer"));

        var logits = await queue.EnqueueAsync([Seq(2, 3)], CancellationToken.None);

        Assert.Equal([6f], logits);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(20);
        Assert.True(condition(), "condition not reached within 10 s");
    }
}
