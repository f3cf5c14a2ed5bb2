using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

/// <summary>
/// The engine's logits against a float64 reference file from tools/model/golden_logits.py --ids (one case per
/// sequence, in input order): max absolute and relative |Δ|. All sequences run as one batch, as written.
/// </summary>
internal static class AccuracyCheck
{
    public static async Task<int> RunAsync(BenchArguments a)
    {
        var ids = JsonSerializer.Deserialize<int[][]>(await File.ReadAllTextAsync(a.Get("ids", "")))!;
        var reference = JsonNode.Parse(await File.ReadAllTextAsync(a.Get("reference-logits", "")))!["cases"]!.AsArray()
            .SelectMany(c => c!["logits"]!.AsArray().Select(x => x!.GetValue<double>())).ToArray();
        if (reference.Length != ids.Length)
            throw new InvalidOperationException($"{reference.Length} reference logits for {ids.Length} sequences");
        var precision = Enum.Parse<Precision>(a.Get("precision", "fp32"), ignoreCase: true);
        using var encoder = CrossEncoder.Load(a.Get("model", ""), new CrossEncoderOptions
        {
            Threads = a.Int("threads", 2), Precision = precision,
            BatchSize = ids.Length, MaxBatchTokens = ids.Length * ids.Max(s => s.Length),
            OwnKernels = !a.Flag("contrib"), PrepackWeights = a.Flag("prepack") ? true : null,
        });
        var logits = await encoder.ScoreTokenizedAsync(ids, rawScores: true);
        var absolute = logits.Zip(reference, (o, r) => Math.Abs(o - r)).Max();
        var relative = logits.Zip(reference, (o, r) => Math.Abs(o - r) / Math.Max(1, Math.Abs(r))).Max();
        var mean = logits.Zip(reference, (o, r) => Math.Abs(o - r)).Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{ids.Length} sequences ({ids.Min(s => s.Length)}–{ids.Max(s => s.Length)} tokens), {precision}{(a.Flag("contrib") ? " (ORT's SkipLayerNormalization)" : "")}: max |Δ logit| {absolute:E2}, mean {mean:E2}, max relative {relative:E2} (logits {reference.Min():F3} … {reference.Max():F3})"));
        return 0;
    }
}
