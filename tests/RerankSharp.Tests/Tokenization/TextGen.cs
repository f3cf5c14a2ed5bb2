using CsCheck;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// Generators of the texts users send: words, the special tokens written out, white space of every kind, accents that
/// combine, CJK, emoji (surrogate pairs), lone surrogates, control characters and any UTF-16 unit at all.
/// </summary>
internal static class TextGen
{
    private static readonly Gen<string> Fragment = Gen.OneOf(
        Gen.String[Gen.Char['a', 'z'], 1, 8],
        Gen.OneOf<string>("<s>", "</s>", "<pad>", "<unk>", "<mask>", " <mask>", "▁", " ", "  ", "\t", "\n", "\u3000", "\u200b", "\u00a0"),
        Gen.OneOf<string>("Ａ", "ﬁ", "é", "e\u0301", "\u0301", "Ü", "ß", "İ", "ǅ", "①", "…"),
        Gen.String[Gen.Char['\u4e00', '\u9fff'], 1, 4],
        Gen.String[Gen.Char['\u0400', '\u04ff'], 1, 6],
        Gen.OneOf<string>("🙂", "👩‍👩‍👧", "🇫🇷", "\ud800", "\udc00", "\udbff\udfff", "\0", "\u0007", "\u007f", "\ufeff", "\ufffd"),
        Gen.Char.Select(c => c.ToString()));

    /// <summary>Texts of 0 to <paramref name="fragments"/> fragments.</summary>
    public static Gen<string> Text(int fragments = 24) => Fragment.Array[0, fragments].Select(string.Concat);
}
