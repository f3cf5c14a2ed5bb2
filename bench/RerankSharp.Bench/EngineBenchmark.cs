using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

/// <summary>
/// Our engine (each precision), the machine's SGEMM peak and the PyTorch reference on the same token
/// ids, alternating round by round so host drift hits every contender alike. Prints Markdown.
/// </summary>
internal static class EngineBenchmark
{
    private const string DefaultCases = "10x128,10x512,50x256,4x1024,4x2048,1x8192";

    private sealed record Case(int Docs, int Tokens)
    {
        public override string ToString() => $"{Docs} × {Tokens}";
        public bool Long => Tokens >= 2048;
    }

    // Shares: each timed run's GFLOP/s over the SGEMM peak measured just before and just after it, so that the
    // host's drift (±15 % over minutes, ort.md) moves both sides of the ratio alike.
    private sealed record Row(Case Case, string Contender, List<double> Seconds, List<double> Shares, double? PeakRssMib, double? Baseline)
    {
        public double Median => EngineBenchmark.Median(Seconds);
    }

    // `engine`: one case (--docs, --tokens); `suite`: every case of --cases.
    public static async Task<int> RunAsync(BenchArguments a, bool suite)
    {
        var model = a.Get("model", "models/full");
        int rounds = a.Int("rounds", 2), runs = a.Int("runs", 2), threads = a.Int("threads", 2);
        var cases = suite
            ? a.Get("cases", DefaultCases).Split(',').Select(c => c.Split('x')).Select(p => new Case(int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToList()
            : [new Case(a.Int("docs", 10), a.Int("tokens", 512))];
        // A contender is a precision with the engine's default prepacking, or forced with "-prepack" / "-noprepack":
        // fp32,fp32-prepack,int8.
        var precisions = a.Get("precisions", "fp32,int8").Split(',').Select(Contender.Parse).ToList();
        var defaultMallocCases = a.Get("default-malloc", "10x512").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var torchScript = a.Get("torch", "tools/model/bench_reference.py");
        var noTorch = a.Flag("no-torch");
        // --transformersjs ONNX_DIR: transformers.js on onnxruntime-node scoring the same ids through an optimum-layout
        // export of the same model (tools/model/export_onnx.py), once per round after PyTorch, one request per case.
        var transformersJs = a.Get("transformersjs", "");
        var transformersJsScript = a.Get("transformersjs-script", "tools/transformersjs/bench.mjs");
        var agreement = new List<string>();
        var folder = ModelFolder.Open(model);
        // ModernBERT's local layers: the dense band up to this many half windows, the blocked window above (EncoderLayer).
        if (a.Options.ContainsKey("dense-band-max")) EncoderLayer.DenseBandMaxHalfWindows = a.Int("dense-band-max", 8);

        var report = new StringBuilder();
        report.AppendLine($"Machine: {MachineDescription()}; {threads} intra-op threads; model {Path.GetFileName(Path.GetFullPath(model))} ({folder.Config.NumHiddenLayers} layers, hidden {folder.Config.HiddenSize}); {rounds} round(s) × {runs} run(s) per case after 2 warm-up runs ({(1)} for cases of ≥ 2048 tokens, which run 1 round × 1 run).");
        report.AppendLine();

        var encoders = precisions.ToDictionary(p => p, p => CrossEncoder.Load(model, p.Options(threads)));
        using var peak = new SgemmPeak(threads);
        var rows = new List<Row>();
        string torchGemm = "not run";
        var peaks = new List<double>();
        var loads = new List<string>();
        var defaultMallocRuns = new List<(Case Case, string IdsPath, double Flops, double? Baseline)>();
        try
        {
            foreach (var c in cases)
            {
                var inputs = Inputs.Make(c.Docs, c.Tokens, folder.Config.VocabSize);
                var idsPath = Path.Combine(Path.GetTempPath(), $"rerank-bench-ids-{c.Docs}x{c.Tokens}.json");
                await File.WriteAllTextAsync(idsPath, JsonSerializer.Serialize(inputs));
                Console.Error.WriteLine($"case {c}: {(long)c.Docs * c.Tokens} tokens");

                // Memory and first-request latency in fresh processes, so nothing of ours is resident before.
                var probes = a.Flag("no-probe") ? [] : precisions.ToDictionary(p => p, p => RunSelf($"load-probe --model {model} --ids {idsPath} --threads {threads} {p.ProbeArguments}"));
                foreach (var (p, probe) in probes)
                    loads.Add($"| {c} | {p} | {probe["load_s"]} | {probe["first_run_s"]} | {probe["second_run_s"]} | {probe["third_run_s"]} | {probe["rss_after_load_mib"]} | {probe["hwm_after_run_mib"]} |");

                int caseRounds = c.Long ? 1 : rounds, caseRuns = c.Long ? 1 : runs;
                var ours = precisions.ToDictionary(p => p, _ => new List<double>());
                var oursShares = precisions.ToDictionary(p => p, _ => new List<double>());
                var torch = new List<double>();
                var torchShares = new List<double>();
                var js = new List<double>();
                var jsShares = new List<double>();
                JsonNode? jsLast = null;
                var caseFlops = Flops(folder, c);
                JsonNode? torchLast = null;
                foreach (var (p, encoder) in encoders)
                    for (var w = 0; w < (c.Long ? 1 : 2); w++) await encoder.ScoreTokenizedAsync(inputs, rawScores: true);
                for (var round = 0; round < caseRounds; round++)
                {
                    var before = MeasurePeak(peak, peaks);
                    foreach (var (p, encoder) in encoders)
                        for (var r = 0; r < caseRuns; r++)
                        {
                            var clock = Stopwatch.StartNew();
                            await encoder.ScoreTokenizedAsync(inputs, rawScores: true);
                            var seconds = clock.Elapsed.TotalSeconds;
                            var after = MeasurePeak(peak, peaks);
                            ours[p].Add(seconds);
                            oursShares[p].Add(caseFlops / seconds / 1e9 / ((before + after) / 2));
                            before = after;
                        }
                    if (!noTorch)
                    {
                        var firstTorch = torchGemm == "not run";
                        torchLast = RunTorch(torchScript, model, idsPath, threads, c.Docs, warmup: 1, caseRuns, tuned: true, gemmReps: firstTorch ? 3 : 0);
                        if (firstTorch)
                        {
                            var gflops = Number(torchLast["gemm_check"]?["median_gflops"]) ?? 0;
                            torchGemm = $"{gflops:F0} GFLOP/s";
                            // OpenBLAS reaches ~0.6× MLAS's SGEMM here (ort.md §2), the reference BLAS ~0.03×:
                            // far below, PyTorch is crippled and the comparison would flatter us. Judged
                            // against the same round's ORT peak, so a busy host does not trip it.
                            var ortPeak = Median(peaks);
                            if (gflops < 100 && gflops < 0.35 * ortPeak)
                                throw new InvalidOperationException($"PyTorch's GEMM check gave {gflops:F0} GFLOP/s against ORT's {ortPeak:F0} in the same round: it is not on OpenBLAS, or OpenBLAS took its generic kernels. Install libopenblas0-pthread, and on a CPU OpenBLAS does not recognise (OPENBLAS_VERBOSE=2 prints \"Core: Prescott\") set OPENBLAS_CORETYPE (SkylakeX with AVX-512, Haswell with AVX2) before comparing.");
                        }
                        var torchAfter = MeasurePeak(peak, peaks);
                        torch.AddRange(Seconds(torchLast));
                        torchShares.AddRange(Seconds(torchLast).Select(t => caseFlops / t / 1e9 / ((before + torchAfter) / 2)));
                    }
                    if (transformersJs.Length > 0)
                    {
                        var jsBefore = MeasurePeak(peak, peaks);
                        jsLast = RunProcess("node", $"{transformersJsScript} --model {transformersJs} --ids {idsPath} --threads {threads} --warmup 1 --runs {caseRuns}{(round == 0 ? " --print-logits" : "")}");
                        var jsAfter = MeasurePeak(peak, peaks);
                        js.AddRange(Seconds(jsLast));
                        jsShares.AddRange(Seconds(jsLast).Select(t => caseFlops / t / 1e9 / ((jsBefore + jsAfter) / 2)));
                        if (round == 0 && encoders.FirstOrDefault(e => e.Key.Precision == Precision.Fp32 && e.Key.Recipe is null).Value is { } fp32)
                        {
                            // Same ids, same model: the export must score what we score, or the timing compares different work.
                            var mine = await fp32.ScoreTokenizedAsync(inputs, rawScores: true);
                            var theirs = jsLast["logits"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
                            agreement.Add(string.Create(CultureInfo.InvariantCulture,
                                $"{c}: transformers.js logits against RerankSharp fp32, max |Δ| {mine.Zip(theirs, (m, t) => Math.Abs(m - t)).Max():E1}"));
                        }
                    }
                    Console.Error.WriteLine($"  round {round + 1}: " + string.Join("; ", ours.Select(o => $"{o.Key} {Median(o.Value):F2} s")) + (torch.Count > 0 ? $"; torch {Median(torch):F2} s" : "") + (js.Count > 0 ? $"; transformers.js {Median(js):F2} s" : ""));
                }
                double? baseline = torch.Count > 0 ? Median(torch) : null;
                foreach (var p in precisions)
                    rows.Add(new Row(c, $"RerankSharp {p}", ours[p], oursShares[p], probes.TryGetValue(p, out var probe) ? Number(probe["hwm_after_run_mib"]) : null, baseline));
                if (torchLast is not null)
                    rows.Add(new Row(c, "PyTorch fp32 eager, tuned malloc", torch, torchShares, Number(torchLast["peak_rss_mib"]), baseline));
                if (jsLast is not null)
                    rows.Add(new Row(c, $"{jsLast["engine"]}", js, jsShares, Number(jsLast["peak_rss_mib"]), baseline));
                if (!noTorch && defaultMallocCases.Contains($"{c.Docs}x{c.Tokens}"))
                    defaultMallocRuns.Add((c, idsPath, caseFlops, baseline));
            }
            // PyTorch with glibc's default allocator last: its page-fault storms slow whatever runs after them for a while
            // (ort.md §3.1), so nothing of ours is timed after it.
            foreach (var (c, idsPath, caseFlops, baseline) in defaultMallocRuns)
            {
                Console.Error.WriteLine($"case {c}: PyTorch with the default allocator");
                var slowBefore = MeasurePeak(peak, peaks);
                var slow = RunTorch(torchScript, model, idsPath, threads, c.Docs, warmup: 0, 1, tuned: false, gemmReps: 0);
                var slowAfter = MeasurePeak(peak, peaks);
                var row = new Row(c, "PyTorch fp32 eager, default malloc", Seconds(slow),
                    Seconds(slow).Select(t => caseFlops / t / 1e9 / ((slowBefore + slowAfter) / 2)).ToList(), Number(slow["peak_rss_mib"]), baseline);
                rows.Insert(rows.FindLastIndex(r => r.Case == c) + 1, row);
            }
        }
        finally
        {
            foreach (var encoder in encoders.Values) encoder.Dispose();
        }

        var peakMedian = Median(peaks);
        report.AppendLine($"SGEMM peak (ORT MatMul [5120,1024]×[1024,4096], same run): median {peakMedian:F0} GFLOP/s, range {peaks.Min():F0}–{peaks.Max():F0} over {peaks.Count} products, measured before and after every timed run; \"% of SGEMM peak\" is the median over a contender's runs of its GFLOP/s over the mean of the two peaks around it. PyTorch's own GEMM check (OpenBLAS): {torchGemm}.");
        report.AppendLine();
        report.AppendLine("| case (docs × tokens) | contender | median s | min s | pairs/s | tokens/s | GFLOP/s | % of SGEMM peak | × PyTorch (tuned) | peak RSS MiB |");
        report.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var flops = Flops(folder, row.Case);
            var gflops = flops / row.Median / 1e9;
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Case} | {row.Contender} | {row.Median:F2} | {row.Seconds.Min():F2} | {row.Case.Docs / row.Median:F1} | {(double)row.Case.Docs * row.Case.Tokens / row.Median:F0} | {gflops:F0} | {Median(row.Shares):P0} | {(row.Baseline is { } b ? (b / row.Median).ToString("F2", CultureInfo.InvariantCulture) : "—")} | {(row.PeakRssMib is { } m ? m.ToString("F0", CultureInfo.InvariantCulture) : "—")} |"));
        }
        if (agreement.Count > 0)
        {
            report.AppendLine();
            foreach (var line in agreement) report.AppendLine($"- {line}");
        }
        if (loads.Count > 0)
        {
            report.AppendLine();
            report.AppendLine("Fresh process per case and precision (warm page cache): load = `CrossEncoder.Load` until ready; then the case's batch three times (first request, second, third ≈ steady state); RSS after load and peak RSS (VmHWM) after the runs.");
            report.AppendLine();
            report.AppendLine("| case | precision | load s | first run s | second run s | third run s | RSS after load MiB | peak RSS MiB |");
            report.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var line in loads) report.AppendLine(line);
        }
        report.AppendLine();
        report.AppendLine($"Weights: {folder.WeightFiles.Sum(f => (new FileInfo(f).ResolveLinkTarget(true) as FileInfo ?? new FileInfo(f)).Length) / 1048576.0:F0} MiB fp32 on disk.");
        Console.Write(report.ToString());
        if (a.Options.TryGetValue("out", out var outPath)) await File.WriteAllTextAsync(outPath, report.ToString());
        return 0;
    }

