using System.Globalization;
using Microsoft.AspNetCore.Builder;
using RerankSharp.Inference;
using RerankSharp.Scoring;
using RerankSharp.Server;
using RerankSharp.Server.Models;

namespace RerankSharp.LoadTest;

/// <summary>
/// <c>rerank-load fairness</c>: two models in one server, as <c>rerank serve --model long=… --model short=…</c> hosts
/// them. Short requests (docs × tokens) to the short model, one at a time, first alone and then while 1 × long-tokens
/// requests run back to back on the long model; their p50/p99 against alone. With the shared pool (the default) two
/// batches run on it at once, so a short batch starts beside the long one; with <c>--batches-at-once 1</c> it waits
/// for the whole long batch; separate pools give each model threads of its own.
/// </summary>
internal static class FairnessRun
{
    public static async Task<int> RunAsync(LoadOptions options)
    {
        // As rerank serve with several models: one ONNX Runtime pool, batches admitted in turn; it must precede the first load.
        if (options.Pools == "shared") SharedThreadPool.Enable(options.Threads, options.BatchesAtOnce);
        var pools = options.Pools == "shared" ? $"shared, {options.BatchesAtOnce} at once" : options.Pools;
        var encoderOptions = new CrossEncoderOptions { Threads = options.Threads, PrepackWeights = true };
        var models = new RerankModelRegistry()
            .Add("long", async ct => await CrossEncoder.LoadAsync(options.Model!, encoderOptions, ct), 0)
            .Add("short", async ct => await CrossEncoder.LoadAsync(options.ShortModel!, encoderOptions, ct), 0);
        Console.Error.WriteLine($"loading {options.Model} (long) and {options.ShortModel} (short), {options.Pools} pools ...");
        await models.PreloadAsync();
        foreach (var failed in models.Models.Where(m => m.State == ServedModelState.Failed))
            throw new InvalidOperationException($"{failed.Name} failed to load: {failed.Error}");
        WebApplication app = RerankServerApplication.Create(models, new RerankServerOptions { ModelName = "long" }, new RerankHostOptions("127.0.0.1", 0, Playground: false));
        await app.StartAsync();
        try
        {
            var url = new Uri(RerankServerApplication.ListeningAddresses(app).Single());
            var routed = options with { Route = "/v1/rerank" };
            var longDriver = new LoadDriver(url, routed, "long");
            var shortDriver = new LoadDriver(url, routed, "short");
            var random = new Random(options.Seed);
            Console.Error.WriteLine($"building a 1 × {options.LongTokens} request and {options.Docs} × {options.Tokens} requests ...");
            var longBody = await longDriver.BodyAsync(1, options.LongTokens, random);
            var shortBodies = new List<string>();
            for (var i = 0; i < 4; i++) shortBodies.Add(await shortDriver.BodyAsync(options.Docs, options.Tokens, random));
            var count = options.Requests[0];

            foreach (var body in shortBodies) Check(await shortDriver.SendAsync(body));
            var longAlone = Check(await longDriver.SendAsync(longBody)).Elapsed;
            var alone = new List<double>();
            for (var i = 0; i < count; i++) alone.Add(Check(await shortDriver.SendAsync(shortBodies[i % shortBodies.Count])).Elapsed.TotalMilliseconds);

            using var stop = new CancellationTokenSource();
            var longRuns = 0;
            var background = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try { Check(await longDriver.SendAsync(longBody, stop.Token)); longRuns++; }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                }
            });
            // The long request is in its batch before the first short one is sent.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(200, longAlone.TotalMilliseconds / 4)));
            var beside = new List<double>();
            for (var i = 0; i < count; i++) beside.Add(Check(await shortDriver.SendAsync(shortBodies[i % shortBodies.Count])).Elapsed.TotalMilliseconds);
            await stop.CancelAsync();
            await background;

            Console.WriteLine("| pools | short model | short request | requests | alone p50 ms | alone p99 ms | beside 1 × long p50 ms | beside p99 ms | p99 added ms | long request alone ms | long requests run meanwhile |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {pools} | {Path.GetFileName(options.ShortModel!.TrimEnd('/'))} | {options.Docs} × {options.Tokens} | {count} | {Percentile(alone, 0.5):F0} | {Percentile(alone, 0.99):F0} | " +
                $"{Percentile(beside, 0.5):F0} | {Percentile(beside, 0.99):F0} | {Percentile(beside, 0.99) - Percentile(alone, 0.99):F0} | {longAlone.TotalMilliseconds:F0} | {longRuns} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\n(long: 1 × {options.LongTokens} tokens on {Path.GetFileName(options.Model!.TrimEnd('/'))}, one batch; {SharedThreadPool.Threads} shared threads when shared)"));
            return 0;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            models.Dispose();
        }
    }

    private static Reply Check(Reply reply) =>
        reply.Status == 200 ? reply : throw new InvalidOperationException($"A request answered {reply.Status}: {reply.Text}");

    // Nearest-rank percentile.
    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
