using System.Text.Json;

namespace RerankSharp.Tokenization;

/// <summary>
/// What the scoring path needs of a model's tokenizer: text to ids exactly as the model's reference
/// tokenizer gives them, a query and a document joined by the model's template and cut to a max length,
/// and the segment ids (<c>token_type_ids</c>) of such a pair. One subclass per tokenizer family.
/// </summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public abstract class PairTokenizer
{
    /// <summary>Number of ids the tokenizer can produce, added tokens included.</summary>
    public abstract int VocabSize { get; }

    /// <summary>The id batches are padded with.</summary>
    public abstract int PadId { get; }

    /// <summary>The id a sequence starts with (<c>&lt;s&gt;</c>, <c>[CLS]</c>).</summary>
    public abstract int BosId { get; }

    /// <summary>The id that ends a sequence and separates the query from the document (<c>&lt;/s&gt;</c>, <c>[SEP]</c>).</summary>
    public abstract int EosId { get; }

    /// <summary>Special tokens the pair template adds around a query and a document.</summary>
    public abstract int PairSpecialTokens { get; }

    /// <summary>Ids of <paramref name="text"/> without special tokens and without truncation.</summary>
    public abstract int[] EncodeText(string text);

    /// <summary>One text with the model's single-sequence specials, cut on the right to fit <paramref name="maxLength"/>.</summary>
    public abstract int[] EncodeSingle(string text, int maxLength);

    /// <summary>
    /// <paramref name="ids"/> (from <see cref="EncodeText"/>) wrapped in the single-sequence specials, uncut:
    /// what TEI's <c>/tokenize</c> returns with <c>add_special_tokens</c>.
    /// </summary>
    public abstract int[] WithSpecialTokens(int[] ids);

    /// <summary>
    /// A query and a document in the model's pair template, truncated to <paramref name="maxLength"/> by
    /// <paramref name="strategy"/> with the rule of HF tokenizers ≤ 0.22 (see <see cref="TruncationStrategy"/>).
    /// </summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.InvalidInput"/> when <paramref name="maxLength"/> cannot hold the template's
    /// special tokens, or when <see cref="TruncationStrategy.OnlySecond"/> cannot fit the pair by cutting the document.
    /// </exception>
    public int[] EncodePair(string query, string document, int maxLength, TruncationStrategy strategy = TruncationStrategy.LongestFirst)
        => EncodePair(query, document, maxLength, strategy, TruncationDirection.Right, maxDocumentTokens: null).Ids;

    /// <summary>
    /// As <see cref="EncodePair(string, string, int, TruncationStrategy)"/>, with the task instruction of instruction-following
    /// rerankers (Qwen3-Reranker; null = its default); other tokenizers ignore it.
    /// </summary>
    public int[] EncodePair(string query, string document, int maxLength, TruncationStrategy strategy, string? instruction)
        => EncodePair(query, document, maxLength, strategy, TruncationDirection.Right, maxDocumentTokens: null, instruction).Ids;

    /// <summary>
    /// The core of <see cref="EncodePair(string, string, int, TruncationStrategy)"/>: also cuts from the left when asked
    /// (TEI's <c>truncation_direction</c>), first caps the document at <paramref name="maxDocumentTokens"/> (Cohere's
    /// <c>max_tokens_per_doc</c>), takes the instruction of instruction-following rerankers (ignored by the others),
    /// and reports the length the pair would have had uncut.
    /// </summary>
    internal abstract EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null);

    /// <summary>
    /// A query's and a document's ids (each from <see cref="EncodeText"/>, already cut) joined by the pair template
    /// with nothing cut: the windows of a long document (<c>LongDocuments = Chunk</c>).
    /// </summary>
    internal abstract int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction);

    /// <summary>The tokens <see cref="BuildPair"/> adds around a query's and a document's ids.</summary>
    internal virtual int PairOverhead(string? instruction) => PairSpecialTokens;

    /// <summary>
    /// The ids of <paramref name="text"/> as <see cref="EncodeText"/> gives them and where each came from in the text
    /// (UTF-16 indices, Hugging Face's <c>offset_mapping</c>), for tokenizers that track it; null for the others.
    /// </summary>
    internal virtual int[]? EncodeTextWithOffsets(string text, out CharSpan[]? offsets)
    {
        offsets = null;
        return null;
    }

    /// <summary>The vocabulary strings of <paramref name="ids"/>, for debugging and <c>rerank tokenize</c>.</summary>
    public abstract string[] ToPieces(ReadOnlySpan<int> ids);

    /// <summary>Whether <paramref name="id"/> is one of the tokenizer's special tokens.</summary>
    public abstract bool IsSpecial(int id);

    /// <summary>
    /// The segment ids of one encoded row (<paramref name="ids"/>, padding after it included), as the reference
    /// tokenizer returns them with the pair: all 0 unless the template gives the document its own segment.
    /// </summary>
    internal virtual void TokenTypeIds(ReadOnlySpan<long> ids, Span<long> types) => types.Clear();

    /// <summary>
    /// Segment 0 up to and including the first <paramref name="separator"/>, 1 after it (padding included): the type ids
    /// of a <c>[CLS] A [SEP] B [SEP]</c> template, read from the ids at run time.
    /// </summary>
    private protected static void SegmentAfterFirst(int separator, ReadOnlySpan<long> ids, Span<long> types)
    {
        var segment = 0L;
        for (var i = 0; i < ids.Length; i++)
        {
            types[i] = segment;
            if (ids[i] == separator) segment = 1;
        }
    }

    /// <summary>
    /// The tokenizer of a model folder, chosen by what its files say: <c>tokenizer.json</c>'s model type when the
    /// folder has one (what the reference fast tokenizer reads), else the slow tokenizer's files.
    /// </summary>
    public static PairTokenizer Load(Models.ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (folder.TokenizerJsonPath is { } json) return FromAnyTokenizerJson(json);
        if (folder.SentencePieceModelPath is not null)
            return XlmRobertaTokenizer.FromSentencePieceModel(folder.SentencePieceModelPath);
        if (folder.WordPieceVocabPath is { } vocab)
            return WordPieceTokenizer.FromVocabFile(vocab, folder.TokenizerConfigPath);
        if (folder.BpeVocabPath is { } bpeVocab && folder.BpeMergesPath is { } merges)
            return new Qwen3RerankerTokenizer(ByteLevelBpeTokenizer.FromVocabAndMerges(bpeVocab, merges, folder.TokenizerConfigPath));
        throw new RerankException(RerankErrorKind.ModelNotFound,
            $"No tokenizer in {folder.Directory}: it needs tokenizer.json, sentencepiece.bpe.model, vocab.txt, or vocab.json with merges.txt; re-download the model.");
    }

    /// <summary>The tokenizer a <c>tokenizer.json</c> describes, by its model type (Unigram, WordPiece, byte-level BPE).</summary>
    internal static PairTokenizer FromAnyTokenizerJson(string json)
    {
        using var document = ReadTokenizerJson(json);
        var root = document.RootElement;
        var type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
            && model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        try
        {
            return type switch
            {
                "Unigram" or null => XlmRobertaTokenizer.FromJson(root, json),
                "WordPiece" => WordPieceTokenizer.FromJson(root, json),
                // Byte-level BPE: a TemplateProcessing post-processor pairs the texts (ModernBERT's [CLS] A [SEP] B [SEP]);
                // without one it is Qwen3-Reranker's, which reads pairs through its prompt.
                // SentencePiece-style BPE with byte fallback is Gemma's, read through bge-reranker-v2-gemma's prompt.
                "BPE" when ByteFallbackBpeTokenizer.Describes(root) => new DecoderPromptTokenizer(ByteFallbackBpeTokenizer.FromJson(root, json),
                    DecoderPrompt.BgeRerankerV2Gemma, "<bos>", "<eos>", "<pad>"),
                "BPE" when TemplateBpeTokenizer.HasTemplate(root) => TemplateBpeTokenizer.FromJson(root, json),
                "BPE" => new Qwen3RerankerTokenizer(ByteLevelBpeTokenizer.FromJson(root, json)),
                _ => throw new RerankException(RerankErrorKind.UnsupportedModel,
                    $"'{json}': model.type is '{type}'; RerankSharp reads Unigram (XLM-RoBERTa), WordPiece (BERT), byte-level BPE (Qwen, ModernBERT) and byte-fallback BPE (Gemma) tokenizers."),
            };
        }
        // The readers check the keys they need by name; an element of another kind deeper in a hand-edited or damaged
        // file (a list where an object belongs, a string for an id) surfaces from System.Text.Json or from
        // ML.Tokenizers' own checks instead, and is the same fault (found by fuzzing).
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or ArgumentException or FormatException)
        {
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"'{json}' is not a well-formed {type ?? "Unigram"} tokenizer.json ({e.Message.Split('\n')[0].Trim()}); replace it with the model's tokenizer.json.", e);
        }
    }

    // Checked as UTF-8 with no lone-surrogate escapes before anything reads it (JsonFile): JsonDocument would otherwise
    // throw InvalidOperationException from whichever string read met the bad bytes (found by fuzzing).
    private static JsonDocument ReadTokenizerJson(string path) => Models.JsonFile.Read(path, "replace it with the model's tokenizer.json");

    // The pieces of ids from an id → piece table (null where an id has none), for the BPE tokenizers' ToPieces.
    internal static string[] PiecesOf(string?[] table, ReadOnlySpan<int> ids)
    {
        var pieces = new string[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            pieces[i] = ((uint)ids[i] < (uint)table.Length ? table[ids[i]] : null)
                ?? throw new RerankException(RerankErrorKind.InvalidInput, $"Token id {ids[i]} is outside the vocabulary of {table.Length}; pass ids this tokenizer produced.");
        return pieces;
    }

    // A text's own ids (decoder prompts add none to a single text), the first maxLength kept.
    private protected static int[] FirstTokens(int[] ids, int maxLength)
    {
        CheckMaxLength(maxLength, 0, "a text");
        return ids.Length <= maxLength ? ids : ids[..maxLength];
    }

    private protected static void CheckMaxLength(int maxLength, int specialTokens, string what)
    {
        if (maxLength < specialTokens)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"max_length {maxLength} is smaller than the {specialTokens} special tokens of {what}; use a max_length of at least {specialTokens}.");
    }
}
