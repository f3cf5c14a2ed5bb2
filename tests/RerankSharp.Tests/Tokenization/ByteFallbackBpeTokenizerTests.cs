using System.Text;
using System.Text.Json;
using RerankSharp.Tests.Models;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// The byte-fallback BPE tokenizer (Gemma's tokenizer.json form) and bge-reranker-v2-gemma's prompt against Hugging
/// Face's fast tokenizer: every case of tests/fixtures/gemma-tokenizer/golden.jsonl (tools/bpe/golden_gemma.js) identical.
/// </summary>
public sealed class ByteFallbackBpeTokenizerTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(FixturePaths.Fixtures, "gemma-tokenizer");

    private static DecoderPromptTokenizer Load() => (DecoderPromptTokenizer)PairTokenizer.FromAnyTokenizerJson(Path.Combine(Folder, "tokenizer.json"));

    [Fact]
    public void Every_golden_case_matches_the_fast_tokenizer()
    {
        var prompt = Load();
        var lines = File.ReadAllLines(Path.Combine(Folder, "golden.jsonl"));
        using var header = JsonDocument.Parse(lines[0]);
        var report = new StringBuilder();
        var mismatches = 0;
        foreach (var line in lines.Skip(1))
        {
            using var c = JsonDocument.Parse(line);
            var e = c.RootElement;
            var expected = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            int[] actual;
            if (e.GetProperty("kind").GetString() == "single")
            {
                var text = e.GetProperty("text").GetString()!;
                actual = e.TryGetProperty("max_length", out var m) ? prompt.EncodeSingle(text, m.GetInt32()) : prompt.EncodeText(text);
            }
            else
            {
                var instruction = e.TryGetProperty("instruction", out var i) ? i.GetString() : null;
                // FlagEmbedding's max_length L bounds the passage; our max_length bounds the whole prompt, L + 2·(|sep| + |prompt|).
                var tail = prompt.EncodeText("\n").Length + prompt.EncodeText(string.IsNullOrEmpty(instruction) ? DecoderPrompt.BgeRerankerV2Gemma.Task : instruction).Length;
                var maxLength = e.TryGetProperty("reference_max_length", out var l) ? l.GetInt32() + 2 * tail : int.MaxValue;
                actual = prompt.EncodePair(e.GetProperty("query").GetString()!, e.GetProperty("document").GetString()!, maxLength,
                    TruncationStrategy.OnlySecond, TruncationDirection.Right, null, instruction).Ids;
            }
            if (actual.SequenceEqual(expected)) continue;
            if (++mismatches <= 8)
                GoldenCase.AppendMismatch(report, line, expected, actual, ids => prompt.ToPieces(ids));
        }
        var summary = $"{lines.Length - 1 - mismatches}/{lines.Length - 1} golden cases match (tokenizers {header.RootElement.GetProperty("tokenizers_version").GetString()})";
        output.WriteLine(summary);
        Assert.True(lines.Length - 1 >= 1000);
        Assert.True(mismatches == 0, $"{summary}; first mismatches:\n{report}");
    }

    [Fact]
    public void The_score_token_is_the_first_token_of_Yes_and_there_is_no_false_token()
    {
        var prompt = Load();

        Assert.Equal(prompt.EncodeText("Yes")[0], prompt.TrueId);
        Assert.Null(prompt.FalseId);
        Assert.Equal(2, prompt.BosId);
        Assert.Equal(prompt.BosId, prompt.EncodePair("q", "d", 8192)[0]);
    }

    [Fact]
    public void A_tokenizer_json_with_a_normalizer_other_than_gemmas_is_refused_naming_it()
    {
        using var temp = new TempDirectory();
        var json = File.ReadAllText(Path.Combine(Folder, "tokenizer.json"))
            .Replace("\"normalizer\": {\n  \"type\": \"Replace\"", "\"normalizer\": {\n  \"type\": \"NFC\", \"x\": {}, \"y\": \"Replace\"", StringComparison.Ordinal);
        var path = Path.Combine(temp.Path, "tokenizer.json");
        File.WriteAllText(path, json);

        var e = Assert.Throws<RerankException>(() => PairTokenizer.FromAnyTokenizerJson(path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("normalizer", e.Message);
    }
}
