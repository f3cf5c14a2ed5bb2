using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

internal static class PrepackProbe
{
    public static async Task<int> RunAsync(BenchArguments a)
    {
        var model = a.Get("model", "");
        var graph = Path.Combine(model, "probe-graph.onnx");
        if (!File.Exists(graph))
            using (CrossEncoder.Load(model, new CrossEncoderOptions { SaveOnnxPath = graph, PrepackWeights = false })) { }
        var outDir = a.Get("out", "/tmp/prepack-probe");
        Directory.CreateDirectory(outDir);
        var optimized = Path.Combine(outDir, "opt.onnx");
        var step = a.Get("step", "save");
        var ids = Inputs.Make(1, 128, 250002);
        var flat = ids.SelectMany(x => x.Select(v => (long)v)).ToArray();
        var mask = flat.Select(_ => 1L).ToArray();
        var clock = Stopwatch.StartNew();
        using var options = new SessionOptions { IntraOpNumThreads = 2, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        string path = graph;
        if (step == "save")
        {
            options.OptimizedModelFilePath = optimized;
            options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "opt.data");
            options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
            options.AddSessionConfigEntry("session.save_external_prepacked_constant_initializers", "1");
        }
        else if (step == "load") { path = optimized; if (a.Flag("noopt")) options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL; }
        using var session = new InferenceSession(path, options);
        Console.WriteLine($"{step}: session {clock.Elapsed.TotalSeconds:F2} s; RSS {Memory.Read("VmRSS"):F0} MiB");
        for (var r = 0; r < 6; r++)
        {
            clock.Restart();
            using var i = OrtValue.CreateTensorValueFromMemory(flat, [1, 128]);
            using var m = OrtValue.CreateTensorValueFromMemory(mask, [1, 128]);
            using var o = session.Run(new RunOptions(), ["input_ids", "attention_mask"], [i, m], ["logits"]);
            Console.WriteLine($"  run {r}: {clock.Elapsed.TotalMilliseconds:F0} ms logit {o[0].GetTensorDataAsSpan<float>()[0]:R}");
        }
        Console.WriteLine($"  RSS {Memory.Read("VmRSS"):F0} MiB, HWM {Memory.Read("VmHWM"):F0}");
        await Task.CompletedTask;
        return 0;
    }
}
