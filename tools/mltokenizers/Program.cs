// Measures Microsoft.ML.Tokenizers 2.0.1 against the golden ids of Hugging Face's fast tokenizers (untruncated
// cases only): its BertTokenizer on the WordPiece fixtures, its byte-level BpeTokenizer (Qwen2's regex, the added
// tokens as special tokens) on the BPE fixture. The numbers are in docs/tokenizer.md; they are why these stages are
// RerankSharp's own.
//
//   dotnet run -c Release --project tools/mltokenizers -- tests/fixtures/wordpiece/uncased tests/fixtures/wordpiece/cased bpe:tests/fixtures/bpe
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

foreach (var arg in args.Where(a => a.StartsWith("bpe:", StringComparison.Ordinal)))
{
    var dir = arg[4..];
    using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")));
    var special = json.RootElement.GetProperty("added_tokens").EnumerateArray().ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
    var pattern = json.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers")[0].GetProperty("pattern").GetProperty("Regex").GetString()!;
    var bpe = BpeTokenizer.Create(new BpeOptions(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"))
    {
        ByteLevel = true,
        SpecialTokens = special,
        // NFC from ICU: this tool alone builds without InvariantGlobalization (see the .csproj).
        Normalizer = new NfcNormalizer(),
        PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.CultureInvariant), special),
    });
    int total = 0, wrong = 0;
    var byCategory = new SortedDictionary<string, (int Wrong, int Total)>(StringComparer.Ordinal);
    foreach (var line in File.ReadLines(Path.Combine(dir, "golden.jsonl")).Skip(1))
    {
        using var c = JsonDocument.Parse(line);
        var e = c.RootElement;
        if (e.GetProperty("kind").GetString() != "single" || e.TryGetProperty("max_length", out _)) continue;
        var expected = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var ok = bpe.EncodeToIds(e.GetProperty("text").GetString()!).SequenceEqual(expected);
        total++;
        if (!ok) wrong++;
        var category = e.GetProperty("category").GetString()!;
        var (w, t) = byCategory.GetValueOrDefault(category);
        byCategory[category] = (w + (ok ? 0 : 1), t + 1);
    }
    Console.WriteLine($"{dir}: byte-level BpeTokenizer differs from HF on {wrong} of {total} untruncated golden texts");
    foreach (var (category, (w, t)) in byCategory.Where(p => p.Value.Wrong > 0)) Console.WriteLine($"  {category}: {w}/{t}");
}

foreach (var dir in args.Where(a => !a.StartsWith("bpe:", StringComparison.Ordinal)))
{
    using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));
    var lower = config.RootElement.GetProperty("do_lower_case").GetBoolean();
    using var vocab = File.OpenRead(Path.Combine(dir, "vocab.txt"));
    var tokenizer = BertTokenizer.Create(vocab, new BertOptions
    {
        LowerCaseBeforeTokenization = lower,
        RemoveNonSpacingMarks = lower,       // strip_accents null follows do_lower_case
        IndividuallyTokenizeCjk = true,
        ApplyBasicTokenization = true,
        SplitOnSpecialTokens = true,
    });
    int total = 0, wrong = 0;
    var byCategory = new SortedDictionary<string, (int Wrong, int Total)>(StringComparer.Ordinal);
    var examples = new List<string>();
    foreach (var line in File.ReadLines(Path.Combine(dir, "golden.jsonl")).Skip(1))
    {
        using var c = JsonDocument.Parse(line);
        var e = c.RootElement;
        if (e.TryGetProperty("max_length", out _)) continue;
        var expected = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        int[] actual;
        if (e.GetProperty("kind").GetString() == "single")
            actual = [.. tokenizer.EncodeToIds(e.GetProperty("text").GetString()!)];
        else
            actual = [.. tokenizer.BuildInputsWithSpecialTokens(
                tokenizer.EncodeToIds(e.GetProperty("query").GetString()!, addSpecialTokens: false),
                tokenizer.EncodeToIds(e.GetProperty("document").GetString()!, addSpecialTokens: false))];
        var category = e.GetProperty("category").GetString()!;
        var ok = actual.SequenceEqual(expected);
        total++;
        if (!ok)
        {
            wrong++;
            if (examples.Count < 6) examples.Add($"  [{category}] {line[..Math.Min(line.Length, 160)]}\n    ML.Tokenizers: [{string.Join(",", actual.Take(24))}]");
        }
        var (w, t) = byCategory.GetValueOrDefault(category);
        byCategory[category] = (w + (ok ? 0 : 1), t + 1);
    }
    Console.WriteLine($"{dir}: BertTokenizer differs from HF on {wrong} of {total} untruncated golden cases");
    foreach (var (category, (w, t)) in byCategory.Where(p => p.Value.Wrong > 0)) Console.WriteLine($"  {category}: {w}/{t}");
    foreach (var example in examples) Console.WriteLine(example);
}

internal sealed class NfcNormalizer : Normalizer
{
    public override string Normalize(string original) => original.Normalize(System.Text.NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(System.Text.NormalizationForm.FormC);
}
