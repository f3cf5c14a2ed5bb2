using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Inference;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

/// <summary>
/// Where a batch's time goes: the engine's graph for the model (as <c>CrossEncoder.Load</c> builds it) run under ONNX
/// Runtime's profiler on one docs × tokens batch, and the kernel time summed per operator type over the timed runs.
/// </summary>
internal static class OperatorProfile
{
    public static async Task<int> RunAsync(BenchArguments a)
    {
        var model = a.Get("model", "");
        int docs = a.Int("docs", 4), tokens = a.Int("tokens", 256), runs = a.Int("runs", 3), threads = a.Int("threads", 2);
        var graphPath = Path.Combine(Path.GetTempPath(), $"rerank-bench-profile-{Environment.ProcessId}.onnx");
        var options = new CrossEncoderOptions { Threads = threads, SaveOnnxPath = graphPath, WarmUp = false, OwnKernels = !a.Flag("contrib") };
        string weightsDirectory;
        using (var encoder = await CrossEncoder.LoadAsync(model, options))
            weightsDirectory = encoder.Folder.WeightsDirectory;

        try
        {
            using var session = Session(graphPath, weightsDirectory, threads, a.Flag("prepack"));
            var inputs = Inputs.Make(docs, tokens, 16000);
            var ids = inputs.SelectMany(s => s.Select(i => (long)i)).ToArray();
            var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [docs, tokens]);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [docs, tokens]);
            var seconds = new List<double>();
            for (var r = 0; r < runs + 2; r++)
            {
                var clock = Stopwatch.StartNew();
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, ["input_ids", "attention_mask"], [idsValue, maskValue], ["logits"]);
                if (r >= 2) seconds.Add(clock.Elapsed.TotalSeconds);
            }
            Print(session.EndProfiling(), docs, tokens, runs, seconds,
                $"{(a.Flag("contrib") ? "ONNX Runtime's" : "Our")} SkipLayerNormalization{(a.Flag("prepack") ? ", prepacked" : "")}");
        }
        finally
        {
            File.Delete(graphPath);
        }
        return 0;
    }

    // The engine's own session options, with ONNX Runtime's profiler on.
    private static InferenceSession Session(string graphPath, string weightsDirectory, int threads, bool prepack)
    {
        using var options = EncoderSession.Options(
            new SessionSettings(Device.Cpu, threads, GraphOptimizationLevel.ORT_ENABLE_ALL, prepack), weightsDirectory);
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), "rerank-bench-profile");
        return new InferenceSession(File.ReadAllBytes(graphPath), options);
    }

    // The profile holds one model_run event per run and one *_kernel_time event per node; the two warm-up runs are left out.
    private static void Print(string profilePath, int docs, int tokens, int runs, List<double> seconds, string kernel)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(profilePath));
        var events = document.RootElement.EnumerateArray().ToList();
        var timed = events.Where(e => e.GetProperty("name").GetString() == "model_run")
            .Select(e => (Start: e.GetProperty("ts").GetInt64(), Length: e.GetProperty("dur").GetInt64()))
            .OrderBy(e => e.Start).Skip(2).ToList();
        var perOperator = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.GetProperty("cat").GetString() != "Node" || e.GetProperty("name").GetString()?.EndsWith("_kernel_time", StringComparison.Ordinal) != true) continue;
            var at = e.GetProperty("ts").GetInt64();
            if (!timed.Any(run => at >= run.Start && at <= run.Start + run.Length)) continue;
            var op = e.GetProperty("args").GetProperty("op_name").GetString()!;
            // An If's time includes the node it ran; count the node, not the If.
            if (op == "If") continue;
            perOperator[op] = perOperator.GetValueOrDefault(op) + e.GetProperty("dur").GetInt64() / 1000.0 / timed.Count;
        }
        File.Delete(profilePath);
        var runMs = timed.Average(r => r.Length) / 1000.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{kernel}, {docs} × {tokens} tokens, {runs} timed runs: median {EngineBenchmark.Median(seconds):F3} s; profiled run {runMs:F0} ms"));
        Console.WriteLine();
        Console.WriteLine("| operator | ms per run | share of the run |");
        Console.WriteLine("|---|---|---|");
        foreach (var (op, ms) in perOperator.OrderByDescending(p => p.Value).Where(p => p.Value >= 0.05))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {op} | {ms:F1} | {ms / runMs:P1} |"));
    }
}
