using System.Text;
using RerankSharp.Tokenization;

namespace RerankSharp.Cli;

/// <summary>
/// Query/passage pairs of an exact token length for <c>rerank bench</c>: real text through the
/// model's tokenizer (so the embedding rows touched are those of text), a passage long enough to be
/// cut by longest_first truncation to exactly the length asked for.
/// </summary>
internal static class BenchInputs
{
    public const string Query = "中国的首都是哪里?";

    // Mixed scripts, as multilingual retrieval sees them; repeated until it is long enough.
    private static readonly string[] Sentences =
    [
        "北京是中国的首都,也是全国的政治、文化和国际交往中心。",
        "The Forbidden City in Beijing was the imperial palace of the Ming and Qing dynasties.",
        "Rerankers read the query and the passage together and return one relevance score for the pair.",
        "首都机场位于北京东北部,是中国最繁忙的航空枢纽之一。",
        "Die Große Mauer erstreckt sich über Tausende von Kilometern durch Nordchina.",
        "上海是中国最大的经济中心城市,拥有世界上最繁忙的集装箱港口。",
        "La capitale de la Chine est Pékin, une ville de plus de vingt millions d'habitants.",
    ];

    /// <summary><paramref name="docs"/> sequences of exactly <paramref name="length"/> ids (<c>&lt;s&gt; q &lt;/s&gt;&lt;/s&gt; d &lt;/s&gt;</c>), each with a different passage.</summary>
    public static int[][] Make(PairTokenizer tokenizer, int length, int docs)
    {
        var sequences = new int[docs][];
        for (var d = 0; d < docs; d++)
        {
            var ids = tokenizer.EncodePair(Query, Passage(length, d), length, TruncationStrategy.LongestFirst);
            if (ids.Length != length)
                throw new RerankException(RerankErrorKind.Internal, $"A bench input came out with {ids.Length} tokens instead of {length}. This is a bug.");
            sequences[d] = ids;
        }
        return sequences;
    }

    /// <summary>
    /// <paramref name="docs"/> passages of more than <paramref name="length"/> tokens, each different: a listwise model's
    /// request, cut to <paramref name="length"/> tokens per document by its per-document limit. The same passages begin
    /// the pairs of <see cref="Make"/>, so a pointwise row of the same documents is <see cref="Make"/> at length + the
    /// prompt's own tokens.
    /// </summary>
    public static string[] Passages(int length, int docs) => Enumerable.Range(0, docs).Select(d => Passage(length, d)).ToArray();

    private static string Passage(int length, int d)
    {
        var passage = new StringBuilder();
        // About 20 tokens a sentence: more than enough once past length / 8 sentences.
        for (var s = 0; s < length / 8 + Sentences.Length; s++)
            passage.Append(Sentences[(s + d) % Sentences.Length]).Append(' ');
        return passage.ToString();
    }
}
