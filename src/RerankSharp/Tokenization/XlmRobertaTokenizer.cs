namespace RerankSharp.Tokenization;

/// <summary>
/// The XLM-RoBERTa tokenizer of bge-reranker-v2-m3, giving the ids of Hugging Face's fast tokenizer
/// (what FlagEmbedding's <c>AutoTokenizer</c> loads) in fairseq numbering: <c>&lt;s&gt;</c>=0,
/// <c>&lt;pad&gt;</c>=1, <c>&lt;/s&gt;</c>=2, <c>&lt;unk&gt;</c>=3, <c>&lt;mask&gt;</c> last; and the same SentencePiece
/// Unigram pipeline in DeBERTa-v2/v3's layout (mxbai-rerank-v1's tokenizer.json): a Strip before the charsmap and
/// <c>[CLS] A [SEP] B [SEP]</c> with the document in segment 1.
/// </summary>
/// <remarks>
/// Stages, each its own type as in HF tokenizers: <see cref="AddedTokenSplitter"/> (literal specials in
/// the raw text) → (DeBERTa's Strip of each piece between them) → <see cref="XlmRobertaNormalizer"/> (Precompiled
/// charsmap per grapheme cluster, then space runs) → <see cref="MetaspacePreTokenizer"/> → <see cref="UnigramModel"/>
/// → <see cref="Truncation"/> → <see cref="SentencePieceTemplate"/>. Immutable after loading and safe to call from many
/// threads at once.
/// </remarks>
public sealed class XlmRobertaTokenizer : PairTokenizer
{
    private readonly AddedTokenSplitter _splitter;
    private readonly XlmRobertaNormalizer _normalizer;
    private readonly UnigramModel _model;
    private readonly SentencePieceTemplate _template;
    private readonly bool _strip;

    private XlmRobertaTokenizer(TokenizerDefinition definition)
    {
        var charsmap = definition.PrecompiledCharsmap.Length > 0 ? PrecompiledCharsmap.Parse(definition.PrecompiledCharsmap) : null;
        _splitter = new AddedTokenSplitter(definition.AddedTokens);
        _normalizer = new XlmRobertaNormalizer(charsmap);
        _model = new UnigramModel(definition.Pieces, definition.Scores, definition.UnkId, definition.ModelPieceCount);
        _template = definition.DebertaV2
            ? SentencePieceTemplate.DebertaV2(definition.BosId, definition.EosId)
            : SentencePieceTemplate.XlmRoberta(definition.BosId, definition.EosId);
        _strip = definition.StripWhitespace;
        BosId = definition.BosId;
        EosId = definition.EosId;
        PadId = definition.PadId;
        UnkId = definition.UnkId;
        MaskId = definition.MaskId;
    }

    /// <summary>Loads <c>sentencepiece.bpe.model</c>, numbered as transformers' XLM-R converter numbers it.</summary>
    public static XlmRobertaTokenizer FromSentencePieceModel(string path)
        => new(SentencePieceModelReader.Read(path));

    /// <summary>Loads a Hugging Face <c>tokenizer.json</c> of the XLM-RoBERTa kind.</summary>
    public static XlmRobertaTokenizer FromTokenizerJson(string path)
        => new(TokenizerJsonReader.Read(path));

    internal static XlmRobertaTokenizer FromJson(System.Text.Json.JsonElement root, string source)
        => new(TokenizerJsonReader.FromJson(root, source));

    /// <summary>
    /// Loads from whichever file exists, preferring <c>tokenizer.json</c> because it is what the
    /// reference fast tokenizer reads.
    /// </summary>
    public static XlmRobertaTokenizer FromFiles(string? sentencePieceModelPath, string? tokenizerJsonPath)
    {
        if (tokenizerJsonPath is not null && File.Exists(tokenizerJsonPath))
        {
            return FromTokenizerJson(tokenizerJsonPath);
        }

        if (sentencePieceModelPath is not null && File.Exists(sentencePieceModelPath))
        {
            return FromSentencePieceModel(sentencePieceModelPath);
        }

        string tried = string.Join(" or ", new[] { tokenizerJsonPath, sentencePieceModelPath }.Where(p => p is not null).Select(p => $"'{p}'"));
        throw new RerankException(RerankErrorKind.ModelNotFound,
            tried.Length == 0
                ? "No tokenizer file was given; pass the model's tokenizer.json or sentencepiece.bpe.model."
                : $"Neither tokenizer file exists ({tried}); pass a model folder that holds tokenizer.json or sentencepiece.bpe.model.");
    }

