namespace RerankSharp.Tokenization;

/// <summary>The text tokenizer under a decoder reranker's prompt: a text in, its ids out, no special tokens added.</summary>
internal interface IPromptTextTokenizer
{
    int VocabSize { get; }

    int? IdOf(string token);

    bool IsSpecial(int id);

    int[] EncodeText(string text);

    string[] ToPieces(ReadOnlySpan<int> ids);
}

/// <summary>
/// A decoder reranker's prompt built from pieces tokenized one by one, as the reference packages do:
/// <c>head + query + sep + document + sep + task + suffix</c>, where the query is <see cref="QueryLabel"/> + query
/// (cut to ¾ of the reference's max_length) and the document <see cref="DocumentLabel"/> + document (cut to what is left).
/// Joining the texts first would give other ids at the seams.
/// </summary>
/// <param name="Name">The reference, for messages.</param>
/// <param name="HeadText">Text tokenized before the query (a chat prefix), or null.</param>
/// <param name="HeadBos">The head is the tokenizer's <c>&lt;bos&gt;</c> (FlagEmbedding adds it when bos ≠ pad).</param>
/// <param name="QueryLabel">Prepended to the query before it is tokenized.</param>
/// <param name="InstructionFormat">
/// With <c>{0}</c> for the instruction: prepended to the query text when a request gives one, or null when the
/// instruction replaces <see cref="Task"/> instead.
/// </param>
/// <param name="DocumentLabel">Prepended to the document before it is tokenized.</param>
/// <param name="Separator">Tokenized alone; stands between query and document and before the task.</param>
/// <param name="Task">The task prompt after the document.</param>
/// <param name="SuffixText">Tokenized after the task (a chat suffix), or empty.</param>
/// <param name="TrueText">The text whose first token's logit is the score (minus <paramref name="FalseText"/>'s).</param>
/// <param name="FalseText">The text whose first token's logit is subtracted, or null: the score is the true logit alone.</param>
/// <param name="TailInPairBudget">
/// FlagEmbedding's rule: the head goes into prepare_for_model with the query and the pair may reach max_length + |sep| +
/// |task| (then sep and task are added again), so the reference's max_length is ours − 2·(|sep| + |task|); false is
/// mxbai-rerank's: head and tail lie outside a query + sep + document of at most max_length = ours − |head| − |tail|.
/// </param>
internal sealed record DecoderPrompt(string Name, string? HeadText, bool HeadBos, string QueryLabel, string? InstructionFormat,
    string DocumentLabel, string Separator, string Task, string SuffixText, string TrueText, string? FalseText, bool TailInPairBudget)
{
    /// <summary>The raw score in words, for <c>rerank info</c>: <c>logit("1") − logit("0")</c>.</summary>
    public string ScoreFormula => FalseText is { } no ? $"logit(\"{TrueText}\") − logit(\"{no}\")" : $"logit(\"{TrueText}\")";

    /// <summary>
    /// mixedbread-ai/mxbai-rerank-base-v2 and -large-v2, as the <c>mxbai-rerank</c> package's MxbaiRerankV2 builds them
    /// (mixedbread-ai/mxbai-rerank, mxbai_rerank/mxbai_rerank_v2.py at commit 03324ea9): score = logit("1") − logit("0")
    /// at the last position, before the package's sigmoid.
    /// </summary>
    public static readonly DecoderPrompt MxbaiRerankV2 = new(
        Name: "mxbai-rerank-v2",
        HeadText: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n",
        HeadBos: false,
        QueryLabel: "query: ",
        InstructionFormat: "instruction: {0}\n",
        DocumentLabel: "document: ",
        Separator: "\n",
        Task: "You are a search relevance expert who evaluates how well documents match search queries. For each query-document pair, "
            + "carefully analyze the semantic relationship between them, then provide your binary relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:",
        SuffixText: "<|im_end|>\n<|im_start|>assistant\n",
        TrueText: "1",
        FalseText: "0",
        TailInPairBudget: false);

    /// <summary>
    /// BAAI/bge-reranker-v2-gemma, as FlagEmbedding's FlagLLMReranker.compute_score builds it
    /// (FlagEmbedding/inference/reranker/decoder_only/base.py at commit dfdace38): <c>&lt;bos&gt;</c>, "A: {query}", "\n",
    /// "B: {passage}", "\n", the prompt (a request's instruction replaces it); score = the logit of the first token of
    /// "Yes" at the last position (normalize=False), its sigmoid when normalize=True.
    /// </summary>
    public static readonly DecoderPrompt BgeRerankerV2Gemma = new(
        Name: "bge-reranker-v2-gemma",
        HeadText: null,
        HeadBos: true,
        QueryLabel: "A: ",
        InstructionFormat: null,
        DocumentLabel: "B: ",
        Separator: "\n",
        Task: "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.",
        SuffixText: "",
        TrueText: "Yes",
        FalseText: null,
        TailInPairBudget: true);
}