    // Two products, their median in GFLOP/s; all of them kept for the report's range.
    private static double MeasurePeak(SgemmPeak peak, List<double> all)
    {
        var measured = peak.Measure(2);
        all.AddRange(measured);
        return Median(measured);
    }

    // Forward FLOPs per sequence of T tokens the model needs. XLM-R and BERT, per layer: the six weight GEMMs
    // (2·T·(4H² + 2HI)) and the two attention products (2·2·T²·H). ModernBERT: the GeGLU MLP's input projection is 2I
    // wide (2·T·(4H² + 3HI)), and a local layer's products cover only the keys within its window (2·2·T·min(T, 2W+1)·H).
    // The heads' small GEMMs are negligible.
    private static double Flops(ModelFolder folder, Case k)
    {
        var c = folder.Config;
        double h = c.HiddenSize, i = c.IntermediateSize, t = k.Tokens;
        if (!c.Architectures.Contains(RerankSharp.Onnx.ModernBertGraph.Architecture))
            return k.Docs * c.NumHiddenLayers * (2 * t * (4 * h * h + 2 * h * i) + 4 * t * t * h);
        var m = ModernBertConfig.Load(folder.ConfigPath, c.NumHiddenLayers);
        var perLayer = Enumerable.Range(0, c.NumHiddenLayers)
            .Sum(layer => 2 * t * (4 * h * h + 3 * h * i) + 4 * t * (m.IsGlobal(layer) ? t : Math.Min(t, 2 * m.HalfWindow + 1)) * h);
        return k.Docs * perLayer;
    }

