using System.Buffers;

namespace RerankSharp.Tokenization;

/// <summary>
/// HF tokenizers' <c>Unigram</c> model (<c>encode_optimized</c>): the best segmentation of one
/// pre-token under the piece scores, then runs of unknown pieces fused into one <c>&lt;unk&gt;</c>.
/// <para>
/// Written here rather than delegated to Microsoft.ML.Tokenizers' SentencePieceTokenizer, whose
/// lattice adds scores in float32: on near-ties (<c>ffffffff</c>, <c>------</c>, <c>0x7fff…</c>) float32
/// rounding picks another segmentation than HF's float64 sums. Details that decide ties, all as in
/// HF: scores summed in double; a node is replaced only on a strictly greater score, so among equal
/// paths the one whose last piece starts earliest wins; an unknown node (one character, score
/// <c>min_score - 10</c>) is added only where no one-character piece starts. Every vocabulary entry is
/// in the trie, specials included (score 0.0): text that normalises to <c>&lt;s&gt;</c>, e.g.
/// <c>＜s＞</c>, becomes id 0 exactly as in HF.
/// </para>
/// </summary>
internal sealed class UnigramModel
{
    private const double UnknownPenalty = 10.0;

    private readonly string[] _pieces;
    private readonly double[] _scores;
    private readonly int _unkId;
    private readonly double _unkScore;
    private readonly Dictionary<ulong, int> _children = new();

    // The root's children by UTF-16 unit: every lattice position starts there, so it gets a flat table (0 = none).
    private readonly int[] _rootChildren = new int[char.MaxValue + 1];
    private readonly List<int> _nodeToken = [-1];
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idByPiece;

    /// <param name="pieces">Every id's string; the first <paramref name="modelCount"/> (default: all) are the model's vocabulary,
    /// any after them added tokens that only <see cref="IdToPiece"/> and <see cref="Count"/> know.</param>
    /// <param name="scores">Log-probabilities by id.</param>
    /// <param name="unkId">Id of the unknown piece.</param>
    /// <param name="modelCount">How many pieces the lattice may choose from.</param>
    public UnigramModel(string[] pieces, double[] scores, int unkId, int? modelCount = null)
    {
        _pieces = pieces;
        _scores = scores;
        _unkId = unkId;

        var idByPiece = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        double minScore = double.PositiveInfinity;
        for (int id = 0; id < (modelCount ?? pieces.Length); id++)
        {
            // HF builds token_to_ids by insertion, so a duplicated piece maps to its last id.
            idByPiece[pieces[id]] = id;
            AddToTrie(pieces[id], id);
            minScore = Math.Min(minScore, scores[id]);
        }

        _idByPiece = idByPiece.GetAlternateLookup<ReadOnlySpan<char>>();
        _unkScore = minScore - UnknownPenalty;
    }

    public int Count => _pieces.Length;

    public string IdToPiece(int id) => _pieces[id];

    /// <summary>Appends the ids of one pre-token (a Metaspace word such as "▁hello") to <paramref name="ids"/>.</summary>
    public void Encode(ReadOnlySpan<char> word, ref PooledBuffer<int> ids)
    {
        var noPieces = default(PooledBuffer<CharSpan>);
        Encode(word, ref ids, ref noPieces, track: false);
    }

