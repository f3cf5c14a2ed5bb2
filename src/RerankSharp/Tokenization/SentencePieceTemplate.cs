namespace RerankSharp.Tokenization;

/// <summary>
/// The post-processor (HF <c>TemplateProcessing</c>) of a SentencePiece Unigram tokenizer: XLM-R's
/// <c>&lt;s&gt; A &lt;/s&gt;</c> / <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c> (one segment: RoBERTa has no token types), or
/// DeBERTa-v2/v3's <c>[CLS] A [SEP]</c> / <c>[CLS] A [SEP] B [SEP]</c> with token type 1 on <c>B [SEP]</c>.
/// </summary>
internal sealed class SentencePieceTemplate
{
    private readonly int _start, _end;
    private readonly bool _doubleSeparator;

    private SentencePieceTemplate(int start, int end, bool doubleSeparator, bool secondSegment)
    {
        (_start, _end, _doubleSeparator) = (start, end, doubleSeparator);
        SecondSegment = secondSegment;
    }

    /// <summary>XLM-R's: <c>&lt;s&gt; A &lt;/s&gt;</c> and <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>.</summary>
    public static SentencePieceTemplate XlmRoberta(int bosId, int eosId) => new(bosId, eosId, doubleSeparator: true, secondSegment: false);

    /// <summary>DeBERTa-v2's (transformers' DebertaV2Converter): <c>[CLS] A [SEP]</c> and <c>[CLS] A [SEP] B [SEP]</c>, B in segment 1.</summary>
    public static SentencePieceTemplate DebertaV2(int clsId, int sepId) => new(clsId, sepId, doubleSeparator: false, secondSegment: true);

    public int SingleSpecialTokens => 2;

    public int PairSpecialTokens => _doubleSeparator ? 4 : 3;

    /// <summary>Whether the document and its closing separator are token type 1.</summary>
    public bool SecondSegment { get; }

    /// <summary>The pair template in words, for messages.</summary>
    public string DescribePair => _doubleSeparator ? "<s> query </s></s> document </s>" : "[CLS] query [SEP] document [SEP]";

    public string DescribeSingle => _doubleSeparator ? "<s> text </s>" : "[CLS] text [SEP]";

    public int[] Single(ReadOnlySpan<int> a) => [_start, .. a, _end];

    public int[] Pair(ReadOnlySpan<int> a, ReadOnlySpan<int> b) =>
        _doubleSeparator ? [_start, .. a, _end, _end, .. b, _end] : [_start, .. a, _end, .. b, _end];
}
