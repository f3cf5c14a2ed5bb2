using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Bench;

/// <summary>Loads the model in this (fresh) process and reports load time and memory as JSON on stdout.</summary>
internal static class LoadProbe
{
    public static async Task<int> RunAsync(BenchArguments a)
    {
        var ids = JsonSerializer.Deserialize<int[][]>(await File.ReadAllTextAsync(a.Get("ids", "")))!;
        var clock = Stopwatch.StartNew();
        var precision = Enum.Parse<Precision>(a.Get("precision", "fp32"), ignoreCase: true);
        var options = new CrossEncoderOptions
        {
            Threads = a.Int("threads", 2), Precision = precision,
            PrepackWeights = a.Flag("no-prepack") ? false : a.Flag("prepack") ? true : null,
            GraphForm = a.Flag("plain") ? GraphForm.Plain : GraphForm.Fused,
            OwnKernels = !a.Flag("contrib"),
        };
        if (a.Options.ContainsKey("batch-pairs")) options = options with { BatchSize = a.Int("batch-pairs", 0) };
        if (a.Options.ContainsKey("batch-tokens")) options = options with { MaxBatchTokens = a.Int("batch-tokens", 0) };
        using var encoder = CrossEncoder.Load(a.Get("model", ""), options);
        var load = clock.Elapsed.TotalSeconds;
        var rssAfterLoad = Memory.Read("VmRSS");
        clock.Restart();
        await encoder.ScoreTokenizedAsync(ids, rawScores: true);
        var firstRun = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await encoder.ScoreTokenizedAsync(ids, rawScores: true);
        var secondRun = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await encoder.ScoreTokenizedAsync(ids, rawScores: true);
        var thirdRun = clock.Elapsed.TotalSeconds;
        var weights = encoder.Folder.WeightFiles.Sum(f => new FileInfo(f).Length) / 1048576.0;
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        Console.WriteLine(new JsonObject
        {
            ["load_s"] = F2(load),
            ["first_run_s"] = F2(firstRun),
            ["second_run_s"] = F2(secondRun),
            ["third_run_s"] = F2(thirdRun),
            ["rss_after_load_mib"] = F(rssAfterLoad),
            ["hwm_after_run_mib"] = F(Memory.Read("VmHWM")),
            ["anon_after_run_mib"] = F(Memory.Read("RssAnon")),
            ["file_after_run_mib"] = F(Memory.Read("RssFile")),
            ["weights_mib"] = F(weights),
        }.ToJsonString());
        return 0;
    }
}
