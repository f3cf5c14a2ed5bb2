using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Models;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

internal static class EngineBenchmark
{
    public static async Task<int> RunAsync(BenchArguments a)
    {
        var model = a.Get("model", "models/full");
        int docs = a.Int("docs", 10), tokens = a.Int("tokens", 512), rounds = a.Int("rounds", 2), runs = a.Int("runs", 3), threads = a.Int("threads", 2);
        var torchScript = a.Get("torch", "tools/model/bench_reference.py");
        var folder = ModelFolder.Open(model);
        // --ids FILE (a JSON list of id lists) replaces the generated inputs, e.g. for a batch of mixed lengths.
        var inputs = a.Options.TryGetValue("ids", out var given)
            ? JsonSerializer.Deserialize<int[][]>(await File.ReadAllTextAsync(given))!
            : Inputs.Make(docs, tokens, folder.Config.VocabSize);
        docs = inputs.Length;
        tokens = inputs.Max(s => s.Length);
        var idsPath = given ?? Path.Combine(Path.GetTempPath(), $"rerank-bench-ids-{docs}x{tokens}.json");
        if (given is null) await File.WriteAllTextAsync(idsPath, JsonSerializer.Serialize(inputs));
        long totalTokens = inputs.Sum(s => (long)s.Length);
        Console.Error.WriteLine($"case: {docs} docs × {tokens} tokens = {totalTokens} tokens; model {model}; {threads} threads");

        // Load time and memory in a fresh process, so nothing of ours is resident before it.
        var probe = RunSelf($"load-probe --model {model} --ids {idsPath} --threads {threads}");
        Console.Error.WriteLine($"load probe: {probe.ToJsonString()}");

        var precision = Enum.Parse<RerankSharp.Onnx.Precision>(a.Get("precision", "fp32"), ignoreCase: true);
        using var encoder = CrossEncoder.Load(model, new CrossEncoderOptions { Threads = threads, BatchSize = docs, MaxBatchTokens = docs * tokens, Precision = precision });
        for (var w = 0; w < 2; w++) await encoder.ScoreTokenizedAsync(inputs, rawScores: true);  // arena first-touch (ort.md finding 9)

        var ours = new List<double>();
        var torchTuned = new List<double>();
        float[] ourLogits = [];
        JsonNode? torchLast = null;
        for (var round = 0; round < rounds; round++)
        {
            for (var r = 0; r < runs; r++)
            {
                var clock = Stopwatch.StartNew();
                ourLogits = await encoder.ScoreTokenizedAsync(inputs, rawScores: true);
                ours.Add(clock.Elapsed.TotalSeconds);
            }
            Console.Error.WriteLine($"round {round + 1}: ours median {Median(ours):F2} s");
            if (a.Flag("no-torch")) continue;
            torchLast = RunTorch(torchScript, model, idsPath, threads, docs, runs, tuned: true);
            torchTuned.AddRange(torchLast["run_seconds"]!.AsArray().Select(x => x!.GetValue<double>()));
            Console.Error.WriteLine($"round {round + 1}: torch (tuned malloc) median {Median(torchTuned):F2} s");
        }
        JsonNode? torchDefault = a.Flag("no-torch") || a.Flag("no-default-malloc") ? null : RunTorch(torchScript, model, idsPath, threads, docs, 1, tuned: false);

        var rows = new List<string[]>
        {
            Row($"RerankSharp {precision.ToString().ToLowerInvariant()} (ORT, fused graph)", ours, totalTokens),
        };
        if (torchTuned.Count > 0) rows.Add(Row("PyTorch fp32 eager, tuned malloc", torchTuned, totalTokens));
        if (torchDefault is not null) rows.Add(Row("PyTorch fp32 eager, default malloc", torchDefault["run_seconds"]!.AsArray().Select(x => x!.GetValue<double>()).ToList(), totalTokens));

        Console.WriteLine($"### {docs} docs × {tokens} tokens, {threads} threads, {rounds} rounds × {runs} runs\n");
        Console.WriteLine("| contender | median s | min s | tokens/s | × PyTorch (tuned) |");
        Console.WriteLine("|---|---|---|---|---|");
        var baseline = torchTuned.Count > 0 ? Median(torchTuned) : double.NaN;
        foreach (var row in rows)
            Console.WriteLine($"| {row[0]} | {row[1]} | {row[2]} | {row[3]} | {(double.IsNaN(baseline) ? "—" : (baseline / double.Parse(row[1], CultureInfo.InvariantCulture)).ToString("F2", CultureInfo.InvariantCulture))} |");
        Console.WriteLine();
        Console.WriteLine($"Load (fresh process): {probe["load_s"]} s; RSS after load {probe["rss_after_load_mib"]} MiB; peak RSS (VmHWM) after the first batch {probe["hwm_after_run_mib"]} MiB (anon {probe["anon_after_run_mib"]}, file {probe["file_after_run_mib"]}); weights {probe["weights_mib"]} MiB.");
        if (torchLast is not null)
        {
            var torchLogits = torchLast["logits"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
            var diff = ourLogits.Zip(torchLogits, (o, t) => Math.Abs(o - t)).Max();
            Console.WriteLine($"Max |Δ logit| ours vs PyTorch fp32: {diff:E2} (logits {torchLogits.Min():F3} … {torchLogits.Max():F3}); PyTorch GEMM check {torchLast["gemm_check"]?["median_gflops"]} GFLOP/s; peak RSS PyTorch {torchLast["peak_rss_mib"]} MiB.");
        }
        if (a.Options.TryGetValue("reference-logits", out var referencePath))
        {
            // golden_logits.py --ids writes one case per sequence, in input order.
            var reference = JsonNode.Parse(await File.ReadAllTextAsync(referencePath))!["cases"]!.AsArray()
                .SelectMany(c => c!["logits"]!.AsArray().Select(x => x!.GetValue<double>())).ToArray();
            var worst = ourLogits.Zip(reference, (o, r) => Math.Abs(o - r) / Math.Max(1, Math.Abs(r))).Max();
            Console.WriteLine($"Max relative |Δ logit| ours vs float64 reference: {worst:E2}.");
        }
        return 0;
    }

    private static string[] Row(string name, List<double> seconds, long tokens) =>
    [
        name,
        Median(seconds).ToString("F2", CultureInfo.InvariantCulture),
        seconds.Min().ToString("F2", CultureInfo.InvariantCulture),
        (tokens / Median(seconds)).ToString("F0", CultureInfo.InvariantCulture),
    ];

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static JsonNode RunTorch(string script, string model, string idsPath, int threads, int batch, int runs, bool tuned)
    {
        var arguments = $"{script} --model {model} --ids {idsPath} --threads {threads} --batch-size {batch} --warmup 1 --runs {runs} --print-logits{(tuned ? " --tuned-malloc" : "")}";
        return RunProcess("/usr/bin/python3", arguments);
    }

    private static JsonNode RunSelf(string arguments) =>
        RunProcess(Environment.ProcessPath!, (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? typeof(EngineBenchmark).Assembly.Location + " " : "") + arguments);

    private static JsonNode RunProcess(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}");
        return JsonNode.Parse(stdout)!;
    }
}
