using RerankSharp.Inference;

namespace RerankSharp.Scoring;

/// <summary>
/// Runs a padded batch on a decoder graph that takes a prefix cache, computing each shared prompt prefix once.
/// </summary>
/// <remarks>
/// A decoder reranker's prompt puts the system text, the instruction and the query before the document, so every row
/// of a request starts with the same tokens, and a causal model's keys and values for those tokens do not depend on
/// what follows. The rows are grouped by the prefix they share (found from the ids themselves, so it holds for any
/// template, for long-document windows, which repeat the prefix, and for several requests in one batch); each group's
/// prefix runs once, alone, and the group's rows then run only their own tokens against its cache. Rows that share too
/// little with any other run as one ordinary batch.
/// </remarks>
internal static class SharedPrefixBatches
{
    /// <summary>
    /// Fewest shared tokens worth a run of their own: below this the extra run costs more than the tokens it saves.
    /// </summary>
    public const int MinPrefix = 8;

    /// <summary>Rows that share a prefix of <paramref name="Prefix"/> tokens, or (prefix 0) rows run without a cache.</summary>
    public sealed record Group(int[] Rows, int Prefix);

    public static float[] Run(EncoderSession session, PaddedBatch batch, long padId, CancellationToken cancellationToken)
    {
        var lengths = RowLengths(batch);
        var logits = new float[batch.Rows * session.NumLabels];
        foreach (var group in Plan(batch.InputIds, batch.Tokens, lengths))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (group.Prefix == 0)
            {
                Scatter(RunRows(session, batch, lengths, group.Rows, 0, padId, null, cancellationToken), group.Rows, logits, session.NumLabels);
                continue;
            }
            var prefixIds = batch.InputIds.AsSpan(group.Rows[0] * batch.Tokens, group.Prefix).ToArray();
            using var prefix = session.RunPrefix(prefixIds, cancellationToken);
            Scatter(RunRows(session, batch, lengths, group.Rows, group.Prefix, padId, prefix, cancellationToken), group.Rows, logits, session.NumLabels);
        }
        return logits;
    }

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
    private static float[] RunRows(EncoderSession session, PaddedBatch batch, int[] lengths, int[] rows, int prefix, long padId, PromptPrefix? cache,
        CancellationToken cancellationToken)
    {
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
