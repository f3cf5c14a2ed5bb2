using System.Diagnostics;
using System.Globalization;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

/// <summary>
/// The int8 speed/accuracy frontier: every recipe against fp32 on the same model, for speed on one
/// batch (docs × tokens) and for ranking on many queries × documents of mixed lengths.
/// </summary>
internal static class Int8Frontier
{
    private const string DefaultRecipes =
        "q8_0-weights|per-tensor|per-row|per-tensor;fp32=output.dense|per-row;fp32=output.dense|per-tensor;fp32-layers=0,-1|per-tensor;fp32=attention.output.dense,output.dense";

    public static async Task<int> RunAsync(BenchArguments a)
    {
        var model = a.Get("model", "models/full");
        int queries = a.Int("queries", 200), docs = a.Int("docs", 10), minTokens = a.Int("min-tokens", 16), maxTokens = a.Int("max-tokens", 80);
        int speedDocs = a.Int("speed-docs", 10), speedTokens = a.Int("speed-tokens", 512), runs = a.Int("runs", 3), threads = a.Int("threads", 2);
        var recipes = a.Get("recipes", DefaultRecipes).Split('|').Select(Int8Recipe.Parse).ToList();
        var folder = ModelFolder.Open(model);
        // --pairs: real text (tools/model/real_text_pairs.py) through the model's tokenizer; otherwise random ids.
        var pairsPath = a.Get("pairs", "");
        int[][] rankingInputs;
        string rankingText;
        if (pairsPath.Length > 0)
        {
            (rankingInputs, docs) = RealTextPairs.Load(pairsPath, folder, queries);
            queries = rankingInputs.Length / docs;
            rankingText = $"{queries} queries × {docs} docs of real text ({rankingInputs.Min(s => s.Length)}–{rankingInputs.Max(s => s.Length)} tokens)";
        }
        else
        {
            rankingInputs = RankingInputs(queries, docs, minTokens, maxTokens, folder.Config.VocabSize);
            rankingText = $"{queries} queries × {docs} docs ({minTokens}–{maxTokens} tokens)";
        }
        var speedInputs = Inputs.Make(speedDocs, speedTokens, folder.Config.VocabSize);
        Console.Error.WriteLine($"model {model}; ranking: {rankingText}; speed: {speedDocs} × {speedTokens}; {threads} threads");

        var (fp32Logits, fp32Seconds) = await Measure(model, null, threads, rankingInputs, speedInputs, runs);
        Console.Error.WriteLine($"fp32: {Median(fp32Seconds):F2} s; logits {fp32Logits.Min():F3} … {fp32Logits.Max():F3}, sd {StandardDeviation(fp32Logits):F3}");

        Console.WriteLine($"### int8 frontier: {Path.GetFileName(Path.GetFullPath(model).TrimEnd('/'))}, speed {speedDocs} × {speedTokens}, ranking {rankingText}, {threads} threads\n");
        Console.WriteLine("| recipe | median s | × fp32 speed | max \\|Δ logit\\| | mean \\|Δ logit\\| | Spearman mean | Spearman worst | top-1 agree | top-3 agree |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine($"| fp32 | {Median(fp32Seconds):G3} | 1.00 | 0 | 0 | 1 | 1 | 100% | 100% |");
        foreach (var recipe in recipes)
        {
            var (logits, seconds) = await Measure(model, recipe, threads, rankingInputs, speedInputs, runs);
            var agreement = RankingAgreement.Compare(fp32Logits, logits, docs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {recipe} | {Median(seconds):G3} | {Median(fp32Seconds) / Median(seconds):F2} | {agreement.MaxAbsDiff:E2} | {agreement.MeanAbsDiff:E2} | {agreement.SpearmanMean:F4} | {agreement.SpearmanWorst:F4} | {agreement.Top1:P1} | {agreement.Top3:P1} |"));
        }
        Console.WriteLine($"\nfp32 logits on the ranking set: {fp32Logits.Min():F3} … {fp32Logits.Max():F3}, standard deviation {StandardDeviation(fp32Logits):F3}.");
        return 0;
    }

    private static async Task<(float[] Logits, List<double> Seconds)> Measure(string model, Int8Recipe? recipe, int threads,
        int[][] rankingInputs, int[][] speedInputs, int runs)
    {
        var options = new CrossEncoderOptions
        {
            Threads = threads,
            Precision = recipe is null ? Precision.Fp32 : Precision.Int8,
            Int8Recipe = recipe,
        };
        using var encoder = CrossEncoder.Load(model, options);
        var logits = await encoder.ScoreTokenizedAsync(rankingInputs, rawScores: true);
        var seconds = new List<double>();
        if (runs == 0) return (logits, [double.NaN]);
        for (var w = 0; w < 2; w++) await encoder.ScoreTokenizedAsync(speedInputs, rawScores: true);
        for (var r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            await encoder.ScoreTokenizedAsync(speedInputs, rawScores: true);
            seconds.Add(clock.Elapsed.TotalSeconds);
        }
        Console.Error.WriteLine($"{recipe?.ToString() ?? "fp32"}: {string.Join(", ", seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} s");
        return (logits, seconds);
    }

    // Each query shares its 12 query tokens across its documents, as in a real rerank call.
    private static int[][] RankingInputs(int queries, int docs, int minTokens, int maxTokens, int vocabulary)
    {
        var random = new Random(7);
        int Token() => random.Next(4, Math.Min(vocabulary, 16000));
        var inputs = new List<int[]>();
        for (var q = 0; q < queries; q++)
        {
            var query = Enumerable.Range(0, 12).Select(_ => Token()).ToArray();
            for (var d = 0; d < docs; d++)
            {
                var length = random.Next(minTokens, maxTokens + 1);
                var ids = new List<int> { 0 };
                ids.AddRange(query);
                ids.Add(2);
                ids.Add(2);
                while (ids.Count < length - 1) ids.Add(Token());
                ids.Add(2);
                inputs.Add(ids.ToArray());
            }
        }
        return inputs.ToArray();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double StandardDeviation(float[] values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
    }
}

/// <summary>How well one set of scores ranks like another, query by query (groups of equal size, in order).</summary>
internal sealed record RankingAgreement(double MaxAbsDiff, double MeanAbsDiff, double SpearmanMean, double SpearmanWorst, double Top1, double Top3)
{
    public static RankingAgreement Compare(float[] reference, float[] candidate, int groupSize)
    {
        var groups = reference.Length / groupSize;
        var spearman = new List<double>();
        int top1 = 0, top3 = 0;
        for (var g = 0; g < groups; g++)
        {
            var r = reference.AsSpan(g * groupSize, groupSize).ToArray();
            var c = candidate.AsSpan(g * groupSize, groupSize).ToArray();
            spearman.Add(Pearson(Ranks(r), Ranks(c)));
            var rOrder = Order(r);
            var cOrder = Order(c);
            if (rOrder[0] == cOrder[0]) top1++;
            if (rOrder.Take(3).Order().SequenceEqual(cOrder.Take(3).Order())) top3++;
        }
        var diffs = reference.Zip(candidate, (x, y) => Math.Abs((double)x - y)).ToList();
        return new RankingAgreement(diffs.Max(), diffs.Average(), spearman.Average(), spearman.Min(), (double)top1 / groups, (double)top3 / groups);
    }

    private static int[] Order(float[] scores) => Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();

    // Average ranks for ties, so Spearman's rho is Pearson's r on the ranks.
    private static double[] Ranks(float[] scores)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[scores.Length];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            for (var k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2.0;
            i = j + 1;
        }
        return ranks;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? (sxx == syy ? 1 : 0) : sxy / Math.Sqrt(sxx * syy);
    }
}
