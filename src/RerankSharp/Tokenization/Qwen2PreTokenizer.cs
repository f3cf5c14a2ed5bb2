using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace RerankSharp.Tokenization;

/// <summary>
/// HF's pre-tokenization of Qwen2/Qwen3 as a Microsoft.ML.Tokenizers pre-tokenizer: added tokens split out as words of
/// their own (the BPE maps them through its special tokens), the rest split by the Split(Regex, Isolated) regex, gaps
/// between matches kept as words.
/// </summary>
/// <remarks>
/// .NET's <c>\p{L}</c> and <c>\p{N}</c> see a supplementary character as two surrogates, where the reference's Oniguruma
/// sees one letter, digit or symbol ("😀abc" is one word there); so the regex runs over a copy in which each supplementary
/// character is one BMP character of the same class, and the words are mapped back.
/// </remarks>
internal sealed class Qwen2PreTokenizer(Regex regex, IReadOnlyList<AddedToken> addedTokens) : PreTokenizer
{
    private readonly AddedTokenSplitter _splitter = new(addedTokens);

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
                if (segment.IsAddedToken) words.Add((segment.Start, segment.Length));
                else Split(text, segment.Start, segment.Length, words);
            }
        }
        finally
        {
            segments.Dispose();
        }
        return words;
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
