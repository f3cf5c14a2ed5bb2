using System.Globalization;
using System.Text;

namespace RerankSharp.Tokenization;

/// <summary>
/// HF tokenizers' <c>BertNormalizer</c> (normalizers/bert.rs), in its order: clean the text (drop NUL, U+FFFD
/// and every "other" character — Cc, Cf, Co, Cn — except tab, newline and return; map whitespace to a space),
/// put spaces around CJK ideographs, strip accents (NFD, then drop nonspacing marks), lower-case (full Unicode
/// mapping, one character at a time).
/// </summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChineseChars, bool stripAccents, bool lowercase)
{
    public bool CleanText { get; } = cleanText;
    public bool HandleChineseChars { get; } = handleChineseChars;
    public bool StripAccents { get; } = stripAccents;
    public bool Lowercase { get; } = lowercase;

    public string Normalize(ReadOnlySpan<char> text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            if (CleanText)
            {
                if (rune.Value == 0 || rune.Value == 0xFFFD || IsControl(rune)) continue;
                if (IsWhitespace(rune))
                {
                    builder.Append(' ');
                    continue;
                }
            }
            if (HandleChineseChars && IsChineseChar(rune.Value))
                builder.Append(' ').Append(rune.ToString()).Append(' ');
            else
                builder.Append(rune.ToString());
        }

        if (StripAccents)
        {
            var decomposed = new StringBuilder(builder.Length + 8);
            foreach (var rune in builder.ToString().EnumerateRunes()) UnicodeNormalization.AppendDecomposition(rune, decomposed);
            builder.Clear();
            foreach (var rune in decomposed.ToString().EnumerateRunes())
                if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) builder.Append(rune.ToString());
        }

        if (!Lowercase) return builder.ToString();
        var lowered = new StringBuilder(builder.Length);
        foreach (var rune in builder.ToString().EnumerateRunes())
        {
            // The one unconditional multi-character lowercase mapping (SpecialCasing.txt); Rust's
            // char::to_lowercase applies it, .NET's simple mapping would give a bare "i".
            if (rune.Value == 0x130) lowered.Append("i\u0307");
            else lowered.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return lowered.ToString();
    }

    // tab, newline and return count as whitespace, not control (bert.rs is_whitespace / is_control).
    internal static bool IsWhitespace(Rune c) => c.Value is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(c);

    private static bool IsControl(Rune c) => c.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(c) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    // bert.rs is_chinese_char: the CJK Unified Ideographs blocks, not Hangul, kana or CJK punctuation.
    internal static bool IsChineseChar(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
