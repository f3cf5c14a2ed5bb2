using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using static RerankSharp.Tokenization.TokenizerJsonReader;

namespace RerankSharp.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer of the Qwen2/Qwen3 or the GPT-2/OLMo (ModernBERT) kind, giving the ids of Hugging Face's fast
/// tokenizer: Microsoft.ML.Tokenizers' byte-level <see cref="BpeTokenizer"/> (UTF-8 bytes as GPT-2's printable alphabet,
/// ranked merges), fed by our NFC (<see cref="UnicodeNormalization"/>; the library is culture-invariant) and by
/// <see cref="Qwen2PreTokenizer"/> (added tokens, then the pre-tokenizer's regex: Qwen2's Split regex, or GPT-2's of a
/// <c>ByteLevel(use_regex: true)</c> pre-tokenizer). It adds no special tokens of its own.
/// </summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public sealed class ByteLevelBpeTokenizer : IPromptTextTokenizer
{
    private const string Family = "byte-level BPE";

    /// <summary>Qwen2's pre-tokenizer regex, what a slow <c>Qwen2Tokenizer</c> (vocab.json + merges.txt) splits with.</summary>
    internal const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>GPT-2's regex, which HF's <c>ByteLevel</c> pre-tokenizer splits with when <c>use_regex</c> is true (byte_level.rs).</summary>
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _ids;
    private readonly string?[] _pieces;
    private readonly HashSet<int> _special;

    private ByteLevelBpeTokenizer(Dictionary<string, int> vocab, List<(string Left, string Right)> merges, AddedToken[] added,
        IEnumerable<int> special, string pattern, bool nfc, string source)
    {
        foreach (var (left, right) in merges)
            if (!vocab.ContainsKey(left) || !vocab.ContainsKey(right) || !vocab.ContainsKey(left + right))
                throw Invalid(source, $"merge '{left} {right}' uses a token missing from the vocabulary");
        var addedIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in added)
            if (!addedIds.TryAdd(token.Content, token.Id)) throw Invalid(source, $"added token '{token.Content}' is listed twice");
        // An added token may also be a vocabulary entry of the same id (ModernBERT's |||IP_ADDRESS||| is both), not of another.
        if (vocab.Concat(addedIds).Distinct().GroupBy(entry => entry.Value).FirstOrDefault(g => g.Count() > 1) is { } shared)
            throw Invalid(source, $"id {shared.Key} is given to more than one token");
        Regex regex;
        try
        {
            // Culture-invariant, as the reference's regex engine (Oniguruma) knows no cultures.
            regex = new Regex(pattern, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw Unsupported(source, $"the pre-tokenizer's regex does not parse in .NET ({e.Message})");
        }
        _bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges.Select(m => $"{m.Left} {m.Right}"),
            ByteLevel = true,
            SpecialTokens = addedIds,
            Normalizer = nfc ? new NfcNormalizer() : null,
            PreTokenizer = new Qwen2PreTokenizer(regex, added),
        });
        _ids = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (var (content, id) in addedIds) _ids[content] = id;
        _pieces = new string?[_ids.Values.DefaultIfEmpty(-1).Max() + 1];
        foreach (var (piece, id) in _ids) _pieces[id] = piece;
        _special = [.. special];
        VocabSize = _pieces.Length;
    }

    /// <summary>Ids the tokenizer can produce, added tokens included.</summary>
    public int VocabSize { get; }

    /// <summary>The id of <paramref name="token"/> (a vocabulary piece in its byte-level spelling, or an added token), if it has one.</summary>
    public int? IdOf(string token) => _ids.TryGetValue(token, out var id) ? id : null;

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
        return new ByteLevelBpeTokenizer(vocab, merges, [.. added], special, Qwen2Pattern, nfc: true, mergesPath);
    }

    internal static ByteLevelBpeTokenizer FromJson(JsonElement root, string source)
    {
        var model = Required(root, "model", JsonValueKind.Object, source, "model");
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
            throw Unsupported(source, "model.byte_fallback is true (a SentencePiece-style BPE)");
        var (vocab, merges, added, special) = ReadBpeModel(root, source, Family, allowNormalized: true, what => Unsupported(source, what));
        var nfc = root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
            ? RequiredString(normalizer, "type", source, "normalizer.type") == "NFC" ? true : throw Unsupported(source, $"normalizer.type is '{normalizer.GetProperty("type").GetString()}'; Qwen's and ModernBERT's tokenizers use NFC")
            : false;
        var pattern = ReadPreTokenizer(root, source);
        return new ByteLevelBpeTokenizer(vocab, merges, added, special, pattern, nfc, source);
    }

    // Split(Regex, Isolated) then ByteLevel(use_regex: false), as Qwen2/Qwen3 ship it (the regex taken as written), or
    // ByteLevel(use_regex: true) alone, as GPT-2, OLMo and ModernBERT ship it (GPT-2's regex). Neither adds a prefix space.
    private static string ReadPreTokenizer(JsonElement root, string source)
    {
        var pre = Required(root, "pre_tokenizer", JsonValueKind.Object, source, "pre_tokenizer");
        var steps = RequiredString(pre, "type", source, "pre_tokenizer.type") == "Sequence"
            ? Required(pre, "pretokenizers", JsonValueKind.Array, source, "pre_tokenizer.pretokenizers").EnumerateArray().ToArray()
            : [pre];
        // Missing or mistyped keys read as null: any such step is simply not the shape RerankSharp runs.
        static JsonElement? Member(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : null;
        static string? Text(JsonElement? e) => e is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;
        if (steps.Length == 1 && Text(Member(steps[0], "type")) == "ByteLevel" && !Flag(steps[0], "add_prefix_space") && Flag(steps[0], "use_regex"))
            return Gpt2Pattern;
        if (steps.Length != 2
            || Text(Member(steps[0], "type")) != "Split" || Text(Member(steps[0], "behavior")) != "Isolated"
            || Flag(steps[0], "invert") || Text(Member(steps[0], "pattern") is { } p ? Member(p, "Regex") : null) is not { } regex
            || Text(Member(steps[1], "type")) != "ByteLevel" || Flag(steps[1], "add_prefix_space") || Flag(steps[1], "use_regex"))
            throw Unsupported(source, "pre_tokenizer is neither Sequence[Split(Regex, Isolated), ByteLevel(add_prefix_space: false, use_regex: false)] (Qwen) nor ByteLevel(add_prefix_space: false, use_regex: true) (GPT-2, ModernBERT)");
        return regex;
    }

    /// <summary>Ids of <paramref name="text"/>, untruncated; no special tokens are added.</summary>
    public int[] EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Rust strings cannot hold lone surrogates; the reference only ever sees U+FFFD in their place.
        return [.. _bpe.EncodeToIds(XlmRobertaTokenizer.ReplaceLoneSurrogates(text))];
    }

    /// <summary>
    /// The text of <paramref name="ids"/> as Hugging Face's <c>decode(ids, skip_special_tokens=False)</c> gives it with the
    /// ByteLevel decoder and no clean-up (Qwen's <c>clean_up_tokenization_spaces</c> is false): each token's characters
    /// mapped back to bytes (a token with a character outside GPT-2's byte alphabet, an added token, gives its own UTF-8),
    /// then the bytes read as UTF-8 with every invalid sequence replaced by U+FFFD, as Rust's from_utf8_lossy does.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var piece in ToPieces(ids))
        {
            var start = bytes.Count;
            foreach (var c in piece)
            {
                if (c >= ByteOfChar.Length || ByteOfChar[c] < 0)
                {
                    bytes.RemoveRange(start, bytes.Count - start);
                    bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(piece));
                    break;
                }
                bytes.Add((byte)ByteOfChar[c]);
            }
        }
        // .NET's decoder replaces each maximal invalid subsequence with one U+FFFD (Unicode's recommended practice), as
        // Rust's String::from_utf8_lossy does.
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }

    // GPT-2's bytes_to_unicode, inverted: printable Latin-1 characters stand for their own byte, the other 68 bytes for
    // U+0100 upwards in byte order.
    private static readonly short[] ByteOfChar = BuildByteOfChar();

    private static short[] BuildByteOfChar()
    {
        var table = new short[0x100 + 68];
        Array.Fill(table, (short)-1);
        var next = 0x100;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[printable ? b : next++] = (short)b;
        }
        return table;
    }

    /// <summary>The vocabulary strings of <paramref name="ids"/> (byte-level spelling, e.g. <c>Ġworld</c>).</summary>
    public string[] ToPieces(ReadOnlySpan<int> ids) => PairTokenizer.PiecesOf(_pieces, ids);

    // HF's NFC normalizer; string.Normalize has no Unicode data under InvariantGlobalization.
    private sealed class NfcNormalizer : Normalizer
    {
        public override string Normalize(string original) => UnicodeNormalization.Nfc(original);

        public override string Normalize(ReadOnlySpan<char> original) => UnicodeNormalization.Nfc(original.ToString());
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
