using System.Text;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// The WordPiece tokenizer against Hugging Face's fast BERT tokenizer: every case of the fixtures' golden.jsonl
/// (tools/wordpiece/golden.js) identical, ids and token types, from tokenizer.json and from vocab.txt.
/// </summary>
public sealed class WordPieceTokenizerTests(ITestOutputHelper output)
{
    private static string Folder(string variant) => Path.Combine(FixturePaths.Fixtures, "wordpiece", variant);

    public static TheoryData<string, string> Sources => new()
    {
        { "uncased", "tokenizer.json" }, { "uncased", "vocab.txt" }, { "cased", "tokenizer.json" }, { "cased", "vocab.txt" },
    };

    private static WordPieceTokenizer Load(string variant, string source) => source == "tokenizer.json"
        ? WordPieceTokenizer.FromTokenizerJson(Path.Combine(Folder(variant), "tokenizer.json"))
        : WordPieceTokenizer.FromVocabFile(Path.Combine(Folder(variant), "vocab.txt"), Path.Combine(Folder(variant), "tokenizer_config.json"));

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_golden_case_matches_the_fast_tokenizer(string variant, string source) =>
        AssertEveryCase(Load(variant, source), Path.Combine(Folder(variant), "golden.jsonl"), $"{variant} from {source}", 300, output.WriteLine);

    // Every case of a [CLS] A [SEP] B [SEP] golden file (ids, refusals, pairs' token types) through `tokenizer`; the first
    // mismatches in the failure. Also DeBERTa-v2's (DebertaV2TokenizerTests).
    internal static void AssertEveryCase(PairTokenizer tokenizer, string goldenPath, string label, int minimum, Action<string> log)
    {
        var (header, cases) = TokenizerFixtures.ReadGolden(goldenPath);
        var report = new StringBuilder();
        var mismatches = 0;
        foreach (var c in cases)
        {
            var problem = Check(tokenizer, c);
            if (problem is not null && ++mismatches <= 8) report.AppendLine(c.Describe()).AppendLine(problem);
        }
        var summary = $"{label}: {cases.Length - mismatches}/{cases.Length} golden cases match ({cases.Count(c => c.Kind == "pair")} pairs, "
            + $"{cases.Count(c => c.MaxLength is not null)} truncated, {cases.Count(c => c.Ids is null)} refusals; tokenizers {header.GetProperty("tokenizers_version").GetString()})";
        log(summary);
        Assert.True(cases.Length >= minimum, $"only {cases.Length} golden cases");
        Assert.True(mismatches == 0, $"{summary}; first mismatches:\n{report}");
    }

    private static string? Check(PairTokenizer tokenizer, GoldenCase c)
    {
        int[] actual;
        try
        {
            actual = c.Encode(tokenizer);
        }
        catch (RerankException e) when (c.Ids is null)
        {
            return e.Kind == RerankErrorKind.InvalidInput ? null : $"  expected InvalidInput ({c.Error}), got {e.Kind}";
        }
        if (c.Ids is null) return $"  expected error \"{c.Error}\", got {GoldenIdsTests.Render(tokenizer, actual)}";
        if (!actual.AsSpan().SequenceEqual(c.Ids))
            return $"  expected {GoldenIdsTests.Render(tokenizer, c.Ids)}\n  actual   {GoldenIdsTests.Render(tokenizer, actual)}";
        if (c.TypeIds is null || c.Query!.Contains("[SEP]", StringComparison.Ordinal)) return null;
        var types = new long[actual.Length];
        tokenizer.TokenTypeIds(actual.Select(i => (long)i).ToArray(), types);
        return types.Select(t => (int)t).SequenceEqual(c.TypeIds) ? null : $"  token types {string.Join(",", types)} instead of {string.Join(",", c.TypeIds)}";
    }

    [Fact]
    public void The_golden_file_covers_what_bert_tokenization_must_get_right()
    {
        var (_, cases) = TokenizerFixtures.ReadGolden(Path.Combine(Folder("uncased"), "golden.jsonl"));
        var tokenizer = Load("uncased", "tokenizer.json");
        var pieces = cases.Where(c => c.Ids is not null).SelectMany(c => tokenizer.ToPieces(c.Ids!)).ToHashSet();
        Assert.Contains(pieces, p => p.StartsWith("##", StringComparison.Ordinal));
        Assert.Contains("[UNK]", pieces);
        Assert.Contains(cases, c => c.Kind == "pair" && c.MaxLength is < 10 && c.Truncation == "only_second" && c.Error is not null);
        Assert.Contains(cases, c => c.Text is { } t && t.Any(ch => ch is >= '\u4e00' and <= '\u9fff'));
        Assert.Contains(cases, c => c.Text is { } t && t.Any(char.IsControl));
    }

    [Fact]
    public void Uncased_lowercases_and_strips_accents_while_cased_keeps_both()
    {
        var uncased = Load("uncased", "tokenizer.json");
        var cased = Load("cased", "tokenizer.json");
        Assert.Equal(uncased.EncodeText("cafe resume"), uncased.EncodeText("CAFÉ RÉSUMÉ"));
        Assert.NotEqual(cased.EncodeText("cafe resume"), cased.EncodeText("CAFÉ RÉSUMÉ"));
        Assert.True(uncased.Lowercase && uncased.StripAccents);
        Assert.False(cased.Lowercase || cased.StripAccents);
    }

    [Fact]
    public void Cjk_ideographs_and_punctuation_become_words_of_their_own_and_control_characters_vanish()
    {
        var tokenizer = Load("uncased", "tokenizer.json");
        Assert.Equal(tokenizer.EncodeText("中 文 , x"), tokenizer.EncodeText("中文,x"));
        Assert.Equal(tokenizer.EncodeText("ab"), tokenizer.EncodeText("a\u0000\u200bb"));
    }

    [Fact]
    public void A_pair_is_cls_query_sep_document_sep_with_the_document_in_segment_one()
    {
        var tokenizer = Load("uncased", "tokenizer.json");
        var ids = tokenizer.EncodePair("query", "the document", 512);
        int[] q = tokenizer.EncodeText("query"), d = tokenizer.EncodeText("the document");
        Assert.Equal([tokenizer.BosId, .. q, tokenizer.EosId, .. d, tokenizer.EosId], ids);
        var types = new long[ids.Length + 2];   // padding after the row stays in segment 1, as the mask hides it
        tokenizer.TokenTypeIds([.. ids.Select(i => (long)i), tokenizer.PadId, tokenizer.PadId], types);
        Assert.Equal([.. Enumerable.Repeat(0L, q.Length + 2), .. Enumerable.Repeat(1L, d.Length + 3)], types);
        Assert.Equal(3, tokenizer.PairSpecialTokens);
        Assert.Equal(0, tokenizer.PadId);
    }

    [Fact]
    public void A_word_longer_than_max_input_chars_per_word_is_one_unknown_token()
    {
        var tokenizer = Load("uncased", "tokenizer.json");
        var unk = tokenizer.EncodeText("[UNK]");
        Assert.Equal(unk, tokenizer.EncodeText(new string('a', 101)));
        Assert.NotEqual(unk, tokenizer.EncodeText(new string('a', 100)));
    }
}
