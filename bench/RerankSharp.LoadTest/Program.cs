// rerank-load: N concurrent HTTP clients against a rerank server on loopback, a bounded number of requests per
// level, reporting throughput and p50/p99 latency.
//
//   dotnet build -c Release bench/RerankSharp.LoadTest
//   flock /work/bench.lock dotnet bench/RerankSharp.LoadTest/bin/Release/net10.0/rerank-load.dll \
//       --model /work/models/full --threads 2 --clients 1,8,32 --docs 10 --tokens 256 --requests 4,16,32
//
// --model hosts the server in this process on 127.0.0.1 (one command, one lock); --url drives a running
// `rerank serve` instead. fairness hosts two models (--model for the long request, --short-model for the short
// ones) and reports the short ones' p99 beside a 1 × --long-tokens request against alone. Every request is docs × tokens: `docs` documents whose pairs are `tokens` long
// (query + document + 4 special tokens), sized with the server's own /tokenize.
using System.Globalization;
using RerankSharp.LoadTest;
using RerankSharp.Scoring;
using RerankSharp.Server;

var options = LoadOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: rerank-load [overload|soak|cancel] (--model DIR [--threads N] [--batch-size 64] | --url http://127.0.0.1:8080 [--api-key K])\n" +
        "                   [--clients 1,8,32] [--requests 20,80,320] [--docs 10] [--tokens 256] [--route /rerank] [--max-seconds 240] [--seed 1]\n" +
        "       overload: [--pid SERVER_PID] [--burst N (default 10 × the queue's capacity)] [--rss-bound-mib M]\n" +
        "       soak:     [--pid SERVER_PID] [--minutes 20] [--rate R (default 80% of measured capacity)] [--disconnect 0.05]\n" +
        "       cancel:   [--tokens 8192] [--runs 3]   (see bench/reliability.sh)\n" +
        "       fairness: --model LONG_DIR --short-model SHORT_DIR [--long-tokens 8192] [--docs 10] [--tokens 256] [--requests 40] [--pools shared|separate] [--batches-at-once 2]");
    return 2;
}

// Two models in one server of this process: a short model's latency beside a long request on the other (FairnessRun).
if (options.Mode == "fairness") return await FairnessRun.RunAsync(options);

CrossEncoder? encoder = null;
Microsoft.AspNetCore.Builder.WebApplication? app = null;
var url = options.Url;
if (options.Model is not null)
{
    Console.Error.WriteLine($"loading {options.Model} ...");
    encoder = await CrossEncoder.LoadAsync(options.Model, new CrossEncoderOptions
    {
        Threads = options.Threads, BatchSize = options.BatchSize ?? new CrossEncoderOptions().BatchSize,
        // As `rerank serve` does: a server repays prepacking at load many times over.
        PrepackWeights = true,
    });
    app = RerankServerApplication.Create(encoder, new RerankServerOptions { ModelName = Path.GetFileName(options.Model.TrimEnd('/')) }, new RerankHostOptions("127.0.0.1", 0));
    await app.StartAsync();
    url = RerankServerApplication.ListeningAddresses(app).Single();
    Console.Error.WriteLine($"serving on {url} ({encoder.ExecutionProvider}, {options.Threads?.ToString(CultureInfo.InvariantCulture) ?? "all"} threads, batch size {encoder.BatchSize}, max batch tokens {encoder.MaxBatchTokens}, prepacked)");
}

try
{
    var driver = new LoadDriver(new Uri(url!), options);
    switch (options.Mode)
    {
        case "overload": return await ReliabilityRuns.OverloadAsync(driver, options);
        case "soak": return await ReliabilityRuns.SoakAsync(driver, options);
        case "cancel": return await ReliabilityRuns.CancelAsync(driver, options);
    }
    await driver.PrepareAsync();
    Console.WriteLine($"| clients | requests | docs × tokens | req/s | pairs/s | tokens/s | p50 ms | p99 ms | mean batch rows | batches merging requests | errors |");
    Console.WriteLine($"|---|---|---|---|---|---|---|---|---|---|---|");
    for (var level = 0; level < options.Clients.Count; level++)
    {
        var result = await driver.RunAsync(options.Clients[level], options.Requests[Math.Min(level, options.Requests.Count - 1)]);
        Console.WriteLine(result.ToMarkdownRow(options));
    }
    return 0;
}
finally
{
    if (app is not null)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
    encoder?.Dispose();
}
