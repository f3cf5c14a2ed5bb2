using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace RerankSharp.Tokenization;

/// <summary>
/// HF's pre-tokenization of a byte-level BPE (Qwen2/Qwen3, GPT-2/ModernBERT) as a Microsoft.ML.Tokenizers pre-tokenizer:
/// added tokens split out as words of their own (the BPE maps them through its special tokens), the rest split by the
/// pre-tokenizer's regex, gaps between matches kept as words. As HF's <c>AddedVocabulary</c>, the tokens that are not
/// <c>normalized</c> are split out first, then the <c>normalized</c> ones (ModernBERT's runs of spaces) inside what is
/// left, so a <c>[MASK]</c> with lstrip takes the spaces before it before a run-of-spaces token can.
/// </summary>
/// <remarks>
/// .NET's <c>\p{L}</c> and <c>\p{N}</c> see a supplementary character as two surrogates, where the reference's Oniguruma
/// sees one letter, digit or symbol ("😀abc" is one word there); so the regex runs over a copy in which each supplementary
/// character is one BMP character of the same class, and the words are mapped back.
/// </remarks>
internal sealed class Qwen2PreTokenizer(Regex regex, IReadOnlyList<AddedToken> addedTokens) : PreTokenizer
{
    private readonly AddedTokenSplitter _splitter = new(addedTokens.Where(t => !t.Normalized).ToArray());
    private readonly Dictionary<int, string> _contents = addedTokens.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First().Content);
    private readonly AddedTokenSplitter? _normalizedSplitter = addedTokens.Any(t => t.Normalized) ? new(addedTokens.Where(t => t.Normalized).ToArray()) : null;

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Words(text ?? "");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Words(text.ToString());

    private List<(int Offset, int Length)> Words(string text)
    {
        var words = new List<(int, int)>();
        var segments = new PooledBuffer<TextSegment>(4);
        try
        {
            _splitter.Split(text, ref segments);
            foreach (var segment in segments.Span)
            {
                if (segment.IsAddedToken) words.Add(TokenWord(text, segment));
                else if (_normalizedSplitter is null) Split(text, segment.Start, segment.Length, words);
                else SplitNormalized(text, segment.Start, segment.Length, words);
            }
        }
        finally
        {
            segments.Dispose();
        }
        return words;
    }

    // The word the BPE maps to the token's id: the token's own text. Whitespace an lstrip/rstrip match took around it is
    // part of the match in HF, not of any word, so it is dropped.
    private (int Offset, int Length) TokenWord(string text, TextSegment segment)
    {
        var content = _contents[segment.TokenId];
        if (segment.Length == content.Length) return (segment.Start, segment.Length);
        return (text.IndexOf(content, segment.Start, segment.Length, StringComparison.Ordinal), content.Length);
    }

    private void SplitNormalized(string text, int offset, int length, List<(int, int)> words)
    {
        var inner = new PooledBuffer<TextSegment>(4);
        try
        {
            _normalizedSplitter!.Split(text.AsSpan(offset, length), ref inner);
            foreach (var segment in inner.Span)
            {
                if (segment.IsAddedToken) words.Add(TokenWord(text, segment with { Start = offset + segment.Start }));
                else Split(text, offset + segment.Start, segment.Length, words);
            }
        }
        finally
        {
            inner.Dispose();
        }
    }

    private void Split(string text, int offset, int length, List<(int, int)> words)
    {
        var part = text.Substring(offset, length);
        var probe = part;
        List<int>? starts = null;   // for each probe index, the index in part it stands for
        if (part.Any(char.IsSurrogate))
        {
            var builder = new StringBuilder(part.Length);
            starts = new List<int>(part.Length + 1);
            for (var i = 0; i < part.Length; i += char.IsSurrogatePair(part, i) ? 2 : 1)
            {
                starts.Add(i);
                if (!char.IsSurrogatePair(part, i)) { builder.Append(part[i]); continue; }
                builder.Append(Rune.GetUnicodeCategory(Rune.GetRuneAt(part, i)) switch
                {
                    <= System.Globalization.UnicodeCategory.OtherLetter => 'a',
                    System.Globalization.UnicodeCategory.DecimalDigitNumber or System.Globalization.UnicodeCategory.LetterNumber
                        or System.Globalization.UnicodeCategory.OtherNumber => '0',
                    _ => '\u00A6',   // BROKEN BAR, a symbol: neither letter, digit nor space
                });
            }
            starts.Add(part.Length);
            probe = builder.ToString();
        }
        int At(int i) => offset + (starts is null ? i : starts[i]);
        var done = 0;
        foreach (Match m in regex.Matches(probe))
        {
            if (m.Length == 0) continue;
            if (m.Index > done) words.Add((At(done), At(m.Index) - At(done)));
            words.Add((At(m.Index), At(m.Index + m.Length) - At(m.Index)));
            done = m.Index + m.Length;
        }
        if (done < probe.Length) words.Add((At(done), At(probe.Length) - At(done)));
    }
}