    /// <summary>As above; when <paramref name="track"/>, also appends each token's range within <paramref name="word"/> to <paramref name="pieces"/>.</summary>
    public void Encode(ReadOnlySpan<char> word, ref PooledBuffer<int> ids, ref PooledBuffer<CharSpan> pieces, bool track)
    {
        int n = word.Length;
        if (n == 0)
        {
            return;
        }

        double[] bestScore = ArrayPool<double>.Shared.Rent(n + 1);
        int[] startsAt = ArrayPool<int>.Shared.Rent(n + 1);
        int[] tokenAt = ArrayPool<int>.Shared.Rent(n + 1);
        try
        {
            bestScore[0] = 0.0;
            startsAt.AsSpan(0, n + 1).Fill(-1);

            int pos = 0;
            while (pos < n)
            {
                int charLength = char.IsHighSurrogate(word[pos]) && pos + 1 < n && char.IsLowSurrogate(word[pos + 1]) ? 2 : 1;
                double scoreHere = bestScore[pos];
                bool hasSingleCharPiece = false;

                int node = 0;
                for (int end = pos; end < n; end++)
                {
                    if (end == pos)
                    {
                        node = _rootChildren[word[end]];
                        if (node == 0)
                        {
                            break;
                        }
                    }
                    else if (!_children.TryGetValue(Key(node, word[end]), out node))
                    {
                        break;
                    }

                    int token = _nodeToken[node];
                    if (token < 0)
                    {
                        continue;
                    }

                    Relax(end + 1, scoreHere + _scores[token], pos, token, bestScore, startsAt, tokenAt);
                    if (end + 1 - pos == charLength)
                    {
                        hasSingleCharPiece = true;
                    }
                }

                if (!hasSingleCharPiece)
                {
                    Relax(pos + charLength, scoreHere + _unkScore, pos, _unkId, bestScore, startsAt, tokenAt);
                }

                pos += charLength;
            }

            EmitBestPath(word, startsAt, tokenAt, ref ids, ref pieces, track);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(bestScore);
            ArrayPool<int>.Shared.Return(startsAt);
            ArrayPool<int>.Shared.Return(tokenAt);
        }
    }

    private static void Relax(int end, double candidate, int start, int token, double[] bestScore, int[] startsAt, int[] tokenAt)
    {
        if (startsAt[end] < 0 || candidate > bestScore[end])
        {
            bestScore[end] = candidate;
            startsAt[end] = start;
            tokenAt[end] = token;
        }
    }

    private void EmitBestPath(ReadOnlySpan<char> word, int[] startsAt, int[] tokenAt, ref PooledBuffer<int> ids,
        ref PooledBuffer<CharSpan> pieces, bool track)
    {
        int first = ids.Count;
        int firstPiece = pieces.Count;
        int end = word.Length;
        int fusedEnd = -1;
        while (end > 0)
        {
            int start = startsAt[end];
            int token = tokenAt[end];
            if (token == _unkId)
            {
                // Backtracking runs right to left: remember where the run of unknowns ends.
                if (fusedEnd < 0)
                {
                    fusedEnd = end;
                }

                if (start > 0 && tokenAt[start] == _unkId)
                {
                    end = start;
                    continue;
                }

                // HF looks the fused string up again; a run that happens to spell a piece becomes that piece.
                ids.Add(fusedEnd - start == end - start
                    ? _unkId
                    : _idByPiece.TryGetValue(word[start..fusedEnd], out int id) ? id : _unkId);
                if (track)
                {
                    pieces.Add(new CharSpan(start, fusedEnd));
                }

                fusedEnd = -1;
            }
            else
            {
                ids.Add(token);
                if (track)
                {
                    pieces.Add(new CharSpan(start, end));
                }
            }

            end = start;
        }

        ids.Span[first..].Reverse();
        if (track)
        {
            pieces.Span[firstPiece..].Reverse();
        }
    }

    private void AddToTrie(string piece, int id)
    {
        if (piece.Length == 0)
        {
            return;
        }

        int node = 0;
        foreach (char c in piece)
        {
            ulong key = Key(node, c);
            if (!_children.TryGetValue(key, out int child))
            {
                child = _nodeToken.Count;
                _nodeToken.Add(-1);
                _children.Add(key, child);
                if (node == 0)
                {
                    _rootChildren[c] = child;
                }
            }

            node = child;
        }

        _nodeToken[node] = id;
    }

    private static ulong Key(int node, char c) => ((ulong)(uint)node << 16) | c;
}