/// <summary>A decoder reranker's tokenizer: the <see cref="DecoderPrompt"/> around a query and a document.</summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public sealed class DecoderPromptTokenizer : PairTokenizer
{
    // The reference cuts the query to max_length * 3 // 4 (both packages), "to reserve more space for the document".
    private const int QueryShareNumerator = 3, QueryShareDenominator = 4;

    private readonly IPromptTextTokenizer _text;
    private readonly int[] _head;
    private readonly int[] _separator;
    private readonly int[] _suffix;
    private readonly int[] _defaultTail;

    internal DecoderPromptTokenizer(IPromptTextTokenizer text, DecoderPrompt prompt, string bosToken, string eosToken, string padToken)
    {
        _text = text;
        Prompt = prompt;
        BosId = Required(bosToken);
        EosId = Required(eosToken);
        PadId = text.IdOf(padToken) ?? EosId;
        _head = prompt.HeadBos ? [BosId] : prompt.HeadText is { } head ? text.EncodeText(head) : [];
        _separator = text.EncodeText(prompt.Separator);
        _suffix = text.EncodeText(prompt.SuffixText);
        _defaultTail = Tail(null);
        TrueId = FirstId(prompt.TrueText);
        FalseId = prompt.FalseText is { } no ? FirstId(no) : null;
    }

    internal DecoderPrompt Prompt { get; }

    /// <summary>The token whose logit is the score.</summary>
    public int TrueId { get; }

    /// <summary>The token whose logit is subtracted from <see cref="TrueId"/>'s, or null when the score is that logit alone.</summary>
    public int? FalseId { get; }

    public override int VocabSize => _text.VocabSize;

    public override int BosId { get; }

    public override int EosId { get; }

    public override int PadId { get; }

    /// <summary>The prompt's fixed tokens without an instruction: head, the separator before the document, and the tail.</summary>
    public override int PairSpecialTokens => _head.Length + _separator.Length + _defaultTail.Length;

    public override int[] EncodeText(string text) => _text.EncodeText(text);

    /// <summary>The text's ids, the first <paramref name="maxLength"/> kept; the prompt's tokens are added only to pairs.</summary>
    public override int[] EncodeSingle(string text, int maxLength) => FirstTokens(_text.EncodeText(text), maxLength);

    public override int[] WithSpecialTokens(int[] ids) => ids;

    /// <inheritdoc />
    /// <remarks>
    /// The reference's max_length is derived from ours so that the whole prompt never exceeds it (see
    /// <see cref="DecoderPrompt.TailInPairBudget"/>); the query is cut to ¾ of it and the document to what is left, at
    /// the end (or, with a left cut, at the start of each). A document cap applies to the document's own tokens.
    /// </remarks>
    internal override EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        var tail = Tail(instruction);
        var allowance = Prompt.TailInPairBudget ? tail.Length : 0;
        var fixedTokens = tail.Length + allowance + (Prompt.TailInPairBudget ? 0 : _head.Length);
        // Room for a few query and document tokens beyond the fixed ones, so that neither cut is empty by construction.
        CheckMaxLength(maxLength, fixedTokens + _head.Length + _separator.Length + QueryShareDenominator, $"{Prompt.Name}'s prompt");
        var referenceMaxLength = maxLength - fixedTokens;
        var q = _text.EncodeText(QueryText(query, instruction));
        var d = _text.EncodeText(Prompt.DocumentLabel + document);
        var untruncated = _head.Length + q.Length + _separator.Length + d.Length + tail.Length;
        if (maxDocumentTokens is { } cap) d = Cut(d, Math.Max(cap, 0) + _text.EncodeText(Prompt.DocumentLabel).Length, direction);
        q = Cut(q, referenceMaxLength * QueryShareNumerator / QueryShareDenominator, direction);
        var inPair = Prompt.TailInPairBudget ? _head.Length : 0;
        var room = referenceMaxLength + allowance - inPair - q.Length - _separator.Length;
        d = Cut(d, Math.Max(0, Math.Min(referenceMaxLength, room)), direction);
        int[] ids = [.. _head, .. q, .. _separator, .. d, .. tail];
        return new EncodedPair(ids, untruncated);
    }

    /// <summary>The prompt around a query's and a document's ids encoded apart (a long document's windows): the labels are tokenized on their own.</summary>
    internal override int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction)
    {
        var (queryLabel, documentLabel) = Labels(instruction);
        return [.. _head, .. queryLabel, .. query, .. _separator, .. documentLabel, .. document, .. Tail(instruction)];
    }

    internal override int PairOverhead(string? instruction)
    {
        var (queryLabel, documentLabel) = Labels(instruction);
        return _head.Length + queryLabel.Length + _separator.Length + documentLabel.Length + Tail(instruction).Length;
    }

    public override string[] ToPieces(ReadOnlySpan<int> ids) => _text.ToPieces(ids);

    public override bool IsSpecial(int id) => _text.IsSpecial(id);

    private (int[] Query, int[] Document) Labels(string? instruction) =>
        (_text.EncodeText(QueryText("", instruction)), _text.EncodeText(Prompt.DocumentLabel));

    private string QueryText(string query, string? instruction) =>
        Prompt.InstructionFormat is { } format && !string.IsNullOrEmpty(instruction)
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture, format, instruction) + Prompt.QueryLabel + query
            : Prompt.QueryLabel + query;

    // sep + task + suffix; an instruction replaces the task where the reference takes it as its prompt (FlagEmbedding).
    private int[] Tail(string? instruction)
    {
        var task = Prompt.InstructionFormat is null && !string.IsNullOrEmpty(instruction) ? instruction : Prompt.Task;
        return [.. _separator, .. _text.EncodeText(task), .. _suffix];
    }

    private static int[] Cut(int[] ids, int keep, TruncationDirection direction) =>
        ids.Length <= keep ? ids : direction == TruncationDirection.Left ? ids[(ids.Length - keep)..] : ids[..keep];

    // Both references take tokenizer(text, add_special_tokens=False)["input_ids"][0].
    private int FirstId(string text) =>
        _text.EncodeText(text) is { Length: > 0 } ids ? ids[0] : throw new RerankException(RerankErrorKind.InvalidModel,
            $"The tokenizer gives no token for \"{text}\", which {Prompt.Name}'s score reads; pass the model's own tokenizer files.");

    private int Required(string token) =>
        _text.IdOf(token) ?? throw new RerankException(RerankErrorKind.InvalidModel,
            $"The tokenizer has no '{token}' token, which {Prompt.Name}'s prompt needs; pass the model's own tokenizer files.");
}
