// rerank-bench: the engine against the PyTorch reference on the same token ids, in one run.
//
//   dotnet run -c Release --project bench/RerankSharp.Bench -- suite --model /work/models/full \
//       --cases 10x128,10x512,50x256,4x1024,4x2048,1x8192 --rounds 2 --runs 2 --threads 2
//
// Each case is stated as docs × tokens and reported in tokens/s. Ours and PyTorch alternate
// round by round, so host drift hits both; the ratio of medians is the figure to quote.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Bench;

var arguments = BenchArguments.Parse(args);
return arguments.Mode switch
{
    "engine" => await EngineBenchmark.RunAsync(arguments, suite: false),
    "suite" => await EngineBenchmark.RunAsync(arguments, suite: true),
    "load-probe" => await LoadProbe.RunAsync(arguments),
    "prefix" => await PrefixBenchmark.RunAsync(arguments),
    "int8" => await Int8Frontier.RunAsync(arguments),
    "accuracy" => await AccuracyCheck.RunAsync(arguments),
    "profile" => await OperatorProfile.RunAsync(arguments),
    "ids" => await WriteIdsAsync(arguments),
    "onnx-external" => OnnxExternalData.Run(arguments),
    _ => Usage(),
};

// The suite's token ids for one case, for tools/model/golden_logits.py --ids and `accuracy`.
static async Task<int> WriteIdsAsync(BenchArguments a)
{
    var folder = RerankSharp.Models.ModelFolder.Open(a.Get("model", ""));
    var config = folder.Config;
    if (a.Options.TryGetValue("pairs", out var pairs))
    {
        var (sequences, _) = RealTextPairs.Load(pairs, folder, a.Int("queries", 200));
        await File.WriteAllTextAsync(a.Get("out", "ids.json"), JsonSerializer.Serialize(sequences));
        return 0;
    }
    var ids = Inputs.Make(a.Int("docs", 10), a.Int("tokens", 512), config.VocabSize);
    if (a.Options.TryGetValue("cut", out var cut))
    {
        var lengths = cut.Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        if (lengths.Length != ids.Length || lengths.Any(l => l < 2 || l > a.Int("tokens", 512)))
            throw new ArgumentException($"--cut needs {ids.Length} lengths of 2 to {a.Int("tokens", 512)} tokens");
        ids = ids.Select((row, i) => row[..lengths[i]].Select((id, j) => j == lengths[i] - 1 ? 2 : id).ToArray()).ToArray();
    }
    await File.WriteAllTextAsync(a.Get("out", "ids.json"), JsonSerializer.Serialize(ids));
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: rerank-bench suite --model DIR [--cases 10x128,10x512,...] [--precisions fp32,int8] [--rounds 2] [--runs 2] [--threads 2] [--default-malloc 10x512] [--no-torch] [--no-probe] [--dense-band-max N] [--out FILE]
                 a contender is a precision with optional suffixes -prepack, -noprepack, -plain, -contrib and @TOKENS or @PAIRS/TOKENS (batch limits): fp32-contrib@16/16384
               rerank-bench engine --model DIR [--docs 10] [--tokens 512] (one case of the suite)
               rerank-bench int8 --model DIR [--pairs PAIRS.jsonl] [--queries 200] [--docs 10] [--min-tokens 16] [--max-tokens 80] [--recipes "per-tensor|per-row|..."] [--runs 3]
               rerank-bench accuracy --model DIR --ids IDS.json --reference-logits REF.json [--precision fp32] [--contrib] [--prepack]
               rerank-bench prefix --model DECODER_DIR [--cases 10x256,50x256] [--query-tokens 32] [--precisions fp32,int8] [--rounds 2] [--runs 1] [--threads 2] [--no-torch] [--starts]
                 (decoder rerankers: the shared prompt prefix once against the whole prompt per document, PyTorch beside; --starts: load-to-first-score, first and second start)
               rerank-bench load-probe --model DIR --ids IDS.json [--precision fp32]
               rerank-bench ids --model DIR --pairs PAIRS.jsonl [--queries 200] --out IDS.json (real text through the model's tokenizer)
               rerank-bench ids --model DIR --docs 10 --tokens 512 [--cut 512,421,...] --out IDS.json (the suite's inputs; --cut shortens row i to the i-th length, ending in </s>)
               rerank-bench onnx-external --model DIR/onnx/model.onnx (one model.onnx_data for transformers.js, from torch's per-tensor files)
               rerank-bench profile --model DIR [--docs 4] [--tokens 256] [--runs 3] [--contrib] [--prepack] (ONNX Runtime's profiler, time per operator)
        """);
    return 2;
}

namespace RerankSharp.Bench
{
    internal sealed record BenchArguments(string Mode, IReadOnlyDictionary<string, string> Options)
    {
        public static BenchArguments Parse(string[] args)
        {
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 1; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument {args[i]}");
                var key = args[i][2..];
                options[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
            }
            return new BenchArguments(args.Length > 0 ? args[0] : "", options);
        }

        public string Get(string key, string fallback) => Options.TryGetValue(key, out var v) ? v : fallback;
        public int Int(string key, int fallback) => Options.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        public bool Flag(string key) => Options.ContainsKey(key);
    }

    /// <summary>Process memory as the kernel counts it (/proc/self/status), in MiB.</summary>
    internal static class Memory
    {
        public static double Read(string field)
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return double.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            return double.NaN;
        }
    }

    /// <summary>Pairs of exactly the requested length in the template &lt;s&gt; q &lt;//s&gt;&lt;/s&gt; d &lt;/s&gt;, random content ids, fixed seed.</summary>
    internal static class Inputs
    {
        public static int[][] Make(int docs, int tokens, int vocabulary, int seed = 20261125)
        {
            var random = new Random(seed);
            const int queryTokens = 12;
            return Enumerable.Range(0, docs).Select(_ =>
            {
                var ids = new int[tokens];
                ids[0] = 0;
                for (var i = 1; i <= queryTokens; i++) ids[i] = random.Next(4, Math.Min(vocabulary, 16000));
                ids[queryTokens + 1] = 2;
                ids[queryTokens + 2] = 2;
                for (var i = queryTokens + 3; i < tokens - 1; i++) ids[i] = random.Next(4, Math.Min(vocabulary, 16000));
                ids[tokens - 1] = 2;
                return ids;
            }).ToArray();
        }
    }
}
