namespace RerankSharp.Tokenization;

/// <summary>
/// HF tokenizers' <c>BPE</c> model over byte-level symbols: a word starts as its characters (each a vocabulary entry)
/// and the adjacent pair whose merge ranks lowest is merged, leftmost first, until no pair has a merge.
/// </summary>
internal sealed class ByteLevelBpeModel
{
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly string[] _pieces;

    public ByteLevelBpeModel(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string source)
    {
        _ids = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _pieces = new string[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (piece, id) in vocab) _pieces[id] = piece;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!_ids.TryGetValue(left, out var a) || !_ids.TryGetValue(right, out var b) || !_ids.TryGetValue(left + right, out var merged))
                throw new RerankException(RerankErrorKind.InvalidModel, $"'{source}': merge {rank} ('{left} {right}') uses a token missing from the vocabulary; re-download the tokenizer files.");
            _merges.TryAdd(Key(a, b), (rank, merged));   // the first rank of a pair wins, as in HF
        }
    }

    public int Count => _pieces.Length;

    public string? IdToPiece(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : null;

    public bool TryGetId(string piece, out int id) => _ids.TryGetValue(piece, out id);

    /// <summary>Appends the ids of one pre-tokenized, byte-level mapped word (every character one byte's symbol).</summary>
    public void Encode(ReadOnlySpan<char> word, ref PooledBuffer<int> ids)
    {
        // Symbols as a linked list; HF's Word::merge_all pops the lowest (rank, position) from a heap.
        var n = word.Length;
        var symbol = new int[n];
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        var last = -1;
        for (var i = 0; i < n; i++)
        {
            // With the full byte alphabet every character is a token; a vocabulary without one drops it, as HF does
            // when there is no unk token.
            if (!_lookup.TryGetValue(word.Slice(i, 1), out var id)) continue;
            symbol[i] = id;
            alive[i] = true;
            prev[i] = last;
            if (last >= 0) next[last] = i;
            last = i;
        }
        if (last >= 0) next[last] = -1;

        var queue = new PriorityQueue<(int Left, int Right, int LeftId, int RightId, int Merged), (int Rank, int Position)>();
        void Push(int left)
        {
            var right = next[left];
            if (right >= 0 && _merges.TryGetValue(Key(symbol[left], symbol[right]), out var m))
                queue.Enqueue((left, right, symbol[left], symbol[right], m.Id), (m.Rank, left));
        }
        for (var i = 0; i < n; i++)
            if (alive[i]) Push(i);
        while (queue.TryDequeue(out var m, out _))
        {
            // Entries made stale by an earlier merge no longer describe two live neighbours.
            if (!alive[m.Left] || !alive[m.Right] || next[m.Left] != m.Right || symbol[m.Left] != m.LeftId || symbol[m.Right] != m.RightId) continue;
            symbol[m.Left] = m.Merged;
            alive[m.Right] = false;
            next[m.Left] = next[m.Right];
            if (next[m.Right] >= 0) prev[next[m.Right]] = m.Left;
            if (prev[m.Left] >= 0) Push(prev[m.Left]);
            Push(m.Left);
        }
        for (var i = 0; i < n; i++)
            if (alive[i]) ids.Add(symbol[i]);
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;
}
