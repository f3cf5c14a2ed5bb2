using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace RerankSharp.LoadTest;

/// <summary>
/// The reliability measurements of docs/reliability.md against a running server (<c>--url</c>, and <c>--pid</c> for its
/// resident set): <c>overload</c> (a burst of 10× the queue's capacity), <c>soak</c> (a steady 80% of capacity with
/// mixed lengths and random disconnects, reported per minute) and <c>cancel</c> (disconnect → engine free).
/// </summary>
internal static class ReliabilityRuns
{
    private const float Tolerance = 2e-5f;   // sigmoid scores of the same pair in different batches (fp32)

    public static async Task<int> OverloadAsync(LoadDriver driver, LoadOptions options)
    {
        var info = JsonNode.Parse(await driver.Http.GetStringAsync("/info"))!;
        var queued = info["max_queued_tokens"]!.GetValue<long>();
        var random = new Random(options.Seed);
        var bodies = new List<string>();
        for (var b = 0; b < 4; b++) bodies.Add(await driver.BodyAsync(options.Docs, options.Tokens, random));
        var perRequest = (long)options.Docs * options.Tokens;
        var capacity = Math.Max(1, queued / perRequest);
        var burst = options.Burst ?? (int)(10 * capacity);
        Console.Error.WriteLine($"queue holds {queued} tokens = {capacity} requests of {options.Docs} × {options.Tokens}; burst of {burst}");

        var expected = new List<float[]>();
        foreach (var body in bodies) expected.Add(LoadDriver.ScoresOf((await driver.SendAsync(body)).Text));
        await using var rss = new ProcessRss(options.Pid ?? Environment.ProcessId, TimeSpan.FromMilliseconds(20));
        var idle = rss.CurrentMiB;
        rss.ResetPeak();

        var clock = Stopwatch.StartNew();
        var replies = await Task.WhenAll(Enumerable.Range(0, burst).Select(k => Task.Run(async () =>
        {
            try
            {
                return (k, Reply: await driver.SendAsync(bodies[k % bodies.Count]), Error: (string?)null);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return (k, Reply: (Reply?)null, Error: e.GetType().Name);
            }
        })));
        var wall = clock.Elapsed;
        var ok = replies.Where(r => r.Reply?.Status == 200).ToList();
        var refused = replies.Where(r => r.Reply?.Status == 429).ToList();
        var wrong = ok.Count(r => !Same(LoadDriver.ScoresOf(r.Reply!.Text), expected[r.k % bodies.Count]));
        var others = replies.Length - ok.Count - refused.Count;
        var refusedMs = refused.Select(r => r.Reply!.Elapsed.TotalMilliseconds).ToArray();
        var acceptedMs = ok.Select(r => r.Reply!.Elapsed.TotalMilliseconds).ToArray();

        Console.WriteLine($"| sent | accepted (200) | 429 | other errors | accepted with wrong scores | 429 with Retry-After | 429 latency p50 / p99 / max ms | 200 latency p50 / max ms | burst wall s | RSS idle MiB | RSS peak MiB (sampled / VmHWM) |");
        Console.WriteLine($"|---|---|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {burst} | {ok.Count} | {refused.Count} | {others} | {wrong} | {refused.Count(r => r.Reply!.RetryAfter is not null)} | " +
            $"{Stats.Percentile(refusedMs, 0.5):F0} / {Stats.Percentile(refusedMs, 0.99):F0} / {(refusedMs.Length == 0 ? 0 : refusedMs.Max()):F0} | {Stats.Percentile(acceptedMs, 0.5):F0} / {(acceptedMs.Length == 0 ? 0 : acceptedMs.Max()):F0} | {wall.TotalSeconds:F1} | {idle:F0} | {rss.PeakSampledMiB:F0} / {rss.HighWaterMiB:F0} |"));
        if (options.RssBoundMiB is { } bound)
            Console.WriteLine(rss.PeakSampledMiB <= bound ? $"peak RSS {rss.PeakSampledMiB:F0} MiB is within the bound of {bound} MiB" : $"peak RSS {rss.PeakSampledMiB:F0} MiB EXCEEDS the bound of {bound} MiB");
        return others == 0 && wrong == 0 && (options.RssBoundMiB is null || rss.PeakSampledMiB <= options.RssBoundMiB) ? 0 : 1;
    }

    /// <summary>Mixed request shapes of the soak: (documents, tokens per pair).</summary>
    private static readonly (int Docs, int Tokens)[] SoakShapes = [(1, 32), (4, 128), (8, 64), (2, 512), (16, 48), (6, 256)];

    public static async Task<int> SoakAsync(LoadDriver driver, LoadOptions options)
    {
        var random = new Random(options.Seed);
        var bodies = new List<(string Body, float[] Expected)>();
        foreach (var (docs, tokens) in SoakShapes)
            for (var b = 0; b < 3; b++)
            {
                var body = await driver.BodyAsync(docs, tokens, random);
                bodies.Add((body, LoadDriver.ScoresOf((await driver.SendAsync(body)).Text)));
            }

        var rate = options.Rate ?? 0.8 * await CapacityAsync(driver, bodies.Select(b => b.Body).ToList(), options);
        Console.Error.WriteLine($"soak: {rate:F1} requests/s for {options.Minutes} min, {options.Disconnect:P0} disconnected at random");
        await using var rss = new ProcessRss(options.Pid ?? Environment.ProcessId, TimeSpan.FromSeconds(1));
        var minutes = new List<Minute>();
        var current = new Minute(0);
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        var issued = 0L;
        var end = TimeSpan.FromMinutes(options.Minutes);
        Console.WriteLine("| minute | requests | ok | 429 | disconnected | other errors | answers checked / differing | p50 ms | p99 ms | RSS MiB (end / max) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        while (clock.Elapsed < end)
        {
            // Open loop: requests leave on schedule whatever the server does, as independent clients would send them.
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; issued < due; issued++)
            {
                var (body, expected) = bodies[random.Next(bodies.Count)];
                var disconnectAfter = random.NextDouble() < options.Disconnect ? TimeSpan.FromMilliseconds(random.Next(1, 400)) : (TimeSpan?)null;
                var check = random.Next(4) == 0;
                // Counted in the minute it ends in (the closure reads `current` when the answer arrives).
                inFlight.Add(Task.Run(() => OneAsync(driver, body, expected, disconnectAfter, check, () => current)));
            }
            inFlight.RemoveAll(t => t.IsCompleted);
            if (clock.Elapsed >= TimeSpan.FromMinutes(current.Index + 1))
            {
                current.Finish(rss);
                Console.WriteLine(current.Row());
                minutes.Add(current);
                current = new Minute(current.Index + 1);
            }
            await Task.Delay(5);
        }
        await Task.WhenAll(inFlight);
        if (current.Requests > 0 && minutes.Count < options.Minutes)
        {
            current.Finish(rss);
            Console.WriteLine(current.Row());
            minutes.Add(current);
        }
        var errors = minutes.Sum(m => m.Errors);
        var differing = minutes.Sum(m => m.Differing);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\nsoak: {minutes.Sum(m => m.Requests)} requests at {rate:F1}/s; {minutes.Sum(m => m.Ok)} ok, {minutes.Sum(m => m.Refused)} 429, " +
            $"{minutes.Sum(m => m.Disconnected)} disconnected, {errors} other errors; {minutes.Sum(m => m.Checked)} answers checked, {differing} differ; " +
            $"RSS {minutes.First().RssEndMiB:F0} → {minutes.Last().RssEndMiB:F0} MiB (max {minutes.Max(m => m.RssMaxMiB):F0})"));
        return errors == 0 && differing == 0 ? 0 : 1;
    }

    private static async Task OneAsync(LoadDriver driver, string body, float[] expected, TimeSpan? disconnectAfter, bool check, Func<Minute> minute)
    {
        using var cancel = new CancellationTokenSource();
        if (disconnectAfter is { } after) cancel.CancelAfter(after);
        try
        {
            var reply = await driver.SendAsync(body, cancel.Token);
            var differs = reply.Status == 200 && check && !Same(LoadDriver.ScoresOf(reply.Text), expected);
            minute().Record(reply.Status, reply.Elapsed, check && reply.Status == 200, differs);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            minute().RecordDisconnect();
        }
        catch (HttpRequestException)
        {
            minute().Record(-1, TimeSpan.Zero, false, false);
        }
    }

    /// <summary>Closed-loop throughput of the soak's mix with <c>--clients</c> clients for 30 s: requests per second.</summary>
    private static async Task<double> CapacityAsync(LoadDriver driver, IReadOnlyList<string> bodies, LoadOptions options)
    {
        var clients = options.Clients.Max();
        var done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            while (clock.Elapsed < TimeSpan.FromSeconds(30))
                if ((await driver.SendAsync(bodies[random.Next(bodies.Count)])).Status == 200) Interlocked.Increment(ref done);
        })));
        var capacity = done / clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"capacity with {clients} clients: {capacity:F1} requests/s");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"measured capacity: {capacity:F1} requests/s ({clients} closed-loop clients, 30 s); soak rate {0.8 * capacity:F1}/s\n"));
        return capacity;
    }

    public static async Task<int> CancelAsync(LoadDriver driver, LoadOptions options)
    {
        var random = new Random(options.Seed);
        Console.Error.WriteLine($"building a {options.Tokens}-token pair ...");
        var big = await driver.BodyAsync(1, options.Tokens, random);
        var probe = await driver.BodyAsync(1, 16, random);
        await using var rss = new ProcessRss(options.Pid ?? Environment.ProcessId, TimeSpan.FromMilliseconds(50));
        var idle = rss.CurrentMiB;
        await driver.SendAsync(probe);
        var probeIdle = Enumerable.Range(0, 5).Select(_ => driver.SendAsync(probe).Result.Elapsed.TotalMilliseconds).Min();
        Console.Error.WriteLine("a full run for its time ...");
        var full = (await driver.SendAsync(big)).Elapsed;

        Console.WriteLine($"| run | pair tokens | full inference ms | disconnect → engine free ms | batches completed by the cancelled request |");
        Console.WriteLine("|---|---|---|---|---|");
        for (var run = 1; run <= options.Runs; run++)
        {
            using var cancel = new CancellationTokenSource();
            var abandoned = driver.SendAsync(big, cancel.Token);
            // Running: handled, nothing waiting in the queue, and a moment into the batch.
            for (var i = 0; i < 1000; i++)
            {
                var m = await driver.MetricsAsync();
                if (m.GetValueOrDefault("rerank_requests_in_flight") >= 1 && m.GetValueOrDefault("rerank_queue_depth") == 0) break;
                await Task.Delay(5);
            }
            await Task.Delay(full / 4);
            var batchesBefore = (await driver.MetricsAsync()).GetValueOrDefault("rerank_batches_total");
            var clock = Stopwatch.StartNew();
            cancel.Cancel();
            try { await abandoned; } catch (OperationCanceledException) { }
            await driver.SendAsync(probe);
            var freed = clock.Elapsed.TotalMilliseconds - probeIdle;
            var batchesAfter = (await driver.MetricsAsync()).GetValueOrDefault("rerank_batches_total");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {run} | {options.Tokens} | {full.TotalMilliseconds:F0} | {freed:F0} | {batchesAfter - batchesBefore - 1:F0} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\n(engine free = time from the disconnect until a 16-token probe is answered, minus the probe's idle latency of {probeIdle:F0} ms)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server RSS: {idle:F0} MiB before the {options.Tokens}-token runs, peak {rss.PeakSampledMiB:F0} MiB sampled, VmHWM {rss.HighWaterMiB:F0} MiB"));
        return 0;
    }

    private static bool Same(float[] actual, float[] expected) =>
        actual.Length == expected.Length && actual.Zip(expected).All(p => Math.Abs(p.First - p.Second) <= Tolerance);

    /// <summary>One minute of the soak.</summary>
    private sealed class Minute(int index)
    {
        private readonly List<double> _latencies = [];
        public int Index { get; } = index;
        public int Requests, Ok, Refused, Disconnected, Errors, Checked, Differing;
        public double RssEndMiB, RssMaxMiB;

        public void Record(int status, TimeSpan elapsed, bool isChecked, bool differs)
        {
            lock (_latencies)
            {
                Requests++;
                if (status == 200) { Ok++; _latencies.Add(elapsed.TotalMilliseconds); }
                else if (status == 429) Refused++;
                else Errors++;
                if (isChecked) Checked++;
                if (differs) Differing++;
            }
        }

        public void RecordDisconnect()
        {
            lock (_latencies) { Requests++; Disconnected++; }
        }

        public void Finish(ProcessRss rss)
        {
            RssEndMiB = rss.CurrentMiB;
            RssMaxMiB = rss.PeakSampledMiB;
            rss.ResetPeak();
        }

        public string Row()
        {
            lock (_latencies)
                return string.Create(CultureInfo.InvariantCulture,
                    $"| {Index + 1} | {Requests} | {Ok} | {Refused} | {Disconnected} | {Errors} | {Checked} / {Differing} | {Stats.Percentile(_latencies, 0.5):F0} | {Stats.Percentile(_latencies, 0.99):F0} | {RssEndMiB:F0} / {RssMaxMiB:F0} |");
        }
    }
}

internal static class Stats
{
    /// <summary>Nearest-rank percentile; NaN for no values.</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
