namespace RerankSharp.Scoring;

/// <summary>Combines window logits. On raw logits, so that a sigmoid score is always the sigmoid of the raw one.</summary>
internal static class WindowAggregator
{
    /// <summary>
    /// The document's logit and the window that decided it: the best-scoring window for <see cref="WindowAggregation.Max"/>
    /// and <see cref="WindowAggregation.Mean"/> (the first of equal ones), window 0 for <see cref="WindowAggregation.First"/>.
    /// One window gives its own logit bit for bit, whatever the aggregation.
    /// </summary>
    public static (float Logit, int Winner) Combine(ReadOnlySpan<float> logits, WindowAggregation aggregation)
    {
        if (logits.IsEmpty)
            throw new RerankException(RerankErrorKind.Internal, "A document without windows reached aggregation. This is a bug.");
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        switch (aggregation)
        {
            case WindowAggregation.Max:
                return (logits[best], best);
            case WindowAggregation.Mean:
                if (logits.Length == 1) return (logits[0], 0);
                var sum = 0.0;
                foreach (var logit in logits) sum += logit;
                return ((float)(sum / logits.Length), best);
            case WindowAggregation.First:
                return (logits[0], 0);
            default:
                throw new RerankException(RerankErrorKind.InvalidInput, $"Unknown window aggregation {aggregation}; use max, mean or first.");
        }
    }
}
