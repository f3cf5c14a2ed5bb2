namespace RerankSharp.Tokenization;

/// <summary>
/// The blocks of one listwise request: which documents each block holds and the ids the model sees for it.
/// </summary>
/// <param name="Ids">Each block's prompt ids.</param>
/// <param name="Documents">Each block's document indices, in input order.</param>
/// <param name="DocumentTokens">Each document's tokens as the reference counts them (after its cut).</param>
/// <param name="Truncated">Whether each document was cut to the per-document limit.</param>
/// <param name="QueryTokens">The query's tokens after its cut.</param>
internal sealed record ListwiseBlocks(int[][] Ids, int[][] Documents, int[] DocumentTokens, bool[] Truncated, int QueryTokens);

/// <summary>
/// jina-reranker-v3's input as its <c>modeling.py</c> builds it (docs/models.md names the revision): the query and the
/// documents cut to their limits, the documents split into blocks by the reference's capacity rule, and each block one
/// chat prompt in which every document is followed by the document marker (<c>&lt;|embed_token|&gt;</c>) and the query,
/// at the end, by the query marker (<c>&lt;|rerank_token|&gt;</c>). The model's hidden states at those markers are what
/// it scores. The markers are looked up by their text: the checkpoint's code hard-codes ids that hold for its own
/// vocabulary only.
/// </summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public sealed class JinaRerankerV3Tokenizer : PairTokenizer
{
    /// <summary>The system turn and the opening of the user turn (<c>format_docs_prompts_func</c>'s prefix).</summary>
    public const string Prefix = "<|im_start|>system\n"
        + "You are a search relevance expert who can determine a ranking of the passages based on how relevant they are to the query. "
        + "If the query is a question, how relevant a passage is depends on how well it answers the question. "
        + "If not, try to analyze the intent of the query and assess how well each passage satisfies the intent. "
        + "If an instruction is provided, you should follow the instruction when determining the ranking."
        + "<|im_end|>\n<|im_start|>user\n";

    /// <summary>The end of the user turn and the assistant turn with an empty think block (<c>no_thinking=True</c>).</summary>
    public const string Suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

    /// <summary>The token after each document, whose hidden state is the document's embedding.</summary>
    public const string DocumentMarker = "<|embed_token|>";

    /// <summary>The token after the query, whose hidden state is the query's embedding.</summary>
    public const string QueryMarker = "<|rerank_token|>";

    /// <summary>Most documents in one block (<c>rerank()</c>'s <c>block_size</c>).</summary>
    public const int BlockSize = 125;

    /// <summary><c>rerank()</c>'s default <c>max_query_length</c>.</summary>
    public const int DefaultMaxQueryTokens = 512;

    /// <summary><c>rerank()</c>'s default <c>max_doc_length</c>.</summary>
    public const int DefaultMaxDocumentTokens = 2048;

    public JinaRerankerV3Tokenizer(ByteLevelBpeTokenizer tokenizer)
    {
        Bpe = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        DocumentMarkerId = Required(tokenizer, DocumentMarker);
        QueryMarkerId = Required(tokenizer, QueryMarker);
        BosId = Required(tokenizer, "<|im_start|>");
        EosId = Required(tokenizer, "<|im_end|>");
        PadId = tokenizer.IdOf("<|endoftext|>") ?? EosId;
    }

    /// <summary>The byte-level BPE underneath.</summary>
    public ByteLevelBpeTokenizer Bpe { get; }

    /// <summary>The id of <see cref="DocumentMarker"/> in this vocabulary (151670 in jina-reranker-v3's).</summary>
    public int DocumentMarkerId { get; }

    /// <summary>The id of <see cref="QueryMarker"/> in this vocabulary (151671 in jina-reranker-v3's).</summary>
    public int QueryMarkerId { get; }

    public override int VocabSize => Bpe.VocabSize;

    public override int BosId { get; }

    public override int EosId { get; }

    public override int PadId { get; }

    /// <summary>The prompt's tokens around one document and the query, both empty.</summary>
    public override int PairSpecialTokens => Bpe.EncodeText(Format("", [""], null)).Length;

    public override int[] EncodeText(string text) => Bpe.EncodeText(text);

    public override int[] EncodeSingle(string text, int maxLength) => FirstTokens(Bpe.EncodeText(text), maxLength);

    public override int[] WithSpecialTokens(int[] ids) => ids;

    public override string[] ToPieces(ReadOnlySpan<int> ids) => Bpe.ToPieces(ids);

    public override bool IsSpecial(int id) => Bpe.IsSpecial(id);

    /// <summary>
    /// The reference's <c>sanitize_input</c>: every <see cref="QueryMarker"/>, then every <see cref="DocumentMarker"/>,
    /// removed once, in that order (the order of its <c>special_tokens</c> dict). Other special tokens stay.
    /// </summary>
    public static string Sanitize(string text) =>
        text.Replace(QueryMarker, "", StringComparison.Ordinal).Replace(DocumentMarker, "", StringComparison.Ordinal);

    /// <summary>The reference's <c>format_docs_prompts_func</c> (query and documents sanitized, no_thinking).</summary>
    public static string Format(string query, IReadOnlyList<string> documents, string? instruction)
    {
        var text = new System.Text.StringBuilder(Prefix);
        text.Append("I will provide you with ").Append(documents.Count).Append(" passages, each indicated by a numerical identifier. ")
            .Append("Rank the passages based on their relevance to query: ").Append(Sanitize(query)).Append('\n');
        // Python's `if instruction:` leaves out an empty one.
        if (!string.IsNullOrEmpty(instruction)) text.Append("<instruct>\n").Append(instruction).Append("\n</instruct>\n");
        for (var i = 0; i < documents.Count; i++)
        {
            if (i > 0) text.Append('\n');
            text.Append("<passage id=\"").Append(i).Append("\">\n").Append(Sanitize(documents[i])).Append(DocumentMarker).Append("\n</passage>");
        }
        text.Append('\n').Append("<query>\n").Append(Sanitize(query)).Append(QueryMarker).Append("\n</query>");
        return text.Append(Suffix).ToString();
    }

    /// <summary>
    /// The blocks of a request, as <c>rerank()</c> forms them: the query cut to <paramref name="maxQueryTokens"/> and each
    /// document to <paramref name="maxDocumentTokens"/> (a text whose ids reach the limit is replaced by the decode of
    /// its first ids); then documents are added to a block while <c>capacity − 2 · query tokens − their tokens</c> stays
    /// above <paramref name="maxDocumentTokens"/> and the block holds fewer than <see cref="BlockSize"/>.
    /// </summary>
    /// <remarks><paramref name="capacity"/> is the reference's <c>model_max_length</c> (the tokenizer's, unless the caller sets a max length).</remarks>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.InvalidInput"/> when a limit is below 1, when a text is cut and <paramref name="truncate"/>
    /// is false, or when a marker text survives the reference's one removal pass (the reference then fails).
    /// </exception>
    internal ListwiseBlocks Blocks(string query, IReadOnlyList<string> documents, int capacity, int maxQueryTokens, int maxDocumentTokens,
        string? instruction, bool truncate = true)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(documents);
        if (maxQueryTokens < 1 || maxDocumentTokens < 1 || capacity < 1)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"The listwise limits must be at least 1 (query {maxQueryTokens}, document {maxDocumentTokens}, block capacity {capacity} tokens).");
        var (cutQuery, queryTokens, queryCut) = Cut(query, maxQueryTokens);
        if (queryCut && !truncate)
            throw new RerankException(RerankErrorKind.InvalidInput, $"The query has more than {maxQueryTokens} tokens; shorten it or allow truncation.");
        CheckSanitized(cutQuery, "The query");
        // The reference leaves the instruction as given, so a marker in it is one marker too many.
        if (instruction is not null && (instruction.Contains(QueryMarker, StringComparison.Ordinal) || instruction.Contains(DocumentMarker, StringComparison.Ordinal)))
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"The instruction contains {QueryMarker} or {DocumentMarker}, which jina-reranker-v3 reads as the query's or a document's embedding (its code does not remove them from instructions); remove them.");
        var texts = new string[documents.Count];
        var lengths = new int[documents.Count];
        var truncated = new bool[documents.Count];
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i] is null)
                throw new RerankException(RerankErrorKind.InvalidInput, $"Document {i} is null; pass an empty string instead.");
            (texts[i], lengths[i], truncated[i]) = Cut(documents[i], maxDocumentTokens);
            if (truncated[i] && !truncate)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"Document {i} has more than {maxDocumentTokens} tokens, the per-document limit; shorten it or allow truncation.");
            CheckSanitized(texts[i], $"Document {i}");
        }

        var blocks = new List<int[]>();
        var members = new List<int[]>();
        var block = new List<int>();
        var left = capacity - 2 * queryTokens;
        void Close()
        {
            var ids = Bpe.EncodeText(Format(cutQuery, block.Select(i => texts[i]).ToArray(), instruction));
            CheckMarkers(ids, block.Count);
            blocks.Add(ids);
            members.Add([.. block]);
            block.Clear();
            left = capacity - 2 * queryTokens;
        }
        for (var i = 0; i < texts.Length; i++)
        {
            block.Add(i);
            left -= lengths[i];
            if (block.Count >= BlockSize || left <= maxDocumentTokens) Close();
        }
        if (block.Count > 0) Close();
        return new ListwiseBlocks([.. blocks], [.. members], lengths, truncated, queryTokens);
    }

    // _truncate_texts: the first `max` ids; a text that reaches the limit (>=, so also one of exactly `max` tokens) is
    // replaced by their decode, which may differ from the text (a character cut in its bytes decodes to U+FFFD).
    private (string Text, int Tokens, bool Cut) Cut(string text, int max)
    {
        var ids = Bpe.EncodeText(text);
        if (ids.Length < max) return (text, ids.Length, false);
        return (Bpe.Decode(ids.AsSpan(0, max)), max, ids.Length > max);
    }

    // sanitize_input removes each marker once; "<|rerank_<|embed_token|>token|>" becomes a query marker, which gives a
    // prompt more markers than texts: the reference then raises (or misreads the embeddings), so the request is refused.
    private static void CheckSanitized(string text, string what)
    {
        var clean = Sanitize(text);
        foreach (var marker in (ReadOnlySpan<string>)[QueryMarker, DocumentMarker])
            if (clean.Contains(marker, StringComparison.Ordinal))
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"{what} still contains {marker} after the model's removal of its marker texts (a marker nested in another); jina-reranker-v3 cannot score it. Remove the marker texts from the input.");
    }

    private void CheckMarkers(int[] ids, int documents)
    {
        int docs = 0, queries = 0;
        foreach (var id in ids)
        {
            if (id == DocumentMarkerId) docs++;
            else if (id == QueryMarkerId) queries++;
        }
        // The texts were checked above; a marker can still form where a text meets the prompt's own text.
        if (docs != documents || queries != 1)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"A prompt of {documents} documents holds {docs} document and {queries} query markers: the texts contain marker text (<|embed_token|>, <|rerank_token|>) that the model's removal pass leaves; jina-reranker-v3 cannot score it. Remove the marker texts from the input.");
    }

    /// <inheritdoc />
    /// <remarks>
    /// The prompt of a request of this one document (what the model sees for it alone), its cuts the reference's
    /// defaults or <paramref name="maxDocumentTokens"/>; <paramref name="maxLength"/> is the block capacity and cuts
    /// nothing else, as in the reference.
    /// </remarks>
    internal override EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null)
    {
        var blocks = Blocks(query, [document], maxLength, DefaultMaxQueryTokens, maxDocumentTokens ?? DefaultMaxDocumentTokens, instruction);
        return new EncodedPair(blocks.Ids[0], blocks.Ids[0].Length);
    }

    internal override int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction) =>
        throw new RerankException(RerankErrorKind.InvalidInput,
            "jina-reranker-v3 reads the query and all documents in one context; long documents are cut to its per-document limit (max_tokens_per_doc), not windowed. Drop chunk mode.");

    private static int Required(ByteLevelBpeTokenizer tokenizer, string token) =>
        tokenizer.IdOf(token) ?? throw new RerankException(RerankErrorKind.InvalidModel,
            $"The tokenizer has no '{token}' token, which jina-reranker-v3's prompt needs; pass the model's own tokenizer files.");
}
