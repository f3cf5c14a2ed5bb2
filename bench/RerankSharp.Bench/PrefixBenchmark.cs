using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using RerankSharp.Tokenization;

namespace RerankSharp.Bench;

/// <summary>
/// `rerank-bench prefix`: a decoder reranker's requests (one query of --query-tokens, the default instruction, prompts
/// of exactly N tokens) with the shared prompt prefix computed once against the whole prompt per document, per
/// precision, and PyTorch float32 eager (the whole prompt per row) beside them, alternating round by round on the same
/// ids; then, with --starts, load-to-first-score in fresh processes, the first start (its weight cache written) and
/// the second (read). Prints Markdown.
/// </summary>
internal static class PrefixBenchmark
{
    private static readonly string[] Sentences =
    [
        "The pump moves water from the well to the tank on the roof.",
        "Seals wear out after a few seasons and must be replaced before they leak.",
        "A pressure switch starts the motor when the tank runs low.",
        "Winter frost can crack the housing if the pipes are not drained.",
        "The manual lists the torque for every bolt on the impeller cover.",
    ];

    public static async Task<int> RunAsync(BenchArguments a)
    {
        var model = a.Get("model", "");
        int rounds = a.Int("rounds", 2), runs = a.Int("runs", 1), threads = a.Int("threads", 2), queryTokens = a.Int("query-tokens", 32);
        var cases = a.Get("cases", "10x256,50x256").Split(',').Select(c => c.Split('x'))
            .Select(p => (Docs: int.Parse(p[0], CultureInfo.InvariantCulture), Tokens: int.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        var precisions = a.Get("precisions", "fp32,int8").Split(',').Select(p => Enum.Parse<Precision>(p, ignoreCase: true)).ToList();
        var folder = ModelFolder.Open(model);
        var report = new StringBuilder();
        report.AppendLine($"Machine: {EngineBenchmark.MachineDescription()}; {threads} intra-op threads; model {Path.GetFileName(Path.GetFullPath(model))} ({folder.Config.Architectures.FirstOrDefault()}, {folder.Config.NumHiddenLayers} layers, hidden {folder.Config.HiddenSize}); {rounds} round(s) × {runs} run(s) per contender after one warm-up run; a case is documents × prompt tokens (the whole prompt of the model's template, as `rerank bench --grid` counts them; each document cut to fill it).");
        report.AppendLine();

        // Two engines per precision, the prefix computed once or not; the session options are otherwise the same.
        var contenders = precisions.SelectMany(p => new[] { (Precision: p, Reuse: true), (Precision: p, Reuse: false) }).ToList();
        var encoders = contenders.ToDictionary(c => c, c => CrossEncoder.Load(model,
            new CrossEncoderOptions { Threads = threads, Precision = c.Precision, ReusePromptPrefix = c.Reuse }));
        string Name((Precision Precision, bool Reuse) c) => $"RerankSharp {c.Precision.ToString().ToLowerInvariant()}, {(c.Reuse ? "prefix once" : "whole prompt")}";
        var table = new List<string>();
        try
        {
            var tokenizer = encoders.Values.First().Tokenizer;
            var query = Query(tokenizer, queryTokens);
            foreach (var (docs, tokens) in cases)
            {
                var sequences = Sequences(tokenizer, query, docs, tokens);
                var prefix = sequences.Select(s => s.AsSpan().CommonPrefixLength(sequences[0])).Min();
                var total = sequences.Sum(s => (long)s.Length);
                var idsPath = Path.Combine(Path.GetTempPath(), $"rerank-prefix-ids-{docs}x{tokens}.json");
                await File.WriteAllTextAsync(idsPath, JsonSerializer.Serialize(sequences));
                Console.Error.WriteLine($"case {docs} × {tokens}: prompts of {sequences.Min(s => s.Length)}–{sequences.Max(s => s.Length)} tokens, {prefix} shared");

                var seconds = contenders.ToDictionary(c => c, _ => new List<double>());
                var scores = new Dictionary<(Precision, bool), float[]>();
                var torch = new List<double>();
                foreach (var (c, encoder) in encoders) scores[c] = await encoder.ScoreTokenizedAsync(sequences, rawScores: true);
                for (var round = 0; round < rounds; round++)
                {
                    foreach (var (c, encoder) in encoders)
                        for (var r = 0; r < runs; r++)
                        {
                            // Each timed request computes its own prefix, as a new query would: none is left from the last run.
                            encoder.ForgetPromptPrefixes();
                            var clock = Stopwatch.StartNew();
                            await encoder.ScoreTokenizedAsync(sequences, rawScores: true);
                            seconds[c].Add(clock.Elapsed.TotalSeconds);
                        }
                    if (!a.Flag("no-torch"))
                        torch.AddRange(EngineBenchmark.Seconds(EngineBenchmark.RunTorch(a.Get("torch", "tools/model/bench_reference.py"), model, idsPath, threads,
                            Math.Min(docs, a.Int("torch-batch", 10)), warmup: 1, runs, tuned: true, gemmReps: 0)));
                    Console.Error.WriteLine($"  round {round + 1}: " + string.Join("; ", seconds.Select(s => $"{Name(s.Key)} {EngineBenchmark.Median(s.Value):F2} s"))
                        + (torch.Count > 0 ? $"; torch {EngineBenchmark.Median(torch):F2} s" : ""));
                }
                double? baseline = torch.Count > 0 ? EngineBenchmark.Median(torch) : null;
                foreach (var c in contenders)
                {
                    var median = EngineBenchmark.Median(seconds[c]);
                    var whole = EngineBenchmark.Median(seconds[(c.Precision, false)]);
                    // The cached path's scores against the whole prompt's of the same precision: what reuse changes.
                    var drift = c.Reuse ? scores[c].Zip(scores[(c.Precision, false)], (x, y) => Math.Abs(x - y) / Math.Max(1, Math.Abs(y))).Max() : 0;
                    table.Add(string.Create(CultureInfo.InvariantCulture,
                        $"| {docs} × {tokens} | {Name(c)} | {median:F2} | {seconds[c].Min():F2} | {docs / median:F1} | {total / median:F0} | {whole / median:F2} | {(baseline is { } b ? (b / median).ToString("F2", CultureInfo.InvariantCulture) : "—")} | {(c.Reuse ? drift.ToString("0.0e+0", CultureInfo.InvariantCulture) : "—")} |"));
                }
                if (baseline is { } t)
                    table.Add(string.Create(CultureInfo.InvariantCulture,
                        $"| {docs} × {tokens} | PyTorch fp32 eager, whole prompt, tuned malloc | {t:F2} | {torch.Min():F2} | {docs / t:F1} | {total / t:F0} | — | 1.00 | — |"));
                table.Add(string.Create(CultureInfo.InvariantCulture, $"| | ({prefix} of the {total / docs} tokens per prompt shared) | | | | | | | |"));
            }
        }
        finally
        {
            foreach (var encoder in encoders.Values) encoder.Dispose();
        }
        report.AppendLine("| case (docs × prompt tokens) | contender | median s | min s | pairs/s | prompt tokens/s | × whole prompt | × PyTorch | max rel. Δ score vs whole prompt |");
        report.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var line in table) report.AppendLine(line);

        if (a.Flag("starts")) await Starts(a, model, threads, precisions, report);
        Console.Write(report.ToString());
        return 0;
    }

    // Load-to-first-score in fresh processes: the weight cache (.rerank-cache) removed, then two starts in a row.
    private static async Task Starts(BenchArguments a, string model, int threads, List<Precision> precisions, StringBuilder report)
    {
        var encoder = CrossEncoder.Load(model, new CrossEncoderOptions { Threads = threads });
        var sequences = Sequences(encoder.Tokenizer, Query(encoder.Tokenizer, a.Int("query-tokens", 32)), 1, 64);
        encoder.Dispose();
        var idsPath = Path.Combine(Path.GetTempPath(), "rerank-prefix-start.json");
        await File.WriteAllTextAsync(idsPath, JsonSerializer.Serialize(sequences));
        report.AppendLine();
        report.AppendLine($"Fresh process per start (warm page cache; the model folder's {Int8WeightCache.FolderName}/ removed before the first): load = `CrossEncoder.Load` until ready, then one pair of {sequences[0].Length} tokens (the first score); RSS after load and peak RSS after three runs.");
        report.AppendLine();
        report.AppendLine("| precision | start | load s | first score s | load + first score s | RSS after load MiB | peak RSS MiB |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var p in precisions)
        {
            var cache = Path.Combine(model, Int8WeightCache.FolderName);
            if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
            foreach (var start in new[] { "first (writes the cache)", "second" })
            {
                var probe = EngineBenchmark.RunSelf($"load-probe --model {model} --ids {idsPath} --threads {threads} --precision {p.ToString().ToLowerInvariant()}");
                double load = EngineBenchmark.Number(probe["load_s"])!.Value, first = EngineBenchmark.Number(probe["first_run_s"])!.Value;
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {p.ToString().ToLowerInvariant()} | {start} | {load:F2} | {first:F2} | {load + first:F2} | {probe["rss_after_load_mib"]} | {probe["hwm_after_run_mib"]} |"));
            }
        }
        report.AppendLine();
        report.AppendLine($"Weights: {ModelFolder.Open(model).WeightFiles.Sum(f => new FileInfo(f).Length) / 1048576.0:F0} MiB on disk as stored.");
    }

    // A query of exactly `tokens` tokens where the words allow it (the first word count that reaches it).
    private static string Query(PairTokenizer tokenizer, int tokens)
    {
        string[] words = ["how", "often", "should", "the", "seals", "of", "a", "water", "pump", "be", "replaced", "in", "a", "cold", "climate", "and", "why"];
        var query = new StringBuilder();
        for (var i = 0; tokenizer.EncodeText(query.ToString()).Length < tokens; i++)
            query.Append(i == 0 ? "" : " ").Append(words[i % words.Length]);
        return query.ToString();
    }

    // One prompt per document of exactly `tokens` tokens, as rerank bench's grid counts them: the whole prompt, its
    // document (long enough, and different in each) cut at the end to fill it.
    private static int[][] Sequences(PairTokenizer tokenizer, string query, int docs, int tokens) =>
        Enumerable.Range(0, docs).Select(d =>
        {
            var text = new StringBuilder($"Note {d}: ");
            for (var s = 0; s < tokens / 8 + Sentences.Length; s++) text.Append(Sentences[(s + d) % Sentences.Length]).Append(' ');
            // Some references cut below their max length (FlagEmbedding keeps room for its prompt twice), so the max
            // length grows until the prompt is exactly `tokens` long; a prompt never shrinks as it grows.
            for (var maxLength = tokens; maxLength <= 2 * tokens; maxLength++)
            {
                var ids = tokenizer.EncodePair(query, text.ToString(), maxLength, TruncationStrategy.LongestFirst, instruction: null);
                if (ids.Length == tokens) return ids;
                if (ids.Length > tokens) break;
            }
            throw new InvalidOperationException($"no max length gives a prompt of exactly {tokens} tokens; the template and query need fewer than {tokens}.");
        }).ToArray();
}
