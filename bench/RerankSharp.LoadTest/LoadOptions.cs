using System.Globalization;

namespace RerankSharp.LoadTest;

/// <summary>The command line of rerank-load.</summary>
internal sealed record LoadOptions
{
    public string? Model { get; init; }
    public string? Url { get; init; }
    public string? ApiKey { get; init; }
    public int? Threads { get; init; }
    public int BatchSize { get; init; } = 16;
    public IReadOnlyList<int> Clients { get; init; } = [1, 8, 32];
    /// <summary>Requests per level (one value for all levels, or one per level).</summary>
    public IReadOnlyList<int> Requests { get; init; } = [20, 80, 320];
    public int Docs { get; init; } = 10;
    public int Tokens { get; init; } = 256;
    public string Route { get; init; } = "/rerank";
    /// <summary>A level stops issuing requests after this long, whatever its count, so a run stays bounded.</summary>
    public int MaxSeconds { get; init; } = 240;
    public int Seed { get; init; } = 1;

    public static LoadOptions? Parse(string[] args)
    {
        var options = new LoadOptions();
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
                _ => null,
            };
            if (options is null) return null;
        }
        return (options.Model is null) == (options.Url is null) ? null : options;
    }

    private static int Int(string value) => int.Parse(value, CultureInfo.InvariantCulture);

    private static int[] Ints(string value) => value.Split(',').Select(Int).ToArray();
}