    // A precision, then optional suffixes: -prepack / -noprepack (force ORT's weight prepacking on or off), -plain (the
    // plain-ONNX graph instead of the fused one), -contrib (the fused graph with ONNX Runtime's contrib
    // SkipLayerNormalization instead of ours), and @TOKENS or @PAIRS/TOKENS (batch limits instead of the engine's
    // defaults; @TOKENS lets the token budget alone decide). E.g. fp32-prepack@2048, fp32-contrib@16/16384. An int8
    // recipe follows a colon and takes the rest of the text: int8:q8_0, int8:per-tensor;smooth=FILE (no load probe).
    private sealed record Contender(Precision Precision, bool? Prepack, GraphForm Form = GraphForm.Fused, bool OwnKernels = true,
        int? BatchPairs = null, int? BatchTokens = null, Int8Recipe? Recipe = null)
    {
        public static Contender Parse(string text)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
                return Parse(text[..colon]) with { Recipe = Int8Recipe.Parse(text[(colon + 1)..]) };
            var at = text.Split('@', 2);
            var parts = at[0].Split('-');
            var contender = new Contender(Enum.Parse<Precision>(parts[0], ignoreCase: true), null);
            foreach (var suffix in parts.Skip(1))
                contender = suffix switch
                {
                    "prepack" => contender with { Prepack = true },
                    "noprepack" => contender with { Prepack = false },
                    "plain" => contender with { Form = GraphForm.Plain },
                    "contrib" => contender with { OwnKernels = false },
                    _ => throw new ArgumentException($"contender {text}: the suffixes are -prepack, -noprepack, -plain, -contrib, then optionally @TOKENS or @PAIRS/TOKENS"),
                };
            if (at.Length == 2)
            {
                var limits = at[1].Split('/').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray();
                contender = limits.Length == 2
                    ? contender with { BatchPairs = limits[0], BatchTokens = limits[1] }
                    : contender with { BatchPairs = limits[0], BatchTokens = limits[0] };
            }
            return contender;
        }

