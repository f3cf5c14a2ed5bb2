using System.Text.Json;
using static RerankSharp.Tokenization.TokenizerJsonReader;

namespace RerankSharp.Tokenization;

/// <summary>
/// BERT's WordPiece tokenizer (ms-marco-MiniLM, TinyBERT and other <c>BertForSequenceClassification</c>
/// cross-encoders), giving the ids and token types of Hugging Face's fast <c>BertTokenizerFast</c>.
/// </summary>
/// <remarks>
/// Stages as in HF tokenizers: <see cref="AddedTokenSplitter"/> (the special literals in the raw text) →
/// <see cref="BertNormalizer"/> → <see cref="BertPreTokenizer"/> → <see cref="WordPieceModel"/> →
/// <see cref="Truncation"/> → <c>[CLS] A [SEP] B [SEP]</c>, token type 0 up to the first <c>[SEP]</c> and 1 after.
/// Immutable after loading and safe to call from many threads at once.
/// </remarks>
public sealed class WordPieceTokenizer : PairTokenizer
{
    private const string Family = "BERT WordPiece";
    private readonly AddedTokenSplitter _splitter;
    private readonly BertNormalizer _normalizer;
    private readonly WordPieceModel _model;
    private readonly HashSet<int> _specialIds;

    private WordPieceTokenizer(WordPieceModel model, BertNormalizer normalizer, AddedToken[] addedTokens, int clsId, int sepId, int padId, string source)
    {
        _model = model;
        _normalizer = normalizer;
        _splitter = new AddedTokenSplitter(addedTokens);
        _specialIds = [.. addedTokens.Select(t => t.Id), model.UnkId];
        BosId = clsId;
        EosId = sepId;
        PadId = padId >= 0 ? padId : throw new RerankException(RerankErrorKind.InvalidModel, $"'{source}' defines no [PAD] token; re-download the model's tokenizer files.");
    }

    public override int VocabSize => _model.Count;

    /// <summary>The id of <c>[CLS]</c>.</summary>
    public override int BosId { get; }

    /// <summary>The id of <c>[SEP]</c>.</summary>
    public override int EosId { get; }

    public override int PadId { get; }

    /// <summary><c>[CLS] q [SEP] d [SEP]</c>: 3.</summary>
    public override int PairSpecialTokens => 3;

    /// <summary>Whether the basic tokenizer lower-cases (<c>do_lower_case</c>).</summary>
    public bool Lowercase => _normalizer.Lowercase;

    /// <summary>Whether accents are stripped (<c>strip_accents</c>, by default as <see cref="Lowercase"/>).</summary>
    public bool StripAccents => _normalizer.StripAccents;

    /// <summary>Loads a Hugging Face <c>tokenizer.json</c> whose model is WordPiece.</summary>
    public static WordPieceTokenizer FromTokenizerJson(string path)
    {
        using var document = ReadJson(path);
        return FromJson(document.RootElement, path);
    }

    /// <summary>
    /// Loads <c>vocab.txt</c> (one piece a line, the line number its id) with the settings of <c>tokenizer_config.json</c>
    /// when given, as transformers' <c>BertConverter</c> turns a slow BERT tokenizer into the fast one.
    /// </summary>
    public static WordPieceTokenizer FromVocabFile(string vocabPath, string? tokenizerConfigPath = null)
    {
        if (!File.Exists(vocabPath))
            throw new RerankException(RerankErrorKind.ModelNotFound, $"vocab.txt '{vocabPath}' not found; pass the model folder that holds it or its tokenizer.json.");
        var pieces = File.ReadAllLines(vocabPath).Select(l => l.TrimEnd('\r')).ToArray();
        if (pieces.Length > 0 && pieces[^1].Length == 0) pieces = pieces[..^1];   // a final empty line is the file's newline
        bool lower = true, chinese = true;
        bool? strip = null;
        string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
        if (tokenizerConfigPath is not null && File.Exists(tokenizerConfigPath))
        {
            using var config = ReadJson(tokenizerConfigPath);
            var root = config.RootElement;
            lower = OptionalBool(root, "do_lower_case") ?? true;
            chinese = OptionalBool(root, "tokenize_chinese_chars") ?? true;
            strip = OptionalBool(root, "strip_accents");
            unk = TokenName(root, "unk_token") ?? unk;
            cls = TokenName(root, "cls_token") ?? cls;
            sep = TokenName(root, "sep_token") ?? sep;
            pad = TokenName(root, "pad_token") ?? pad;
            mask = TokenName(root, "mask_token") ?? mask;
        }
        var model = new WordPieceModel(pieces, IdOf(pieces, unk, vocabPath));
        var added = new[] { pad, unk, cls, sep, mask }.Where(pieces.Contains).Distinct()
            .Select(t => new AddedToken(t, Array.IndexOf(pieces, t), false, false)).ToArray();
        return new WordPieceTokenizer(model, new BertNormalizer(true, chinese, strip ?? lower, lower), added,
            IdOf(pieces, cls, vocabPath), IdOf(pieces, sep, vocabPath), Array.IndexOf(pieces, pad), vocabPath);
    }

