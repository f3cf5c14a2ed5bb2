using System.Globalization;

namespace RerankSharp.LoadTest;

/// <summary>The command line of rerank-load.</summary>
internal sealed record LoadOptions
{
    public string? Model { get; init; }
    public string? Url { get; init; }
    public string? ApiKey { get; init; }
    public int? Threads { get; init; }
    /// <summary>Most pairs per batch; null: the library's default, as `rerank serve` uses.</summary>
    public int? BatchSize { get; init; }
    public IReadOnlyList<int> Clients { get; init; } = [1, 8, 32];
    /// <summary>Requests per level (one value for all levels, or one per level).</summary>
    public IReadOnlyList<int> Requests { get; init; } = [20, 80, 320];
    public int Docs { get; init; } = 10;
    public int Tokens { get; init; } = 256;
    public string Route { get; init; } = "/rerank";
    /// <summary>A level stops issuing requests after this long, whatever its count, so a run stays bounded.</summary>
    public int MaxSeconds { get; init; } = 240;
    public int Seed { get; init; } = 1;
    /// <summary>overload, soak or cancel (ReliabilityRuns); null: the throughput table.</summary>
    public string? Mode { get; init; }
    /// <summary>The server's process id, whose resident set the reliability runs sample.</summary>
    public int? Pid { get; init; }
    public int? Burst { get; init; }
    public double? RssBoundMiB { get; init; }
    public double Minutes { get; init; } = 20;
    /// <summary>Soak requests per second; null: 80% of the capacity measured first.</summary>
    public double? Rate { get; init; }
    /// <summary>Fraction of soak requests whose client disconnects at a random moment.</summary>
    public double Disconnect { get; init; } = 0.05;
    public int Runs { get; init; } = 3;
    /// <summary>fairness: the model the short requests go to (the long ones go to --model).</summary>
    public string? ShortModel { get; init; }
    /// <summary>fairness: tokens of the one long pair running on --model.</summary>
    public int LongTokens { get; init; } = 8192;
    /// <summary>fairness: "shared" (one ONNX Runtime pool, batches taking turns, as rerank serve with several models) or "separate" (a pool per session).</summary>
    public string Pools { get; init; } = "shared";
    public int BatchesAtOnce { get; init; } = 2;

    public static LoadOptions? Parse(string[] args)
    {
        var options = new LoadOptions();
        if (args is [("overload" or "soak" or "cancel" or "fairness") and var mode, ..])
        {
            options = options with { Mode = mode };
            args = args[1..];
        }
        for (var i = 0; i < args.Length; i++)
        {
            if (i + 1 >= args.Length) return null;
            var value = args[++i];
            options = args[i - 1] switch
            {
                "--model" => options with { Model = value },
                "--url" => options with { Url = value },
                "--api-key" => options with { ApiKey = value },
                "--threads" => options with { Threads = Int(value) },
                "--batch-size" => options with { BatchSize = Int(value) },
                "--clients" => options with { Clients = Ints(value) },
                "--requests" => options with { Requests = Ints(value) },
                "--docs" => options with { Docs = Int(value) },
                "--tokens" => options with { Tokens = Int(value) },
                "--route" => options with { Route = value },
                "--max-seconds" => options with { MaxSeconds = Int(value) },
                "--seed" => options with { Seed = Int(value) },
                "--pid" => options with { Pid = Int(value) },
                "--burst" => options with { Burst = Int(value) },
                "--rss-bound-mib" => options with { RssBoundMiB = Double(value) },
                "--minutes" => options with { Minutes = Double(value) },
                "--rate" => options with { Rate = Double(value) },
                "--disconnect" => options with { Disconnect = Double(value) },
                "--runs" => options with { Runs = Int(value) },
                "--short-model" => options with { ShortModel = value },
                "--long-tokens" => options with { LongTokens = Int(value) },
                "--pools" when value is "shared" or "separate" => options with { Pools = value },
                "--batches-at-once" => options with { BatchesAtOnce = Int(value) },
                _ => null,
            };
            if (options is null) return null;
        }
        if (options.Mode == "fairness" && (options.Model is null || options.ShortModel is null)) return null;
        return (options.Model is null) == (options.Url is null) ? null : options;
    }

    private static int Int(string value) => int.Parse(value, CultureInfo.InvariantCulture);

    private static double Double(string value) => double.Parse(value, CultureInfo.InvariantCulture);

    private static int[] Ints(string value) => value.Split(',').Select(Int).ToArray();
}
