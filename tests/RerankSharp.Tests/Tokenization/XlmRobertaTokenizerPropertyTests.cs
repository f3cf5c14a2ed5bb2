using CsCheck;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

/// <summary>What holds for any text: ids inside the vocabulary, the XLM-R template, and the max_length under every truncation.</summary>
public class XlmRobertaTokenizerPropertyTests
{
    private static XlmRobertaTokenizer Tokenizer => TokenizerFixtures.FromJson;

    [Fact]
    public void Any_text_encodes_to_ids_inside_the_vocabulary()
    {
        TextGen.Text(64).Sample(text =>
        {
            var ids = Tokenizer.EncodeText(text);
            Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabSize - 1));
            Assert.Equal(ids.Length, Tokenizer.ToPieces(ids).Length);
        }, iter: 2000, threads: 2);
    }

    [Fact]
    public void A_single_text_is_bos_its_ids_eos_cut_on_the_right_to_max_length()
    {
        Gen.Select(TextGen.Text(), Gen.Int[2, 40]).Sample((text, maxLength) =>
        {
            var all = Tokenizer.EncodeText(text);
            var ids = Tokenizer.EncodeSingle(text, maxLength);

            Assert.Equal(Math.Min(all.Length, maxLength - 2) + 2, ids.Length);
            Assert.Equal(Tokenizer.BosId, ids[0]);
            Assert.Equal(Tokenizer.EosId, ids[^1]);
            Assert.Equal(all.AsSpan(0, ids.Length - 2), ids.AsSpan(1, ids.Length - 2));
        }, iter: 1000, threads: 2);
    }

    [Fact]
    public void A_pair_fits_max_length_under_every_strategy_and_direction_and_keeps_the_template()
    {
        var cases = Gen.Select(TextGen.Text(), TextGen.Text(), Gen.Int[4, 48], Gen.Enum<TruncationStrategy>(), Gen.Enum<TruncationDirection>(),
            Gen.Int[0, 20].Select(cap => cap == 0 ? (int?)null : cap));
        cases.Sample((query, document, maxLength, strategy, direction, cap) =>
        {
            var q = Tokenizer.EncodeText(query);
            var d = Tokenizer.EncodeText(document);
            var dCapped = Math.Min(d.Length, cap ?? int.MaxValue);
            var budget = maxLength - 4;
            EncodedPair pair;
            try
            {
                pair = Tokenizer.EncodePair(query, document, maxLength, strategy, direction, cap);
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
            {
                // only_second refuses exactly when cutting the document cannot make room (HF keeps at least one token).
                Assert.Equal(TruncationStrategy.OnlySecond, strategy);
                Assert.True(budget > 0 && q.Length + dCapped > budget && dCapped <= q.Length + dCapped - budget,
                    $"refused q={q.Length} d={dCapped} budget={budget}: {e.Message}");
                return;
            }

            var ids = pair.Ids;
            Assert.True(ids.Length <= maxLength, $"{ids.Length} ids over max_length {maxLength}");
            Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabSize - 1));
            Assert.Equal(q.Length + d.Length + 4, pair.UntruncatedLength);
            // Special tokens inside the texts can make more than one split fit the template; one must obey the rule.
            var splits = SplitPair(ids, q, d, direction);
            var problems = splits.Select(split => Violation(split.Query, split.Document, q.Length, dCapped, budget, strategy)).ToList();
            Assert.True(problems.Any(p => p is null), string.Join("; ", problems));
        }, iter: 3000, threads: 2);
    }

    /// <summary>Why keeping <paramref name="kq"/> query and <paramref name="kd"/> document ids breaks the truncation rule, or null.</summary>
    private static string? Violation(int kq, int kd, int q, int dCapped, int budget, TruncationStrategy strategy)
    {
        if (kd > dCapped) return $"kept {kd} document tokens of a cap of {dCapped}";
        if (q + dCapped <= budget) return (kq, kd) == (q, dCapped) ? null : $"cut ({kq}, {kd}) a pair ({q}, {dCapped}) that fits {budget}";
        if (budget == 0) return null;
        if (kq + kd != budget) return $"kept {kq} + {kd} ids, not the budget of {budget}";
        if (strategy == TruncationStrategy.OnlySecond) return kq == q ? null : $"only_second cut the query to {kq} of {q}";
        // longest_first cuts the longer side first; when both are cut they share the budget and the longer one (the
        // document on equal lengths) keeps the odd token.
        if (kq < q && kd < dCapped) return (q > dCapped ? kq - kd : kd - kq) is 0 or 1 ? null : $"both cut, to {kq} and {kd}";
        // On equal lengths the document's share with the odd token can be all of it: it looks uncut.
        if (kq < q) return kq >= kd || (q == dCapped && kd - kq == 1) ? null : $"query cut to {kq} below the uncut document's {kd}";
        return kd >= kq ? null : $"document cut to {kd} below the uncut query's {kq}";
    }

    /// <summary>
    /// The ways the pair reads as <c>&lt;s&gt; q' &lt;/s&gt;&lt;/s&gt; d' &lt;/s&gt;</c> with q' and d' taken from the side the
    /// direction keeps: (query ids kept, document ids kept). Fails when there is none.
    /// </summary>
    private static List<(int Query, int Document)> SplitPair(int[] ids, int[] q, int[] d, TruncationDirection direction)
    {
        var splits = new List<(int, int)>();
        var content = ids.Length - 4;
        for (var kq = 0; kq <= Math.Min(q.Length, content); kq++)
        {
            var kd = content - kq;
            if (kd > d.Length) continue;
            var keptQ = direction == TruncationDirection.Right ? q.AsSpan(0, kq) : q.AsSpan(q.Length - kq);
            var keptD = direction == TruncationDirection.Right ? d.AsSpan(0, kd) : d.AsSpan(d.Length - kd);
            if (ids[0] == Tokenizer.BosId && ids[kq + 1] == Tokenizer.EosId && ids[kq + 2] == Tokenizer.EosId && ids[^1] == Tokenizer.EosId
                && ids.AsSpan(1, kq).SequenceEqual(keptQ) && ids.AsSpan(kq + 3, kd).SequenceEqual(keptD))
                splits.Add((kq, kd));
        }
        Assert.True(splits.Count > 0, $"[{string.Join(", ", ids)}] is not <s> q </s></s> d </s> for q=[{string.Join(", ", q)}], d=[{string.Join(", ", d)}]");
        return splits;
    }
}
