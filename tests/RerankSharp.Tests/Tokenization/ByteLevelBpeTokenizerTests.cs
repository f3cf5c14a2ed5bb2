using System.Text;
using System.Text.Json;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// The byte-level BPE tokenizer and Qwen3-Reranker's prompt against Hugging Face's fast tokenizer: every case of
/// tests/fixtures/bpe/golden.jsonl (tools/bpe/golden.js) identical, from tokenizer.json and from vocab.json + merges.txt.
/// </summary>
public sealed class ByteLevelBpeTokenizerTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(FixturePaths.Fixtures, "bpe");

    public static TheoryData<string> Sources => new() { "tokenizer.json", "vocab.json" };

    private static ByteLevelBpeTokenizer Load(string source) => source == "tokenizer.json"
        ? ByteLevelBpeTokenizer.FromTokenizerJson(Path.Combine(Folder, "tokenizer.json"))
        : ByteLevelBpeTokenizer.FromVocabAndMerges(Path.Combine(Folder, "vocab.json"), Path.Combine(Folder, "merges.txt"), Path.Combine(Folder, "tokenizer_config.json"));

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_golden_case_matches_the_fast_tokenizer(string source)
    {
        var bpe = Load(source);
        var prompt = new Qwen3RerankerTokenizer(bpe);
        var lines = File.ReadAllLines(Path.Combine(Folder, "golden.jsonl"));
        using var header = JsonDocument.Parse(lines[0]);
        var report = new StringBuilder();
        var mismatches = 0;
        foreach (var line in lines.Skip(1))
        {
            using var c = JsonDocument.Parse(line);
            var e = c.RootElement;
            var expected = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            int? maxLength = e.TryGetProperty("max_length", out var m) ? m.GetInt32() : null;
            int[] actual = e.GetProperty("kind").GetString() == "single"
                ? maxLength is { } n ? prompt.EncodeSingle(e.GetProperty("text").GetString()!, n) : bpe.EncodeText(e.GetProperty("text").GetString()!)
                : prompt.EncodePair(e.GetProperty("query").GetString()!, e.GetProperty("document").GetString()!, maxLength ?? int.MaxValue,
                    TruncationStrategy.LongestFirst, TruncationDirection.Right, null, e.TryGetProperty("instruction", out var i) ? i.GetString() : null).Ids;
            if (actual.SequenceEqual(expected)) continue;
            if (++mismatches <= 8)
                GoldenCase.AppendMismatch(report, line, expected, actual, ids => bpe.ToPieces(ids));
        }
        var summary = $"{source}: {lines.Length - 1 - mismatches}/{lines.Length - 1} golden cases match (tokenizers {header.RootElement.GetProperty("tokenizers_version").GetString()})";
        output.WriteLine(summary);
        Assert.True(lines.Length - 1 >= 300);
        Assert.True(mismatches == 0, $"{summary}; first mismatches:\n{report}");
    }

    [Fact]
    public void The_prompt_is_the_model_cards_with_the_default_instruction()
    {
        var prompt = new Qwen3RerankerTokenizer(Load("tokenizer.json"));
        var ids = prompt.EncodePair("What is the capital of China?", "The capital of China is Beijing.", 8192);
        var text = Qwen3RerankerTokenizer.Prefix + "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n"
            + "<Query>: What is the capital of China?\n<Document>: The capital of China is Beijing." + Qwen3RerankerTokenizer.Suffix;
        Assert.Equal(prompt.EncodeText(text), ids);
        Assert.Equal(prompt.EosId, prompt.EncodeText("<|im_end|>").Single());
        Assert.Equal("yes", prompt.ToPieces([prompt.YesId]).Single());
        Assert.Equal("no", prompt.ToPieces([prompt.NoId]).Single());
    }

    [Fact]
    public void A_document_cap_keeps_whole_characters_and_the_prompt_around_them()
    {
        var prompt = new Qwen3RerankerTokenizer(Load("tokenizer.json"));
        var capped = prompt.EncodePair("q", "北京是中国的首都 and more words here", 8192, TruncationStrategy.LongestFirst, TruncationDirection.Right, maxDocumentTokens: 3);
        var full = prompt.EncodePair("q", "北京是中国的首都 and more words here", 8192);
        Assert.True(capped.Ids.Length < full.Length);
        Assert.Equal(full[..^prompt.EncodeText(Qwen3RerankerTokenizer.Suffix).Length][..(capped.Ids.Length - prompt.EncodeText(Qwen3RerankerTokenizer.Suffix).Length)],
            capped.Ids[..^prompt.EncodeText(Qwen3RerankerTokenizer.Suffix).Length]);
    }

    [Fact]
    public void Nfc_composes_what_the_reference_composes()
    {
        Assert.Equal("\u00e9", UnicodeNormalization.Nfc("e\u0301"));
        Assert.Equal("\u1e69", UnicodeNormalization.Nfc("s\u0323\u0307"));      // reordered marks compose
        Assert.Equal("\ud55c", UnicodeNormalization.Nfc("\u1112\u1161\u11ab"));   // Hangul by formula
        Assert.Equal("\u0958".Length == 1 ? "\u0915\u093c" : "", UnicodeNormalization.Nfc("\u0958"));   // a composition exclusion stays decomposed
    }
}
