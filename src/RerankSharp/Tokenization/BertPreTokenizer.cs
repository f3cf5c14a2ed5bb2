using System.Globalization;
using System.Text;

namespace RerankSharp.Tokenization;

/// <summary>
/// HF tokenizers' <c>BertPreTokenizer</c>: split on whitespace (removed), then every punctuation character —
/// ASCII punctuation (which includes <c>$ + &lt; = &gt; ^ ` | ~</c>) or a Unicode P* category — becomes a word of its own.
/// </summary>
internal static class BertPreTokenizer
{
    /// <summary>Appends the (start, length) in <paramref name="text"/> of each word.</summary>
    public static void PreTokenize(ReadOnlySpan<char> text, ref PooledBuffer<(int Start, int Length)> words)
    {
        int start = -1;
        int i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text[i..], out var rune, out var width);
            if (Rune.IsWhiteSpace(rune))
            {
                if (start >= 0) words.Add((start, i - start));
                start = -1;
            }
            else if (IsPunctuation(rune))
            {
                if (start >= 0) words.Add((start, i - start));
                words.Add((i, width));
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
            i += width;
        }
        if (start >= 0) words.Add((start, text.Length - start));
    }

    internal static bool IsPunctuation(Rune c) =>
        (c.IsAscii && char.IsAsciiLetterOrDigit((char)c.Value) is false && c.Value is > 0x20 and < 0x7F)
        || Rune.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}