    /// <summary>Number of ids, <c>&lt;mask&gt;</c> included (250,002 for XLM-R).</summary>
    public override int VocabSize => _model.Count;

    public override int BosId { get; }

    public override int PadId { get; }

    /// <summary><c>&lt;s&gt; q &lt;/s&gt;&lt;/s&gt; d &lt;/s&gt;</c>: 4; DeBERTa's <c>[CLS] q [SEP] d [SEP]</c>: 3.</summary>
    public override int PairSpecialTokens => _template.PairSpecialTokens;

    /// <summary>Whether the pair template is DeBERTa-v2's <c>[CLS] A [SEP] B [SEP]</c> (else XLM-R's).</summary>
    internal bool IsDebertaV2 => _template.SecondSegment;

    public override int EosId { get; }

    public int UnkId { get; }

    public int MaskId { get; }

    /// <summary>Ids of <paramref name="text"/> without special tokens and without truncation.</summary>
    public override int[] EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new PooledBuffer<int>(text.Length / 2 + 4);
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

    /// <summary>
    /// Ids of <paramref name="text"/> without special tokens and without truncation, and where each token came from in
    /// <paramref name="text"/> (UTF-16 indices): Hugging Face's <c>offset_mapping</c>, including its choices for text
    /// the normaliser rewrote (a ligature's pieces all point at the ligature; a prepended '▁' at the first character).
    /// </summary>
    public int[] EncodeText(string text, out CharSpan[] offsets)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new PooledBuffer<int>(text.Length / 2 + 4);
        var spans = new PooledBuffer<CharSpan>(text.Length / 2 + 4);
        try
        {
            EncodeInto(text, ref ids, ref spans, track: true);
            offsets = spans.ToArray();
            return ids.ToArray();
        }
        finally
        {
            ids.Dispose();
            spans.Dispose();
        }
    }

    /// <summary><c>&lt;s&gt; query &lt;/s&gt;&lt;/s&gt; document &lt;/s&gt;</c> of content ids already encoded and cut; there is no instruction.</summary>
    internal override int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction) => _template.Pair(query, document);

    internal override int[]? EncodeTextWithOffsets(string text, out CharSpan[]? offsets)
    {
        var ids = EncodeText(text, out var spans);
        offsets = spans;
        return ids;
    }

    /// <summary><c>&lt;s&gt; text &lt;/s&gt;</c> (<c>[CLS] text [SEP]</c>), the text cut on the right to fit <paramref name="maxLength"/>.</summary>
    public override int[] EncodeSingle(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckMaxLength(maxLength, _template.SingleSpecialTokens, $"a single text ({_template.DescribeSingle})");
        var ids = new PooledBuffer<int>(text.Length / 2 + 4);
        try
        {
            EncodeInto(text, ref ids);
            int keep = Truncation.Single(ids.Count, maxLength - _template.SingleSpecialTokens);
            return _template.Single(ids.Span[..keep]);
        }
        finally
        {
            ids.Dispose();
        }
    }

    /// <inheritdoc />
    /// <remarks><c>&lt;s&gt; query &lt;/s&gt;&lt;/s&gt; document &lt;/s&gt;</c> (<c>[CLS] query [SEP] document [SEP]</c>); there is no instruction.</remarks>
    internal override EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        if (strategy is not (TruncationStrategy.LongestFirst or TruncationStrategy.OnlySecond))
        {
            throw new RerankException(RerankErrorKind.InvalidInput, $"Unknown truncation strategy {strategy}; use longest_first or only_second.");
        }

        CheckMaxLength(maxLength, _template.PairSpecialTokens, $"a pair ({_template.DescribePair})");
        var q = new PooledBuffer<int>(query.Length / 2 + 4);
        var d = new PooledBuffer<int>(document.Length / 2 + 4);
        try
        {
            EncodeInto(query, ref q);
            EncodeInto(document, ref d);
            var untruncated = q.Count + d.Count + _template.PairSpecialTokens;
            var documentTokens = maxDocumentTokens is { } cap ? Math.Min(d.Count, Math.Max(cap, 0)) : d.Count;
            var (keepQ, keepD) = Truncation.Pair(q.Count, documentTokens, maxLength - _template.PairSpecialTokens, strategy, maxLength);
            var ids = direction == TruncationDirection.Left
                ? _template.Pair(q.Span[(q.Count - keepQ)..], d.Span[(d.Count - keepD)..])
                : _template.Pair(q.Span[..keepQ], d.Span[..keepD]);
            return new EncodedPair(ids, untruncated);
        }
        finally
        {
            q.Dispose();
            d.Dispose();
        }
    }

    /// <inheritdoc />
    /// <remarks>DeBERTa-v2: 1 after the first <c>[SEP]</c>, as its template gives <c>B [SEP]</c> type 1; XLM-R: all 0.</remarks>
    internal override void TokenTypeIds(ReadOnlySpan<long> ids, Span<long> types)
    {
        if (_template.SecondSegment) SegmentAfterFirst(EosId, ids, types);
        else types.Clear();
    }

    /// <inheritdoc />
    public override bool IsSpecial(int id) => id == BosId || id == EosId || id == PadId || id == UnkId || id == MaskId;

    /// <inheritdoc />
    public override int[] WithSpecialTokens(int[] ids) => [BosId, .. ids, EosId];

    /// <inheritdoc />
    public override string[] ToPieces(ReadOnlySpan<int> ids)
    {
        var pieces = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)_model.Count)
            {
                throw new RerankException(RerankErrorKind.InvalidInput, $"Token id {ids[i]} is outside the vocabulary of {_model.Count}; pass ids this tokenizer produced.");
            }

            pieces[i] = _model.IdToPiece(ids[i]);
        }

        return pieces;
    }

    private void EncodeInto(string text, ref PooledBuffer<int> ids)
    {
        var noOffsets = default(PooledBuffer<CharSpan>);
        EncodeInto(text, ref ids, ref noOffsets, track: false);
    }

    // One path for ids with and without offsets, so tracking offsets can never change an id.
    private void EncodeInto(string text, ref PooledBuffer<int> ids, ref PooledBuffer<CharSpan> offsets, bool track)
    {
        // Rust strings cannot hold lone surrogates; the reference only ever sees U+FFFD in their place
        // (one character for one, so offsets are unchanged).
        text = ReplaceLoneSurrogates(text);
        var segments = new PooledBuffer<TextSegment>(8);
        var normalized = new PooledBuffer<char>(text.Length + 16);
        var words = new PooledBuffer<(int Start, int Length)>(text.Length / 4 + 4);
        var alignments = track ? new PooledBuffer<CharSpan>(text.Length + 16) : default;
        var pieces = track ? new PooledBuffer<CharSpan>(16) : default;
        try
        {
            _splitter.Split(text, ref segments);
            foreach (var segment in segments.Span)
            {
                if (segment.IsAddedToken)
                {
                    ids.Add(segment.TokenId);
                    if (track)
                    {
                        offsets.Add(new CharSpan(segment.Start, segment.Start + segment.Length));
                    }

                    continue;
                }

                normalized.Clear();
                words.Clear();
                var (start, length) = _strip ? Stripped(text, segment.Start, segment.Length) : (segment.Start, segment.Length);
                var original = text.AsSpan(start, length);
                if (length == 0)
                {
                    continue;
                }

                if (!track)
                {
                    _normalizer.Normalize(original, ref normalized);
                    MetaspacePreTokenizer.PreTokenize(ref normalized, 0, ref words);
                    foreach (var word in words.Span)
                    {
                        _model.Encode(normalized.Span.Slice(word.Start, word.Length), ref ids);
                    }

                    continue;
                }

                alignments.Clear();
                _normalizer.Normalize(original, ref normalized, ref alignments);
                MetaspacePreTokenizer.PreTokenize(ref normalized, 0, ref words, ref alignments, track: true);
                foreach (var word in words.Span)
                {
                    pieces.Clear();
                    _model.Encode(normalized.Span.Slice(word.Start, word.Length), ref ids, ref pieces, track: true);
                    foreach (var piece in pieces.Span)
                    {
                        // Alignments are relative to the (stripped) segment, as HF's slice of the original is.
                        var span = TextAlignment.Expand(alignments.Span.Slice(word.Start + piece.Start, piece.Length));
                        offsets.Add(new CharSpan(start + span.Start, start + span.End));
                    }
                }
            }
        }
        finally
        {
            segments.Dispose();
            normalized.Dispose();
            words.Dispose();
            alignments.Dispose();
            pieces.Dispose();
        }
    }

    // HF's Strip normaliser (both ends) on one piece of text between added tokens: Rust's char::is_whitespace, which is
    // Unicode White_Space, the set char.IsWhiteSpace tests (all in the BMP).
    private static (int Start, int Length) Stripped(string text, int start, int length)
    {
        int end = start + length;
        while (start < end && char.IsWhiteSpace(text[start])) start++;
        while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        return (start, end - start);
    }

    internal static string ReplaceLoneSurrogates(string text)
    {
        int bad = -1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                bad = i;
                break;
            }
        }

        if (bad < 0)
        {
            return text;
        }

        var chars = text.ToCharArray();
        for (int i = bad; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }
}
