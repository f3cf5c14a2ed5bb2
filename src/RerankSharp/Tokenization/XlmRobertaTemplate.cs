namespace RerankSharp.Tokenization;

/// <summary>
/// XLM-R's post-processor (HF <c>TemplateProcessing</c>): <c>&lt;s&gt; A &lt;/s&gt;</c> for one sequence,
/// <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c> for a pair. No token type ids: RoBERTa has one segment.
/// </summary>
internal sealed class XlmRobertaTemplate(int bosId, int eosId)
{
    public const int SingleSpecialTokens = 2;
    public const int PairSpecialTokens = 4;

    public int[] Single(ReadOnlySpan<int> a)
    {
        var ids = new int[a.Length + SingleSpecialTokens];
        ids[0] = bosId;
        a.CopyTo(ids.AsSpan(1));
        ids[^1] = eosId;
        return ids;
    }

    public int[] Pair(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var ids = new int[a.Length + b.Length + PairSpecialTokens];
        ids[0] = bosId;
        a.CopyTo(ids.AsSpan(1));
        ids[a.Length + 1] = eosId;
        ids[a.Length + 2] = eosId;
        b.CopyTo(ids.AsSpan(a.Length + 3));
        ids[^1] = eosId;
        return ids;
    }
}
