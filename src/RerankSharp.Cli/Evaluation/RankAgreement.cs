namespace RerankSharp.Cli.Evaluation;

/// <summary>How alike two score lists over the same candidates rank them.</summary>
internal static class RankAgreement
{
    /// <summary>
    /// Spearman's ρ: the Pearson correlation of the ranks, equal values sharing their mean rank. NaN with fewer than
    /// two candidates or when either list is constant (no ranking to agree with).
    /// </summary>
    public static double Spearman(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        Check(a, b);
        if (a.Count < 2) return double.NaN;
        var ra = Ranks(a);
        var rb = Ranks(b);
        var ma = ra.Average();
        var mb = rb.Average();
        double cov = 0, va = 0, vb = 0;
        for (var i = 0; i < ra.Length; i++)
        {
            cov += (ra[i] - ma) * (rb[i] - mb);
            va += (ra[i] - ma) * (ra[i] - ma);
            vb += (rb[i] - mb) * (rb[i] - mb);
        }
        return va == 0 || vb == 0 ? double.NaN : cov / Math.Sqrt(va * vb);
    }

    /// <summary>
    /// Kendall's τ-b: (concordant − discordant) / √((n0 − ties in a)(n0 − ties in b)), which stays in [−1, 1] with ties.
    /// NaN with fewer than two candidates or when either list is constant.
    /// </summary>
    public static double KendallTauB(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        Check(a, b);
        long concordant = 0, discordant = 0, tiesA = 0, tiesB = 0, pairs = 0;
        for (var i = 0; i < a.Count; i++)
            for (var j = i + 1; j < a.Count; j++)
            {
                pairs++;
                var da = Math.Sign(a[i].CompareTo(a[j]));
                var db = Math.Sign(b[i].CompareTo(b[j]));
                if (da == 0) tiesA++;
                if (db == 0) tiesB++;
                if (da != 0 && db != 0)
                {
                    if (da == db) concordant++;
                    else discordant++;
                }
            }
        var denominator = Math.Sqrt((double)(pairs - tiesA) * (pairs - tiesB));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    private static double[] Ranks(IReadOnlyList<float> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            var mean = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++) ranks[order[k]] = mean;
            start = end + 1;
        }
        return ranks;
    }

    private static void Check(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        if (a.Count != b.Count)
            throw new RerankException(RerankErrorKind.Internal, $"Score lists of {a.Count} and {b.Count} candidates cannot be compared. This is a bug.");
    }
}
