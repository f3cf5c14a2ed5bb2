using System.Text;
using System.Text.Json;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// The reference check (llm.c style): every case of golden.jsonl — ids from Hugging Face's Rust
/// tokenizers on the same tokenizer.json, truncated by the classic rule — must come out identical,
/// through either load path. On failure it prints the first mismatches with their pieces and the count.
/// </summary>
public sealed class GoldenIdsTests(ITestOutputHelper output)
{
    private const int ShownMismatches = 8;

    public static TheoryData<string> LoadPaths => new() { "sentencepiece.bpe.model", "tokenizer.json" };

    [Theory]
    [MemberData(nameof(LoadPaths))]
    public void EveryGoldenCaseMatches(string source)
    {
        var tokenizer = source == "tokenizer.json" ? TokenizerFixtures.FromJson : TokenizerFixtures.FromModel;
        var cases = TokenizerFixtures.Golden;

        var report = new StringBuilder();
        int mismatches = 0;
        foreach (var c in cases)
        {
            string? problem = Check(tokenizer, c);
            if (problem is null)
            {
                continue;
            }

            if (++mismatches <= ShownMismatches)
            {
                report.AppendLine(c.Describe()).AppendLine(problem);
            }
        }

        var header = TokenizerFixtures.GoldenHeader;
        string summary = $"{source}: {cases.Length - mismatches}/{cases.Length} golden cases match "
            + $"(tokenizers {header.GetProperty("tokenizers_version").GetString()}, {header.GetProperty("truncation_rule").GetString()})";
        output.WriteLine(summary);
        Assert.True(mismatches == 0, $"{summary}; {mismatches} mismatch(es), first {Math.Min(mismatches, ShownMismatches)}:\n{report}");
    }

    [Fact]
    public void GoldenFileCoversTheBrief()
    {
        var cases = TokenizerFixtures.Golden;
        Assert.True(cases.Length >= 300, $"golden.jsonl has {cases.Length} cases");
        Assert.Contains(cases, c => c.Kind == "pair" && c.Truncation == "only_second" && c.Error is not null);
        Assert.Contains(cases, c => c.Kind == "pair" && c.Truncation == "longest_first" && c.Ids is not null && c.MaxLength < 16);
        Assert.Equal(
            TokenizerFixtures.GoldenHeader.GetProperty("cases").GetInt32(),
            cases.Length);
    }

    private static string? Check(XlmRobertaTokenizer tokenizer, GoldenCase c)
    {
        int[] actual;
        try
        {
            actual = c.Encode(tokenizer);
        }
        catch (RerankException e) when (c.Ids is null)
        {
            return e.Kind == RerankErrorKind.InvalidInput ? null : $"  expected an InvalidInput error ({c.Error}), got {e.Kind}: {e.Message}";
        }
        catch (Exception e)
        {
            return $"  threw {e.GetType().Name}: {e.Message}";
        }

        if (c.Ids is null)
        {
            return $"  expected error \"{c.Error}\", got {Render(tokenizer, actual)}";
        }

        if (actual.AsSpan().SequenceEqual(c.Ids))
        {
            return null;
        }

        return $"  expected {Render(tokenizer, c.Ids)}\n  actual   {Render(tokenizer, actual)}";
    }

    internal static string Render(PairTokenizer tokenizer, int[] ids)
    {
        const int Shown = 40;
        var head = ids.Take(Shown).ToArray();
        string more = ids.Length > Shown ? $" …(+{ids.Length - Shown})" : "";
        string pieces;
        try
        {
            pieces = JsonSerializer.Serialize(tokenizer.ToPieces(head), GoldenCase.Readable);
        }
        catch (RerankException)
        {
            pieces = "(ids outside the vocabulary)";
        }

        return $"[{string.Join(",", head)}{more}] {pieces}";
    }
}
