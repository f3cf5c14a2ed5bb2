using System.Text;

namespace RerankSharp.Tokenization;

/// <summary>
/// HF tokenizers' <c>WordPiece</c> model: each word is cut greedily into the longest vocabulary pieces from the
/// left, pieces after the first carrying the <c>##</c> prefix; a word with any uncoverable part, or longer than
/// <c>max_input_chars_per_word</c> characters, is one unknown token.
/// </summary>
internal sealed class WordPieceModel
{
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly string[] _pieces;
    private readonly string _prefix;
    private readonly int _maxChars;

    public WordPieceModel(string[] pieces, int unkId, string continuingSubwordPrefix = "##", int maxInputCharsPerWord = 100)
    {
        _pieces = pieces;
        _ids = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (var i = 0; i < pieces.Length; i++) _ids.TryAdd(pieces[i], i);
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        UnkId = unkId;
        _prefix = continuingSubwordPrefix;
        _maxChars = maxInputCharsPerWord;
    }

    public int UnkId { get; }

    public int Count => _pieces.Length;

    public string IdToPiece(int id) => _pieces[id];

    public bool TryGetId(string piece, out int id) => _ids.TryGetValue(piece, out id);

    public void Encode(ReadOnlySpan<char> word, ref PooledBuffer<int> ids)
    {
        // The limit counts characters (Unicode scalar values), as Rust's chars().count().
        var chars = 0;
        foreach (var _ in word.EnumerateRunes()) chars++;
        if (chars > _maxChars)
        {
            ids.Add(UnkId);
            return;
        }

        int mark = ids.Count;
        char[]? rented = null;
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int found = -1;
            while (end > start)
            {
                var piece = word[start..end];
                if (start > 0)
                {
                    var need = _prefix.Length + piece.Length;
                    if (rented is null || rented.Length < need) rented = new char[Math.Max(need, 64)];
                    _prefix.CopyTo(rented);
                    piece.CopyTo(rented.AsSpan(_prefix.Length));
                    piece = rented.AsSpan(0, need);
                }
                if (_lookup.TryGetValue(piece, out found)) break;
                found = -1;
                end--;
                // Never end inside a surrogate pair: pieces are whole characters.
                if (end > start && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1])) end--;
            }
            if (found < 0)
            {
                ids.Truncate(mark);
                ids.Add(UnkId);
                return;
            }
            ids.Add(found);
            start = end;
        }
    }
}
