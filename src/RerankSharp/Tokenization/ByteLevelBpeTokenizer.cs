using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using static RerankSharp.Tokenization.TokenizerJsonReader;

namespace RerankSharp.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer of the Qwen2/Qwen3 kind, giving the ids of Hugging Face's fast tokenizer: added tokens
/// split out of the raw text → NFC → split by the pre-tokenizer's regex (each match a word) → each word's UTF-8 bytes
/// as GPT-2's printable byte alphabet → <see cref="ByteLevelBpeModel"/>. It adds no special tokens of its own.
/// </summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public sealed class ByteLevelBpeTokenizer
{
    private const string Family = "byte-level BPE";

    /// <summary>Qwen2's pre-tokenizer regex, what a slow <c>Qwen2Tokenizer</c> (vocab.json + merges.txt) splits with.</summary>
    internal const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly char[] ByteToChar = BuildByteAlphabet();

    private readonly ByteLevelBpeModel _model;
    private readonly AddedTokenSplitter _splitter;
    private readonly Dictionary<int, string> _added;
    private readonly HashSet<int> _special;
    private readonly Regex _split;
    private readonly bool _nfc;

    private ByteLevelBpeTokenizer(ByteLevelBpeModel model, AddedToken[] added, IEnumerable<int> special, string pattern, bool nfc)
    {
        _model = model;
        _splitter = new AddedTokenSplitter(added);
        _added = added.ToDictionary(t => t.Id, t => t.Content);
        _special = [.. special];
        _nfc = nfc;
        // Culture-invariant, as the reference's regex engine (Oniguruma) knows no cultures.
        _split = new Regex(pattern, RegexOptions.CultureInvariant);
        VocabSize = Math.Max(model.Count, added.Length == 0 ? 0 : added.Max(t => t.Id) + 1);
    }

    /// <summary>Ids the tokenizer can produce, added tokens included.</summary>
    public int VocabSize { get; }

    /// <summary>The id of <paramref name="token"/> (a vocabulary piece in its byte-level spelling, or an added token), if it has one.</summary>
    public int? IdOf(string token) =>
        _added.FirstOrDefault(p => p.Value == token) is { Value: not null } added ? added.Key : _model.TryGetId(token, out var id) ? id : null;

    /// <summary>Whether <paramref name="id"/> is an added token marked special (<c>&lt;|im_start|&gt;</c>, not <c>&lt;think&gt;</c>).</summary>
    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>Loads a Hugging Face <c>tokenizer.json</c> whose model is BPE with a byte-level pre-tokenizer.</summary>
    public static ByteLevelBpeTokenizer FromTokenizerJson(string path)
    {
        using var document = ReadJson(path);
        return FromJson(document.RootElement, path);
    }

    /// <summary>Loads the slow files, <c>vocab.json</c> and <c>merges.txt</c>, with added tokens from <c>tokenizer_config.json</c>, as transformers' Qwen2 converter does.</summary>
    public static ByteLevelBpeTokenizer FromVocabAndMerges(string vocabPath, string mergesPath, string? tokenizerConfigPath = null)
    {
        using var vocabDocument = ReadJson(vocabPath);
        var vocab = ReadVocab(vocabDocument.RootElement, vocabPath, "vocab.json");
        var merges = File.ReadAllLines(mergesPath)
            .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
            .Select(l => SplitMerge(l, mergesPath)).ToList();
        var added = new List<AddedToken>();
        var special = new List<int>();
        if (tokenizerConfigPath is not null && File.Exists(tokenizerConfigPath))
        {
            using var config = ReadJson(tokenizerConfigPath);
            if (config.RootElement.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
                foreach (var entry in decoder.EnumerateObject())
                {
                    var id = int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
                    added.Add(new AddedToken(entry.Value.GetProperty("content").GetString()!, id, Flag(entry.Value, "lstrip"), Flag(entry.Value, "rstrip")));
                    if (Flag(entry.Value, "special")) special.Add(id);
                }
        }
        return new ByteLevelBpeTokenizer(new ByteLevelBpeModel(vocab, merges, mergesPath), [.. added], special, Qwen2Pattern, nfc: true);
    }

    internal static ByteLevelBpeTokenizer FromJson(JsonElement root, string source)
    {
        var model = Required(root, "model", JsonValueKind.Object, source, "model");
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
            throw Unsupported(source, "model.byte_fallback is true (a SentencePiece-style BPE)");
        if (model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True)
            throw Unsupported(source, "model.ignore_merges is true");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number)
            throw Unsupported(source, "model.dropout is set");
        var vocab = ReadVocab(Required(model, "vocab", JsonValueKind.Object, source, "model.vocab"), source, "model.vocab");
        var merges = Required(model, "merges", JsonValueKind.Array, source, "model.merges").EnumerateArray().Select(m => m.ValueKind switch
        {
            JsonValueKind.String => SplitMerge(m.GetString()!, source),
            JsonValueKind.Array when m.GetArrayLength() == 2 => (m[0].GetString()!, m[1].GetString()!),
            _ => throw Invalid(source, "model.merges holds an entry that is neither \"a b\" nor [a, b]"),
        }).ToList();

        var nfc = root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
            ? RequiredString(normalizer, "type", source, "normalizer.type") == "NFC" ? true : throw Unsupported(source, $"normalizer.type is '{normalizer.GetProperty("type").GetString()}'; Qwen's tokenizers use NFC")
            : false;
        var pattern = ReadPreTokenizer(root, source);
        var maxId = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), root.TryGetProperty("added_tokens", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(t => t.TryGetProperty("id", out var id) && id.TryGetInt32(out var v) ? v : -1).DefaultIfEmpty(-1).Max() : -1);
        var added = ReadAddedTokens(root, maxId + 1, source, Family);
        var special = list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(t => Flag(t, "special")).Select(t => t.GetProperty("id").GetInt32()).ToArray()
            : [];
        return new ByteLevelBpeTokenizer(new ByteLevelBpeModel(vocab, merges, source), added, special, pattern, nfc);
    }

    // Split(Regex, Isolated) then ByteLevel(use_regex: false), as Qwen2/Qwen3 ship it; the regex is taken as written.
    private static string ReadPreTokenizer(JsonElement root, string source)
    {
        var pre = Required(root, "pre_tokenizer", JsonValueKind.Object, source, "pre_tokenizer");
        var steps = RequiredString(pre, "type", source, "pre_tokenizer.type") == "Sequence"
            ? Required(pre, "pretokenizers", JsonValueKind.Array, source, "pre_tokenizer.pretokenizers").EnumerateArray().ToArray()
            : [pre];
        if (steps.Length != 2
            || steps[0].GetProperty("type").GetString() != "Split" || steps[0].GetProperty("behavior").GetString() != "Isolated"
            || Flag(steps[0], "invert") || !steps[0].GetProperty("pattern").TryGetProperty("Regex", out var regex)
            || steps[1].GetProperty("type").GetString() != "ByteLevel" || Flag(steps[1], "add_prefix_space") || Flag(steps[1], "use_regex"))
            throw Unsupported(source, "pre_tokenizer is not Sequence[Split(Regex, Isolated), ByteLevel(add_prefix_space: false, use_regex: false)]");
        return regex.GetString()!;
    }

    /// <summary>Ids of <paramref name="text"/>, untruncated; no special tokens are added.</summary>
    public int[] EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = XlmRobertaTokenizer.ReplaceLoneSurrogates(text);
        var ids = new PooledBuffer<int>(text.Length / 3 + 4);
        var segments = new PooledBuffer<TextSegment>(4);
        try
        {
            _splitter.Split(text, ref segments);
            foreach (var segment in segments.Span)
            {
                if (segment.IsAddedToken)
                {
                    ids.Add(segment.TokenId);
                    continue;
                }
                var part = text.Substring(segment.Start, segment.Length);
                if (_nfc) part = UnicodeNormalization.Nfc(part);
                foreach (var (start, length) in Words(part))
                    _model.Encode(ToByteLevel(part.AsSpan(start, length)), ref ids);
            }
            return ids.ToArray();
        }
        finally
        {
            ids.Dispose();
            segments.Dispose();
        }
    }

    /// <summary>The vocabulary strings of <paramref name="ids"/> (byte-level spelling, e.g. <c>Ġworld</c>).</summary>
    public string[] ToPieces(ReadOnlySpan<int> ids)
    {
        var pieces = new string[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            pieces[i] = (_added.TryGetValue(ids[i], out var added) ? added : _model.IdToPiece(ids[i]))
                ?? throw new RerankException(RerankErrorKind.InvalidInput, $"Token id {ids[i]} is outside the vocabulary of {VocabSize}; pass ids this tokenizer produced.");
        return pieces;
    }

    // The regex's matches, gaps between them kept as words (Split's Isolated behaviour). .NET's \p{L} and \p{N} see a
    // supplementary character as two surrogates, where the reference's Oniguruma sees one letter or digit; so the regex
    // runs over a copy with each supplementary character replaced by one BMP character of the same class.
    private List<(int Start, int Length)> Words(string text)
    {
        var probe = text;
        List<int>? starts = null;   // for each probe index, the text index it stands for
        if (text.Any(char.IsSurrogate))
        {
            var builder = new StringBuilder(text.Length);
            starts = new List<int>(text.Length + 1);
            for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
            {
                starts.Add(i);
                if (!char.IsSurrogatePair(text, i)) { builder.Append(text[i]); continue; }
                builder.Append(Rune.GetUnicodeCategory(Rune.GetRuneAt(text, i)) switch
                {
                    var c when c <= System.Globalization.UnicodeCategory.OtherLetter => 'a',
                    System.Globalization.UnicodeCategory.DecimalDigitNumber or System.Globalization.UnicodeCategory.LetterNumber
                        or System.Globalization.UnicodeCategory.OtherNumber => '0',
                    _ => '\u00A6',   // BROKEN BAR, a symbol: neither letter, digit nor space
                });
            }
            starts.Add(text.Length);
            probe = builder.ToString();
        }
        int At(int i) => starts is null ? i : starts[i];
        var words = new List<(int, int)>();
        var done = 0;
        foreach (Match m in _split.Matches(probe))
        {
            if (m.Length == 0) continue;
            if (m.Index > done) words.Add((At(done), At(m.Index) - At(done)));
            words.Add((At(m.Index), At(m.Index + m.Length) - At(m.Index)));
            done = m.Index + m.Length;
        }
        if (done < probe.Length) words.Add((At(done), text.Length - At(done)));
        return words;
    }

    private static string ToByteLevel(ReadOnlySpan<char> word)
    {
        var bytes = Encoding.UTF8.GetBytes(word.ToArray());
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest for U+0100 onwards in byte order.
    private static char[] BuildByteAlphabet()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
            map[b] = b is >= '!' and <= '~' or >= '\u00A1' and <= '\u00AC' or >= '\u00AE' and <= '\u00FF' ? (char)b : (char)next++;
        return map;
    }

    private static Dictionary<string, int> ReadVocab(JsonElement vocab, string source, string what)
    {
        if (vocab.ValueKind != JsonValueKind.Object) throw Invalid(source, $"{what} is not an object");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
            result[entry.Name] = entry.Value.TryGetInt32(out var id) && id >= 0 ? id : throw Invalid(source, $"{what}['{entry.Name}'] is not a non-negative id");
        return result;
    }

    private static (string, string) SplitMerge(string line, string source)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && space < line.Length - 1 && line.IndexOf(' ', space + 1) < 0
            ? (line[..space], line[(space + 1)..])
            : throw Invalid(source, $"merge '{line}' is not two tokens separated by one space");
    }

    private static JsonDocument ReadJson(string path)
    {
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.ModelNotFound, $"'{path}' not found; pass the model folder that holds its tokenizer files.");
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new RerankException(RerankErrorKind.InvalidModel, $"'{path}' is not valid JSON ({e.Message}); replace it with the model's file.", e);
        }
    }

    private static RerankException Unsupported(string source, string what) =>
        new(RerankErrorKind.UnsupportedModel, $"'{source}': {what}; this {Family} tokenizer differs from what RerankSharp reproduces.");
}
