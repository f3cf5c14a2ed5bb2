using System.Text;
using System.Text.Json;
using RerankSharp.Models;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// ModernBERT's kind of tokenizer (byte-level BPE with GPT-2's regex, NFC, added tokens for runs of spaces, [MASK] with
/// lstrip, the [CLS] A [SEP] B [SEP] template) against Hugging Face's fast tokenizer: every case of
/// tests/fixtures/modernbert-tokenizer/golden.jsonl (tools/bpe/golden_modernbert.js), untruncated and cut, errors included.
/// </summary>
public sealed class TemplateBpeTokenizerTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(FixturePaths.Fixtures, "modernbert-tokenizer");

    private static TemplateBpeTokenizer Load() =>
        Assert.IsType<TemplateBpeTokenizer>(PairTokenizer.FromAnyTokenizerJson(Path.Combine(Folder, "tokenizer.json")));

    [Fact]
    public void Every_golden_case_matches_the_fast_tokenizer()
    {
        var tokenizer = Load();
        var lines = File.ReadAllLines(Path.Combine(Folder, "golden.jsonl"));
        using var header = JsonDocument.Parse(lines[0]);
        var report = new StringBuilder();
        int mismatches = 0, errors = 0, pairs = 0;
        foreach (var line in lines.Skip(1))
        {
            using var c = JsonDocument.Parse(line);
            var e = c.RootElement;
            int? maxLength = e.TryGetProperty("max_length", out var m) ? m.GetInt32() : null;
            var strategy = e.TryGetProperty("truncation", out var t) && t.GetString() == "only_second" ? TruncationStrategy.OnlySecond : TruncationStrategy.LongestFirst;
            int[] Encode() => e.GetProperty("kind").GetString() == "single"
                ? maxLength is { } n ? tokenizer.EncodeSingle(e.GetProperty("text").GetString()!, n) : tokenizer.WithSpecialTokens(tokenizer.EncodeText(e.GetProperty("text").GetString()!))
                : tokenizer.EncodePair(e.GetProperty("query").GetString()!, e.GetProperty("document").GetString()!, maxLength ?? int.MaxValue, strategy);
            if (e.GetProperty("kind").GetString() == "pair") pairs++;
            if (e.GetProperty("ids").ValueKind == JsonValueKind.Null)
            {
                // The reference refuses (max_length below the specials, only_second that cannot fit): so must we.
                errors++;
                var refused = Record.Exception(() => Encode());
                if (refused is RerankException { Kind: RerankErrorKind.InvalidInput }) continue;
                if (++mismatches <= 8) report.AppendLine($"{line[..Math.Min(line.Length, 300)]}\n  expected an InvalidInput error, got {refused?.GetType().Name ?? "ids"}");
                continue;
            }
            var expected = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            int[] actual;
            try
            {
                actual = Encode();
            }
            catch (RerankException refused)
            {
                if (++mismatches <= 8) report.AppendLine($"{line[..Math.Min(line.Length, 300)]}\n  refused: {refused.Message}");
                continue;
            }
            if (actual.SequenceEqual(expected)) continue;
            if (++mismatches <= 8)
                GoldenCase.AppendMismatch(report, line, expected, actual, ids => tokenizer.ToPieces(ids));
        }
        var summary = $"{lines.Length - 1 - mismatches}/{lines.Length - 1} golden cases match ({pairs} pairs, {errors} refusals; tokenizers {header.RootElement.GetProperty("tokenizers_version").GetString()})";
        output.WriteLine(summary);
        Assert.True(lines.Length - 1 >= 1000);
        Assert.True(mismatches == 0, $"{summary}; first mismatches:\n{report}");
    }

    [Fact]
    public void The_pair_template_is_cls_query_sep_document_sep()
    {
        var tokenizer = Load();
        var cls = tokenizer.EncodeText("[CLS]").Single();
        var sep = tokenizer.EncodeText("[SEP]").Single();

        var ids = tokenizer.EncodePair("what is panda?", "The giant panda is a bear.", 512);

        Assert.Equal([cls, .. tokenizer.EncodeText("what is panda?"), sep, .. tokenizer.EncodeText("The giant panda is a bear."), sep], ids);
        Assert.Equal(3, tokenizer.PairSpecialTokens);
        Assert.Equal((cls, sep), (tokenizer.BosId, tokenizer.EosId));
        Assert.Equal(tokenizer.EncodeText("[PAD]").Single(), tokenizer.PadId);
        Assert.True(tokenizer.IsSpecial(cls) && tokenizer.IsSpecial(sep) && !tokenizer.IsSpecial(ids[1]));
    }

    [Fact]
    public void A_model_folder_with_a_template_tokenizer_json_loads_it()
    {
        var tokenizer = PairTokenizer.Load(ModelFolder.Open(FixturePaths.Model("modernbert-a")));

        Assert.IsType<TemplateBpeTokenizer>(tokenizer);
    }

    [Fact]
    public void A_template_over_sequences_other_than_a_then_b_is_refused_naming_the_key()
    {
        using var temp = new RerankSharp.Tests.Models.TempDirectory();
        var json = File.ReadAllText(Path.Combine(Folder, "tokenizer.json"));
        var swapped = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var pair = swapped["post_processor"]!["pair"]!.AsArray();
        (pair[1], pair[3]) = (pair[3]!.DeepClone(), pair[1]!.DeepClone());
        var path = temp.Write("tokenizer.json", swapped.ToJsonString());

        var e = Assert.Throws<RerankException>(() => PairTokenizer.FromAnyTokenizerJson(path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("post_processor.pair takes the sequences [B, A]", e.Message);
    }
}
