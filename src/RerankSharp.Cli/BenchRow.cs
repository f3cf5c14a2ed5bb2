namespace RerankSharp.Cli;

/// <summary>One row of <c>rerank bench</c>: a request of <see cref="Docs"/> pairs of <see cref="Tokens"/> tokens each.</summary>
internal sealed record BenchRow(int Tokens, int Docs, IReadOnlyList<double> RunSeconds, double PeakRssMiB)
{
    public double MedianSeconds
    {
        get
        {
            var sorted = RunSeconds.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }

    public double PairsPerSecond => Docs / MedianSeconds;

    public double TokensPerSecond => (double)Docs * Tokens / MedianSeconds;

    /// <summary>Seconds as people read latencies: milliseconds below one second.</summary>
    public static string FormatSeconds(double seconds) =>
        seconds < 1 ? $"{seconds * 1000:F1} ms" : $"{seconds:F2} s";
}
