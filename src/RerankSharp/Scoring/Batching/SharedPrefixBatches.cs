using RerankSharp.Inference;

namespace RerankSharp.Scoring;

/// <summary>
/// Runs padded batches on a decoder graph that takes a prefix cache, computing each shared prompt prefix once.
/// </summary>
/// <remarks>
/// A decoder reranker's prompt puts the system text, the instruction and the query before the document, so every row
/// of a request starts with the same tokens, and a causal model's keys and values for those tokens do not depend on
/// what follows. The rows are grouped by the prefix they share (found from the ids themselves, so it holds for any
/// template, for long-document windows, which repeat the prefix, and for several requests in one batch); each group's
/// prefix runs once, alone, and the group's rows then run only their own tokens against its cache. Rows that share too
/// little with any other run as one ordinary batch. A request larger than one batch (the token budget cuts 50 prompts
/// of 256 tokens into batches of 4) spans several batches, so the last few prefixes stay cached between batches and a
/// later batch whose rows continue one of them runs against it instead of computing it again. Owned by the batch
/// queue's worker: not thread-safe.
/// </remarks>
internal sealed class SharedPrefixBatches(EncoderSession session, long padId) : IDisposable
{
    /// <summary>
    /// Fewest shared tokens worth a run of their own: below this the extra run costs more than the tokens it saves.
    /// </summary>
    public const int MinPrefix = 8;

    /// <summary>Prefixes kept between batches, most recently used first.</summary>
    public const int CachedPrefixes = 4;

    private readonly LinkedList<(long[] Ids, PromptPrefix Prefix)> _cached = new();

    /// <summary>Rows that share a prefix of <paramref name="Prefix"/> tokens, or (prefix 0) rows run without a cache.</summary>
    public sealed record Group(int[] Rows, int Prefix);

    public float[] Run(PaddedBatch batch, CancellationToken cancellationToken)
    {
        var lengths = RowLengths(batch);
        var logits = new float[batch.Rows * session.NumLabels];
        foreach (var group in Plan(batch.InputIds, batch.Tokens, lengths))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var prefix = group.Prefix == 0 ? null : PrefixFor(batch.InputIds.AsSpan(group.Rows[0] * batch.Tokens, group.Prefix), group.Rows.Length, cancellationToken);
            Scatter(RunRows(batch, lengths, group.Rows, prefix, cancellationToken), group.Rows, logits, session.NumLabels);
        }
        return logits;
    }

    // A cached prefix that these rows continue, when running their few extra shared tokens each costs less than
    // computing the whole shared prefix again; else the shared prefix, computed now and cached.
    private PromptPrefix PrefixFor(ReadOnlySpan<long> shared, int rows, CancellationToken cancellationToken)
    {
        LinkedListNode<(long[] Ids, PromptPrefix Prefix)>? best = null;
        for (var node = _cached.First; node is not null; node = node.Next)
            if (node.Value.Ids.Length <= shared.Length && shared.StartsWith(node.Value.Ids) && node.Value.Ids.Length > (best?.Value.Ids.Length ?? 0))
                best = node;
        if (best is not null && (long)(shared.Length - best.Value.Ids.Length) * rows < shared.Length)
        {
            _cached.Remove(best);
            _cached.AddFirst(best);
            return best.Value.Prefix;
        }
        var ids = shared.ToArray();
        var computed = session.RunPrefix(ids, cancellationToken);
        _cached.AddFirst((ids, computed));
        while (_cached.Count > CachedPrefixes)
        {
            _cached.Last!.Value.Prefix.Dispose();
            _cached.RemoveLast();
        }
        return computed;
    }

    /// <summary>Drops the cached prefixes (benchmarks time a request's own prefix run); only while no batch runs.</summary>
    public void Clear()
    {
        foreach (var (_, prefix) in _cached) prefix.Dispose();
        _cached.Clear();
    }

    public void Dispose() => Clear();

    /// <summary>
    /// Splits the rows (their real tokens: <paramref name="lengths"/>) into groups that share a prefix of at least
    /// <see cref="MinPrefix"/> tokens, and one group of prefix 0 with the rest. Every row is in exactly one group, and
    /// each group's prefix leaves every one of its rows at least one token of its own (the score is read there).
    /// </summary>
    public static List<Group> Plan(long[] inputIds, int tokens, int[] lengths)
    {
        ReadOnlySpan<long> Row(int r) => inputIds.AsSpan(r * tokens, lengths[r]);
        var sorted = Enumerable.Range(0, lengths.Length).ToArray();
        // Rows sharing a prefix sort next to each other, whichever requests they came from.
        Array.Sort(sorted, (a, b) => Row(a).SequenceCompareTo(Row(b)) is var c && c != 0 ? c : a.CompareTo(b));

        var groups = new List<Group>();
        var alone = new List<int>();
        var current = new List<int>();
        var shared = 0;
        void Close()
        {
            var prefix = Math.Min(shared, current.Min(r => lengths[r]) - 1);
            if (current.Count >= 2 && prefix >= MinPrefix) groups.Add(new Group([.. current], prefix));
            else alone.AddRange(current);
            current.Clear();
        }
        foreach (var row in sorted)
        {
            if (current.Count == 0)
            {
                current.Add(row);
                continue;
            }
            var common = Row(current[^1]).CommonPrefixLength(Row(row));
            // A row joins when what it shares is worth more than what it takes from the group: taking the group's shared
            // length down to `common` makes each of its rows run (shared − common) tokens more, and starting anew costs
            // about `common` tokens for a second prefix run.
            var joins = current.Count == 1
                ? common >= MinPrefix
                : (long)(shared - Math.Min(shared, common)) * current.Count <= common;
            if (joins)
            {
                shared = current.Count == 1 ? common : Math.Min(shared, common);
                current.Add(row);
            }
            else
            {
                Close();
                current.Add(row);
                shared = 0;
            }
        }
        if (current.Count > 0) Close();
        if (alone.Count > 0) groups.Add(new Group([.. alone.Order()], 0));
        return groups;
    }

    private static int[] RowLengths(PaddedBatch batch)
    {
        var lengths = new int[batch.Rows];
        for (var r = 0; r < batch.Rows; r++)
        {
            var mask = batch.AttentionMask.AsSpan(r * batch.Tokens, batch.Tokens);
            // Right-padded: the real tokens are the first ones.
            var length = mask.IndexOf(0L);
            lengths[r] = length < 0 ? batch.Tokens : length;
        }
        return lengths;
    }

    // The rows' tokens after the prefix, right-padded to the longest of them.
    private float[] RunRows(PaddedBatch batch, int[] lengths, int[] rows, PromptPrefix? cache, CancellationToken cancellationToken)
    {
        var prefix = cache?.Length ?? 0;
        var width = rows.Max(r => lengths[r]) - prefix;
        var ids = new long[rows.Length * width];
        var mask = new long[rows.Length * width];
        Array.Fill(ids, padId);
        for (var i = 0; i < rows.Length; i++)
        {
            var own = lengths[rows[i]] - prefix;
            batch.InputIds.AsSpan(rows[i] * batch.Tokens + prefix, own).CopyTo(ids.AsSpan(i * width));
            mask.AsSpan(i * width, own).Fill(1L);
        }
        return session.Run(ids, mask, rows.Length, width, cancellationToken, cache);
    }

    private static void Scatter(float[] groupLogits, int[] rows, float[] logits, int labels)
    {
        for (var i = 0; i < rows.Length; i++)
            groupLogits.AsSpan(i * labels, labels).CopyTo(logits.AsSpan(rows[i] * labels));
    }
}
