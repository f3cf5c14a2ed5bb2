using System.Text.Json;
using static RerankSharp.Tokenization.TokenizerJsonReader;

namespace RerankSharp.Tokenization;

/// <summary>
/// A SentencePiece-style BPE with byte fallback, in the tokenizer.json form transformers' GemmaConverter writes (Gemma,
/// bge-reranker-v2-gemma): added tokens matched on the raw text first (none of them normalized), then each remaining
/// piece normalized by Replace(" " → "▁") and, with no pre-tokenizer, merged as one word by Hugging Face's BPE: every
/// character its vocabulary id, or the ids of its UTF-8 bytes as <c>&lt;0xXX&gt;</c> pieces; then the pair of lowest
/// merge rank (leftmost among equals) merged until none is left.
/// </summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public sealed class ByteFallbackBpeTokenizer : IPromptTextTokenizer
{
    private const string Family = "SentencePiece-style BPE (Gemma)";

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _ids;
    private readonly string?[] _pieces;
    private readonly Dictionary<(int Left, int Right), (int Rank, int Merged)> _merges;
    private readonly int[] _byteIds;
    private readonly AddedTokenSplitter _splitter;
    private readonly HashSet<int> _special;

    private ByteFallbackBpeTokenizer(Dictionary<string, int> vocab, List<(string Left, string Right)> merges, AddedToken[] added, IEnumerable<int> special, string source)
    {
        // BPE looks characters up in the model's vocabulary only; IdOf also knows the added tokens.
        _vocab = vocab;
        _ids = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (var token in added) _ids.TryAdd(token.Content, token.Id);
        _merges = [];
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.TryGetValue(left, out var l) || !vocab.TryGetValue(right, out var r) || !vocab.TryGetValue(left + right, out var merged))
                throw Invalid(source, $"merge '{left} {right}' uses a token missing from the vocabulary");
            // HF collects the list into a map: a later duplicate of a pair replaces the earlier one.
            _merges[(l, r)] = (rank, merged);
        }
        _byteIds = new int[256];
        for (var b = 0; b < 256; b++)
            _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id
                : throw Unsupported(source, $"model.byte_fallback is true but the vocabulary has no '<0x{b:X2}>'; every byte piece is needed so that no text falls to <unk>");
        _pieces = new string?[_ids.Values.DefaultIfEmpty(-1).Max() + 1];
        foreach (var (piece, id) in _ids) _pieces[id] = piece;
        _splitter = new AddedTokenSplitter(added);
        _special = [.. special];
        VocabSize = _pieces.Length;
    }

    public int VocabSize { get; }

    public int? IdOf(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>Whether a tokenizer.json describes this kind: a BPE model with <c>byte_fallback</c> true.</summary>
    internal static bool Describes(JsonElement root) =>
        root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
        && model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True;

    internal static ByteFallbackBpeTokenizer FromJson(JsonElement root, string source)
    {
        var model = Required(root, "model", JsonValueKind.Object, source, "model");
        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(affix, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0)
                throw Unsupported(source, $"model.{affix} is set");
        CheckNormalizer(root, source);
        CheckPreTokenizer(root, source);
        // GemmaConverter adds every control and user-defined piece with normalized false: matched on the raw text.
        var (vocab, merges, added, special) = ReadBpeModel(root, source, Family, allowNormalized: false, what => Unsupported(source, what));
        return new ByteFallbackBpeTokenizer(vocab, merges, added, special, source);
    }

    // Replace(" " → "▁") alone, as GemmaConverter writes it (a Sequence of just that one is the same).
    private static void CheckNormalizer(JsonElement root, string source)
    {
        var normalizer = Required(root, "normalizer", JsonValueKind.Object, source, "normalizer");
        var steps = RequiredString(normalizer, "type", source, "normalizer.type") == "Sequence"
            ? Required(normalizer, "normalizers", JsonValueKind.Array, source, "normalizer.normalizers").EnumerateArray().ToArray()
            : [normalizer];
        if (steps is not [var step] || !IsReplace(step, " ", "\u2581"))
            throw Unsupported(source, "normalizer is not Replace(\" \" → \"▁\") (Gemma's); a Prepend, Precompiled or other step is not reproduced");
    }

    // None, or Split(" ", merged_with_previous) as newer GemmaConverters write it, which after the normalizer has
    // replaced every space never matches: either way the whole piece is one word.
    private static void CheckPreTokenizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null) return;
        if (pre.ValueKind == JsonValueKind.Object && Text(pre, "type") == "Split" && Text(pre, "behavior") == "MergedWithPrevious" && !Flag(pre, "invert")
            && pre.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object && Text(pattern, "String") == " ")
            return;
        throw Unsupported(source, "pre_tokenizer is neither null nor Split(\" \", merged_with_previous) (Gemma's)");
    }

    private static bool IsReplace(JsonElement step, string from, string to) =>
        Text(step, "type") == "Replace" && Text(step, "content") == to
        && step.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object && Text(pattern, "String") == from;

    private static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public int[] EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Rust strings cannot hold lone surrogates; the reference only ever sees U+FFFD in their place.
        text = XlmRobertaTokenizer.ReplaceLoneSurrogates(text);
        var segments = new PooledBuffer<TextSegment>(8);
        var ids = new PooledBuffer<int>(text.Length / 2 + 8);
        try
        {
            _splitter.Split(text, ref segments);
            foreach (var segment in segments.Span)
            {
                if (segment.IsAddedToken) ids.Add(segment.TokenId);
                else EncodeWord(text.AsSpan(segment.Start, segment.Length).ToString().Replace(' ', '\u2581'), ref ids);
            }
            return ids.ToArray();
        }
        finally
        {
            segments.Dispose();
            ids.Dispose();
        }
    }

    // HF's BPE merge_word then Word::merge_all: symbols in a linked list, candidate merges in a min-queue on (rank,
    // position); an entry whose pair has changed since it was queued is skipped.
    private void EncodeWord(string word, ref PooledBuffer<int> ids)
    {
        var symbols = new List<int>(word.Length);
        Span<byte> bytes = stackalloc byte[4];
        foreach (var rune in word.EnumerateRunes())
        {
            if (_vocab.TryGetValue(rune.ToString(), out var id)) { symbols.Add(id); continue; }
            var count = rune.EncodeToUtf8(bytes);
            foreach (var b in bytes[..count]) symbols.Add(_byteIds[b]);
        }
        var n = symbols.Count;
        var id_ = symbols.ToArray();   // the symbols' token ids, merged in place
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (var i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }
        var queue = new PriorityQueue<(int Position, int Merged), (int Rank, int Position)>();
        for (var i = 0; i + 1 < n; i++)
            if (_merges.TryGetValue((id_[i], id_[i + 1]), out var m)) queue.Enqueue((i, m.Merged), (m.Rank, i));
        while (queue.TryDequeue(out var top, out _))
        {
            var pos = top.Position;
            if (!alive[pos] || next[pos] < 0) continue;
            var right = next[pos];
            if (!_merges.TryGetValue((id_[pos], id_[right]), out var current) || current.Merged != top.Merged) continue;
            id_[pos] = top.Merged;
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0 && _merges.TryGetValue((id_[prev[pos]], id_[pos]), out var before)) queue.Enqueue((prev[pos], before.Merged), (before.Rank, prev[pos]));
            if (next[pos] >= 0 && _merges.TryGetValue((id_[pos], id_[next[pos]]), out var after)) queue.Enqueue((pos, after.Merged), (after.Rank, pos));
        }
        for (var i = 0; i < n; i++)
            if (alive[i]) ids.Add(id_[i]);
    }

    public string[] ToPieces(ReadOnlySpan<int> ids) => PairTokenizer.PiecesOf(_pieces, ids);

    private static RerankException Unsupported(string source, string what) =>
        new(RerankErrorKind.UnsupportedModel, $"'{source}': {what}; this {Family} tokenizer differs from what RerankSharp reproduces.");
}
