using System.Text;
using RerankSharp.Cli;
using RerankSharp.Cli.Commands;
using RerankSharp.Tokenization;

namespace RerankSharp.Fuzz;

/// <summary>Text that users send: pairs through the tokenizer, and the JSON Lines of <c>rerank score</c>.</summary>
internal static class TextTargets
{
    private static readonly Lazy<XlmRobertaTokenizer> FixtureTokenizer = new(() => XlmRobertaTokenizer.FromTokenizerJson(Fixtures.TokenizerJson));

    /// <summary>
    /// Byte 0 picks max_length (4–67), strategy and direction; byte 1 a document token cap (0: none) and, in its low
    /// bit, whether the rest is UTF-16 (so lone surrogates occur) or UTF-8; the rest is query, a NUL, document.
    /// </summary>
    public static void TokenizerText(byte[] input)
    {
        if (input.Length < 2) return;
        var maxLength = FixtureTokenizer.Value.PairSpecialTokens + (input[0] & 0x3F);
        var strategy = (input[0] & 0x40) == 0 ? TruncationStrategy.LongestFirst : TruncationStrategy.OnlySecond;
        var direction = (input[0] & 0x80) == 0 ? TruncationDirection.Right : TruncationDirection.Left;
        int? cap = input[1] >> 1 == 0 ? null : input[1] >> 1;
        var text = (input[1] & 1) == 0 ? Encoding.UTF8.GetString(input, 2, input.Length - 2) : Utf16(input.AsSpan(2));
        var cut = text.IndexOf('\0');
        var (query, document) = cut < 0 ? (text, "") : (text[..cut], text[(cut + 1)..]);
        try
        {
            CheckPair(FixtureTokenizer.Value, query, document, maxLength, strategy, direction, cap);
            var single = FixtureTokenizer.Value.EncodeSingle(text, maxLength);
            if (single.Length > maxLength) throw new InvalidOperationException($"A single text encoded to {single.Length} ids over max_length {maxLength}.");
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
        {
        }
    }

    /// <summary>Encodes awkward texts with a tokenizer that loaded, checking every pair, so a loader that accepts a broken vocabulary is caught.</summary>
    public static void Exercise(XlmRobertaTokenizer tokenizer)
    {
        string[] texts = ["", "a", "hello world", "<s>x</s> <mask> y", "Ａ\u0301 ünïcödé 日本語 🙂 \u200b\t\u0007", "  many   spaces  ", "\uD800 lone", new string('x', 300)];
        foreach (var query in texts)
            foreach (var document in texts)
                foreach (var strategy in new[] { TruncationStrategy.LongestFirst, TruncationStrategy.OnlySecond })
                {
                    try
                    {
                        CheckPair(tokenizer, query, document, 24, strategy, TruncationDirection.Right, null);
                    }
                    catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
                    {
                    }
                }
        _ = tokenizer.ToPieces(tokenizer.EncodeText(texts[4]));
    }

    /// <summary>
    /// The WordPiece and byte-level BPE families: pairs (plain and as long-document windows) inside the vocabulary and
    /// no longer than max_length, or refused as invalid input.
    /// </summary>
    public static void ExerciseAny(PairTokenizer tokenizer)
    {
        string[] texts = ["", "a", "hello world", "[CLS]x[SEP] <|im_end|> y", "Ａ\u0301 ünïcödé 日本語 🙂 \u200b\t\u0007", "  many   spaces  ", "\uD800 lone", new string('x', 300)];
        var maxLength = tokenizer.PairOverhead(null) + 20;
        foreach (var query in texts)
            foreach (var document in texts)
                foreach (var strategy in new[] { TruncationStrategy.LongestFirst, TruncationStrategy.OnlySecond })
                {
                    try
                    {
                        var ids = tokenizer.EncodePair(query, document, maxLength, strategy, TruncationDirection.Left, 5, "judge").Ids;
                        if (ids.Length > maxLength) throw new InvalidOperationException($"The pair has {ids.Length} ids, over max_length {maxLength}.");
                        var window = tokenizer.BuildPair(tokenizer.EncodeText(query), tokenizer.EncodeText(document), null);
                        foreach (var id in ids.Concat(window))
                            if ((uint)id >= (uint)tokenizer.VocabSize) throw new InvalidOperationException($"Id {id} is outside the vocabulary of {tokenizer.VocabSize}.");
                    }
                    catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
                    {
                    }
                }
        _ = tokenizer.ToPieces(tokenizer.EncodeText(texts[4]));
    }

    /// <summary>The pair's ids: inside the vocabulary, no longer than max_length, and <c>&lt;s&gt; q' &lt;/s&gt;&lt;/s&gt; d' &lt;/s&gt;</c> with q', d' cut from the query's and document's own ids on the side asked.</summary>
    private static void CheckPair(XlmRobertaTokenizer tokenizer, string query, string document, int maxLength,
        TruncationStrategy strategy, TruncationDirection direction, int? cap)
    {
        var pair = tokenizer.EncodePair(query, document, maxLength, strategy, direction, cap);
        var ids = pair.Ids;
        if (ids.Length > maxLength) throw new InvalidOperationException($"The pair has {ids.Length} ids, over max_length {maxLength}.");
        foreach (var id in ids)
            if ((uint)id >= (uint)tokenizer.VocabSize) throw new InvalidOperationException($"Id {id} is outside the vocabulary of {tokenizer.VocabSize}.");
        var q = tokenizer.EncodeText(query);
        var d = tokenizer.EncodeText(document);
        var keptQuery = ids.Length - tokenizer.PairSpecialTokens;
        // The query part ends at the first </s></s> that leaves a document part matching d.
        for (var kq = 0; kq <= Math.Min(q.Length, keptQuery); kq++)
        {
            var kd = keptQuery - kq;
            if (kd > d.Length) continue;
            ReadOnlySpan<int> expectQ = direction == TruncationDirection.Right ? q.AsSpan(0, kq) : q.AsSpan(q.Length - kq);
            ReadOnlySpan<int> expectD = direction == TruncationDirection.Right ? d.AsSpan(0, kd) : d.AsSpan(d.Length - kd);
            if (ids[0] == tokenizer.BosId && ids[kq + 1] == tokenizer.EosId && ids[kq + 2] == tokenizer.EosId && ids[^1] == tokenizer.EosId
                && ids.AsSpan(1, kq).SequenceEqual(expectQ) && ids.AsSpan(kq + 3, kd).SequenceEqual(expectD))
            {
                if (pair.Truncated != (q.Length + d.Length + tokenizer.PairSpecialTokens > ids.Length))
                    throw new InvalidOperationException("The pair's truncated flag disagrees with its length.");
                return;
            }
        }
        throw new InvalidOperationException($"The pair's ids [{string.Join(", ", ids)}] are not <s> query </s></s> document </s> for query ids [{string.Join(", ", q)}] and document ids [{string.Join(", ", d)}].");
    }

    public static void ScoreJsonLines(byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        try
        {
            foreach (var (line, text) in JsonLines.ReadLines(stream, "fuzz input"))
            {
                try
                {
                    var (query, documents, _) = ScoreCommand.ParseLine(text, line, "fuzz input");
                    if (query is null || documents.Any(d => d is null)) throw new InvalidOperationException($"Line {line} gave a null text.");
                }
                catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
                {
                    // The command writes an {"error": ...} line for it and goes on.
                }
            }
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput)
        {
            // Invalid UTF-8 stops the run with one line on standard error.
        }
    }

    private static string Utf16(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length / 2];
        for (var i = 0; i < chars.Length; i++) chars[i] = (char)(bytes[2 * i] | bytes[2 * i + 1] << 8);
        return new string(chars);
    }
}
