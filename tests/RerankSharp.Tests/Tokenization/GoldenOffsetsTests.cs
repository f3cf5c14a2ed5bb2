using System.Text;
using System.Text.Json;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// Token offsets against Hugging Face's <c>offset_mapping</c> (golden_offsets.jsonl, tools/tokenizer/golden_offsets.js):
/// every distinct text of the golden ids file, converted to UTF-16 indices, must come out identical — ids and offsets.
/// </summary>
public sealed class GoldenOffsetsTests(ITestOutputHelper output)
{
    private const int ShownMismatches = 8;

    // The XLM-R fixture, and DeBERTa-v3's (its Strip moves where each piece of text starts).
    [Theory]
    [InlineData("tokenizer")]
    [InlineData("deberta-tokenizer")]
    public void Every_golden_text_has_the_reference_ids_and_offsets(string fixture)
    {
        var folder = Path.Combine(FixturePaths.Fixtures, fixture);
        var lines = File.ReadAllLines(Path.Combine(folder, "golden_offsets.jsonl"));
        var header = JsonDocument.Parse(lines[0]).RootElement;
        var tokenizer = XlmRobertaTokenizer.FromTokenizerJson(Path.Combine(folder, "tokenizer.json"));
        var report = new StringBuilder();
        int mismatches = 0;
        foreach (var line in lines.Skip(1))
        {
            var e = JsonDocument.Parse(line).RootElement;
            var text = e.GetProperty("text").GetString()!;
            var ids = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var offsets = e.GetProperty("offsets").EnumerateArray().Select(x => new CharSpan(x[0].GetInt32(), x[1].GetInt32())).ToArray();

            var actualIds = tokenizer.EncodeText(text, out var actualOffsets);

            if (actualIds.SequenceEqual(ids) && actualOffsets.SequenceEqual(offsets)) continue;
            if (++mismatches > ShownMismatches) continue;
            report.AppendLine($"  {JsonSerializer.Serialize(text)}")
                .AppendLine($"    ids      {string.Join(' ', ids)}")
                .AppendLine($"    got      {string.Join(' ', actualIds)}")
                .AppendLine($"    offsets  {string.Join(' ', offsets.Select(o => $"{o.Start}-{o.End}"))}")
                .AppendLine($"    got      {string.Join(' ', actualOffsets.Select(o => $"{o.Start}-{o.End}"))}");
        }

        var total = lines.Length - 1;
        var summary = $"{total - mismatches}/{total} texts match (tokenizers {header.GetProperty("tokenizers_version").GetString()})";
        output.WriteLine(summary);
        Assert.Equal(header.GetProperty("texts").GetInt32(), total);
        Assert.True(mismatches == 0, $"{summary}; first mismatches:\n{report}");
    }

    [Fact]
    public void Offsets_track_the_ids_that_encoding_without_offsets_gives()
    {
        var tokenizer = TokenizerFixtures.FromModel;
        foreach (var text in new[] { "Hello world", "  spaced   out  ", "ﬁne ㍿ done\n", "a <s> b <mask> c", "😀 emoji 𓀀b", "\u0001abc", "" })
        {
            var ids = tokenizer.EncodeText(text, out var offsets);
            Assert.Equal(tokenizer.EncodeText(text), ids);
            Assert.Equal(ids.Length, offsets.Length);
            Assert.All(offsets, o => Assert.InRange(o.End, o.Start, text.Length));
        }
    }

    [Fact]
    public void A_words_offsets_cover_the_space_before_it_and_the_word()
    {
        var tokenizer = TokenizerFixtures.FromJson;
        const string text = "alpha beta";

        var ids = tokenizer.EncodeText(text, out var offsets);

        // "▁beta" (or its pieces) spans " beta": the space turned '▁' belongs to the next word, as in HF.
        var last = offsets[^1];
        Assert.Equal(text.Length, last.End);
        Assert.Contains(offsets, o => o.Start == 5);
        Assert.Equal(0, offsets[0].Start);
        Assert.Equal(ids.Length, offsets.Length);
    }
}