        /// <summary>The options this contender loads with.</summary>
        public CrossEncoderOptions Options(int threads)
        {
            var options = new CrossEncoderOptions { Threads = threads, Precision = Precision, PrepackWeights = Prepack, GraphForm = Form, OwnKernels = OwnKernels, Int8Recipe = Recipe };
            if (BatchPairs is { } pairs) options = options with { BatchSize = pairs };
            return BatchTokens is { } tokens ? options with { MaxBatchTokens = tokens } : options;
        }

        /// <summary>The load-probe arguments that reproduce <see cref="Options"/>.</summary>
        public string ProbeArguments => $"--precision {Precision}{Prepack switch { true => " --prepack", false => " --no-prepack", null => "" }}"
            + $"{(Form == GraphForm.Plain ? " --plain" : "")}{(OwnKernels ? "" : " --contrib")}"
            + $"{(BatchPairs is { } p ? $" --batch-pairs {p}" : "")}{(BatchTokens is { } t ? $" --batch-tokens {t}" : "")}";

        public override string ToString() => Precision.ToString().ToLowerInvariant() + Prepack switch
        {
            true => " (prepacked)",
            false => " (not prepacked)",
            null => "",
        } + (Form == GraphForm.Plain ? " (plain ONNX graph)" : "") + (OwnKernels ? "" : " (ORT's SkipLayerNormalization)")
          + (BatchTokens is { } t ? BatchPairs == BatchTokens ? $" (batches ≤ {t} tokens)" : $" (batches ≤ {BatchPairs} pairs, ≤ {t} tokens)" : "")
          + (Recipe is { } r ? $" {r}" : "");
    }

    internal static double? Number(JsonNode? node) =>
        node is null ? null : double.Parse(node.ToString(), CultureInfo.InvariantCulture);

    internal static List<double> Seconds(JsonNode torch) => torch["run_seconds"]!.AsArray().Select(x => x!.GetValue<double>()).ToList();

    internal static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    internal static string MachineDescription()
    {
        var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        var features = new[] { "avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16" }.Where(f => flags.Split(' ').Contains(f));
        return $"{model}, {Environment.ProcessorCount} logical CPUs ({string.Join(", ", features)}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB";
    }

    internal static JsonNode RunTorch(string script, string model, string idsPath, int threads, int batch, int warmup, int runs, bool tuned, int gemmReps) =>
        RunProcess("/usr/bin/python3", $"{script} --model {model} --ids {idsPath} --threads {threads} --batch-size {batch} --warmup {warmup} --runs {runs} --gemm-reps {gemmReps}{(tuned ? " --tuned-malloc" : "")}");

    internal static JsonNode RunSelf(string arguments) =>
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