    internal static WordPieceTokenizer FromJson(JsonElement root, string source)
    {
        var model = Required(root, "model", JsonValueKind.Object, source, "model");
        var vocab = Required(model, "vocab", JsonValueKind.Object, source, "model.vocab");
        var byId = new SortedDictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out var id) || id < 0 || !byId.TryAdd(id, entry.Name))
                throw Invalid(source, $"model.vocab['{entry.Name}'] is not a unique non-negative id");
        }
        if (byId.Count == 0 || byId.Keys.Last() != byId.Count - 1)
            throw Invalid(source, "model.vocab ids do not run from 0 without gaps");
        var pieces = byId.Values.ToArray();
        var prefix = model.TryGetProperty("continuing_subword_prefix", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "##";
        var maxChars = model.TryGetProperty("max_input_chars_per_word", out var m) && m.TryGetInt32(out var mc) ? mc : 100;
        var unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : "[UNK]";
        var wordPiece = new WordPieceModel(pieces, IdOf(pieces, unk, source), prefix, maxChars);

        var added = ReadAddedTokens(root, pieces.Length, source, Family);
        var (cls, sep) = ReadPostProcessor(root, source);
        var pad = added.FirstOrDefault(t => t.Content == "[PAD]")?.Id ?? Array.IndexOf(pieces, "[PAD]");
        return new WordPieceTokenizer(wordPiece, ReadNormalizer(root, source), added, IdOf(pieces, cls, source), IdOf(pieces, sep, source), pad, source);
    }

    private static BertNormalizer ReadNormalizer(JsonElement root, string source)
    {
        var normalizer = Required(root, "normalizer", JsonValueKind.Object, source, "normalizer");
        var type = RequiredString(normalizer, "type", source, "normalizer.type");
        if (type != "BertNormalizer")
            throw Unsupported(source, $"normalizer.type is '{type}'; BERT tokenizers use BertNormalizer");
        var lower = OptionalBool(normalizer, "lowercase") ?? true;
        return new BertNormalizer(OptionalBool(normalizer, "clean_text") ?? true, OptionalBool(normalizer, "handle_chinese_chars") ?? true,
            OptionalBool(normalizer, "strip_accents") ?? lower, lower);
    }

    private static (string Cls, string Sep) ReadPostProcessor(JsonElement root, string source)
    {
        var pre = Required(root, "pre_tokenizer", JsonValueKind.Object, source, "pre_tokenizer");
        if (RequiredString(pre, "type", source, "pre_tokenizer.type") != "BertPreTokenizer")
            throw Unsupported(source, $"pre_tokenizer.type is '{pre.GetProperty("type").GetString()}'; BERT tokenizers use BertPreTokenizer");
        var post = Required(root, "post_processor", JsonValueKind.Object, source, "post_processor");
        var type = RequiredString(post, "type", source, "post_processor.type");
        if (type == "BertProcessing")
            return (post.GetProperty("cls")[0].GetString()!, post.GetProperty("sep")[0].GetString()!);
        if (type != "TemplateProcessing")
            throw Unsupported(source, $"post_processor.type is '{type}'; BERT tokenizers use TemplateProcessing or BertProcessing");
        // [CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1 is the only pair template the scoring path reproduces.
        var items = Required(post, "pair", JsonValueKind.Array, source, "post_processor.pair").EnumerateArray().ToArray();
        string Item(int i, string kind) => items.Length == 5 && items[i].TryGetProperty(kind, out var v) ? v.GetProperty("id").GetString()! : "";
        int TypeId(int i) => items[i].EnumerateObject().First().Value.GetProperty("type_id").GetInt32();
        if (items.Length != 5 || Item(1, "Sequence") != "A" || Item(3, "Sequence") != "B" || Item(0, "SpecialToken") == "" || Item(2, "SpecialToken") == ""
            || Item(4, "SpecialToken") != Item(2, "SpecialToken") || TypeId(0) != 0 || TypeId(1) != 0 || TypeId(2) != 0 || TypeId(3) != 1 || TypeId(4) != 1)
            throw Unsupported(source, "post_processor.pair is not [CLS] $A [SEP] $B [SEP] with type ids 0 0 0 1 1");
        var cls = Item(0, "SpecialToken");
        var sep = Item(2, "SpecialToken");
        var special = Required(post, "special_tokens", JsonValueKind.Object, source, "post_processor.special_tokens");
        return (special.TryGetProperty(cls, out var c) ? c.GetProperty("tokens")[0].GetString()! : cls,
            special.TryGetProperty(sep, out var s) ? s.GetProperty("tokens")[0].GetString()! : sep);
    }

    public override int[] EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new PooledBuffer<int>(text.Length / 3 + 4);
        try
        {
            EncodeInto(text, ref ids);
            return ids.ToArray();
        }
        finally
        {
            ids.Dispose();
        }
    }

    public override int[] EncodeSingle(string text, int maxLength)
    {
        CheckMaxLength(maxLength, 2, "a single text ([CLS] text [SEP])");
        var ids = EncodeText(text);
        return WithSpecialTokens(ids[..Truncation.Single(ids.Length, maxLength - 2)]);
    }

    public override int[] WithSpecialTokens(int[] ids) => [BosId, .. ids, EosId];

    /// <inheritdoc />
    /// <remarks><c>[CLS] query [SEP] document [SEP]</c>; there is no instruction.</remarks>
    internal override EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        if (strategy is not (TruncationStrategy.LongestFirst or TruncationStrategy.OnlySecond))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Unknown truncation strategy {strategy}; use longest_first or only_second.");
        CheckMaxLength(maxLength, PairSpecialTokens, "a pair ([CLS] query [SEP] document [SEP])");
        var q = EncodeText(query);
        var d = EncodeText(document);
        var untruncated = q.Length + d.Length + PairSpecialTokens;
        var documentTokens = maxDocumentTokens is { } cap ? Math.Min(d.Length, Math.Max(cap, 0)) : d.Length;
        var (keepQ, keepD) = Truncation.Pair(q.Length, documentTokens, maxLength - PairSpecialTokens, strategy, maxLength);
        var left = direction == TruncationDirection.Left;
        var qs = left ? q.AsSpan(q.Length - keepQ) : q.AsSpan(0, keepQ);
        var ds = left ? d.AsSpan(d.Length - keepD) : d.AsSpan(0, keepD);
        int[] ids = [BosId, .. qs, EosId, .. ds, EosId];
        return new EncodedPair(ids, untruncated);
    }

    /// <summary><c>[CLS] query [SEP] document [SEP]</c> of content ids already encoded and cut; there is no instruction.</summary>
    internal override int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction) =>
        [BosId, .. query, EosId, .. document, EosId];

    /// <summary>0 for <c>[CLS] query [SEP]</c>, 1 from there on (document, last <c>[SEP]</c>, padding).</summary>
    /// <remarks>
    /// Read from the ids, so a literal "[SEP]" typed inside the query (which the fast tokenizer also turns into
    /// the <c>[SEP]</c> id) moves the segment boundary forward; the reference keeps it at the template's <c>[SEP]</c>.
    /// </remarks>
    internal override void TokenTypeIds(ReadOnlySpan<long> ids, Span<long> types) => SegmentAfterFirst(EosId, ids, types);

    public override string[] ToPieces(ReadOnlySpan<int> ids)
    {
        var pieces = new string[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)_model.Count)
                throw new RerankException(RerankErrorKind.InvalidInput, $"Token id {ids[i]} is outside the vocabulary of {_model.Count}; pass ids this tokenizer produced.");
            pieces[i] = _model.IdToPiece(ids[i]);
        }
        return pieces;
    }

    public override bool IsSpecial(int id) => _specialIds.Contains(id);

    private void EncodeInto(string text, ref PooledBuffer<int> ids)
    {
        text = XlmRobertaTokenizer.ReplaceLoneSurrogates(text);
        var segments = new PooledBuffer<TextSegment>(4);
        var words = new PooledBuffer<(int Start, int Length)>(text.Length / 4 + 4);
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
                var normalized = _normalizer.Normalize(text.AsSpan(segment.Start, segment.Length));
                words.Clear();
                BertPreTokenizer.PreTokenize(normalized, ref words);
                foreach (var (start, length) in words.Span)
                    _model.Encode(normalized.AsSpan(start, length), ref ids);
            }
        }
        finally
        {
            segments.Dispose();
            words.Dispose();
        }
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

    private static bool? OptionalBool(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static string? TokenName(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        } : null;

    private static int IdOf(string[] pieces, string token, string source)
    {
        var id = Array.IndexOf(pieces, token);
        return id >= 0 ? id : throw Invalid(source, $"the vocabulary has no '{token}'");
    }

    private static RerankException Unsupported(string source, string what) =>
        new(RerankErrorKind.UnsupportedModel, $"'{source}': {what}; this {Family} tokenizer differs from what RerankSharp reproduces.");
}
