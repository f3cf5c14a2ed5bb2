namespace RerankSharp.Tokenization;

/// <summary>
/// Qwen3-Reranker's input as its model card builds it: the chat-format system prefix, then
/// <c>&lt;Instruct&gt;: {instruction}\n&lt;Query&gt;: {query}\n&lt;Document&gt;: {document}</c> tokenized as one text and
/// cut to <c>max_length − prefix − suffix</c> tokens (the end goes first), then the assistant suffix with an empty think
/// block. The model's answer is read at the last position: the logits of "yes" and "no".
/// </summary>
/// <remarks>
/// The texts are those of the Qwen/Qwen3-Reranker-0.6B model card ("Transformers Usage"), which the 4B and 8B cards
/// repeat. Immutable after loading and safe to call from many threads at once.
/// </remarks>
public sealed class Qwen3RerankerTokenizer : PairTokenizer
{
    /// <summary>The system turn and the opening of the user turn.</summary>
    public const string Prefix = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. "
        + "Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";

    /// <summary>The end of the user turn and the assistant turn with an empty think block.</summary>
    public const string Suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

    /// <summary>The instruction when a request gives none.</summary>
    public const string DefaultInstruction = "Given a web search query, retrieve relevant passages that answer the query";

    private readonly int[] _prefix;
    private readonly int[] _suffix;

    public Qwen3RerankerTokenizer(ByteLevelBpeTokenizer tokenizer)
    {
        Bpe = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _prefix = tokenizer.EncodeText(Prefix);
        _suffix = tokenizer.EncodeText(Suffix);
        YesId = Required(tokenizer, "yes");
        NoId = Required(tokenizer, "no");
        BosId = Required(tokenizer, "<|im_start|>");
        EosId = Required(tokenizer, "<|im_end|>");
        PadId = tokenizer.IdOf("<|endoftext|>") ?? EosId;
    }

    /// <summary>The byte-level BPE underneath.</summary>
    public ByteLevelBpeTokenizer Bpe { get; }

    /// <summary>The id of "yes", whose logit against "no"'s is the score.</summary>
    public int YesId { get; }

    /// <summary>The id of "no".</summary>
    public int NoId { get; }

    public override int VocabSize => Bpe.VocabSize;

    /// <summary><c>&lt;|im_start|&gt;</c>.</summary>
    public override int BosId { get; }

    /// <summary><c>&lt;|im_end|&gt;</c>.</summary>
    public override int EosId { get; }

    /// <summary><c>&lt;|endoftext|&gt;</c>, Qwen's pad token.</summary>
    public override int PadId { get; }

    /// <summary>The prompt's fixed prefix and suffix tokens.</summary>
    public override int PairSpecialTokens => _prefix.Length + _suffix.Length;

    public override int[] EncodeText(string text) => Bpe.EncodeText(text);

    /// <summary>The text's ids, the first <paramref name="maxLength"/> kept: Qwen's tokenizer adds no special tokens.</summary>
    public override int[] EncodeSingle(string text, int maxLength) => FirstTokens(Bpe.EncodeText(text), maxLength);

    public override int[] WithSpecialTokens(int[] ids) => ids;

    /// <inheritdoc />
    /// <remarks>
    /// Both strategies cut the formatted text (one sequence, as the model card tokenizes it); a left cut removes its start.
    /// A document cap is applied to the document alone, at a character boundary, before formatting.
    /// </remarks>
    internal override EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        CheckMaxLength(maxLength, PairSpecialTokens, "Qwen3-Reranker's prompt");
        if (maxDocumentTokens is { } cap) document = CapDocument(document, Math.Max(cap, 0));
        var content = Bpe.EncodeText(Format(instruction, query, document));
        var budget = maxLength - PairSpecialTokens;
        var keep = Math.Min(content.Length, budget);
        var kept = direction == TruncationDirection.Left ? content.AsSpan(content.Length - keep) : content.AsSpan(0, keep);
        int[] ids = [.. _prefix, .. kept, .. _suffix];
        return new EncodedPair(ids, content.Length + PairSpecialTokens);
    }

    /// <summary>
    /// The prompt around a query's and a document's ids encoded apart (a long document's windows): the model card's
    /// text with the query and the document tokenized on their own. It differs from tokenizing the whole formatted text
    /// (the plain path) at the two seams only: the space after "&lt;Query&gt;:" and "&lt;Document&gt;:" is its own token
    /// instead of joining the first word's. Documents that fit are not windowed and keep the plain path's ids.
    /// </summary>
    internal override int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction)
    {
        var (head, middle) = Labels(instruction);
        return [.. _prefix, .. head, .. query, .. middle, .. document, .. _suffix];
    }

    internal override int PairOverhead(string? instruction)
    {
        var (head, middle) = Labels(instruction);
        return PairSpecialTokens + head.Length + middle.Length;
    }

    private (int[] Head, int[] Middle) Labels(string? instruction) =>
        (Bpe.EncodeText($"<Instruct>: {instruction ?? DefaultInstruction}\n<Query>: "), Bpe.EncodeText("\n<Document>: "));

    /// <summary>The model card's <c>format_instruction</c>.</summary>
    public static string Format(string? instruction, string query, string document) =>
        $"<Instruct>: {instruction ?? DefaultInstruction}\n<Query>: {query}\n<Document>: {document}";

    public override string[] ToPieces(ReadOnlySpan<int> ids) => Bpe.ToPieces(ids);

    public override bool IsSpecial(int id) => Bpe.IsSpecial(id);

    // The longest prefix of the document whose own tokens number at most `cap`, found on the UTF-8 bytes of the first
    // `cap` tokens (byte-level pieces are bytes), cut back to a whole character.
    private string CapDocument(string document, int cap)
    {
        var ids = Bpe.EncodeText(document);
        if (ids.Length <= cap) return document;
        var bytes = 0;
        foreach (var piece in Bpe.ToPieces(ids.AsSpan(0, cap))) bytes += piece.Length;
        var kept = 0;
        var used = 0;
        foreach (var rune in document.EnumerateRunes())
        {
            if (used + rune.Utf8SequenceLength > bytes) break;
            used += rune.Utf8SequenceLength;
            kept += rune.Utf16SequenceLength;
        }
        return document[..kept];
    }

    private static int Required(ByteLevelBpeTokenizer tokenizer, string token) =>
        tokenizer.IdOf(token) ?? throw new RerankException(RerankErrorKind.InvalidModel,
            $"The tokenizer has no '{token}' token, which Qwen3-Reranker's prompt and scoring need; pass the model's own tokenizer files.");
}
