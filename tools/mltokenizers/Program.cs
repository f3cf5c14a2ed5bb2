// Measures Microsoft.ML.Tokenizers 2.0.1 against the golden ids of Hugging Face's fast tokenizers (untruncated
// cases only): its BertTokenizer on the WordPiece fixtures. The numbers are in docs/tokenizer.md; this is why the
// WordPiece stages are RerankSharp's own.
//
//   dotnet run -c Release --project tools/mltokenizers -- tests/fixtures/wordpiece/uncased tests/fixtures/wordpiece/cased
using System.Text.Json;
using Microsoft.ML.Tokenizers;

foreach (var dir in args)
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
