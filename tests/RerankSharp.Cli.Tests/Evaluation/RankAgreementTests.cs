using RerankSharp.Cli.Evaluation;

namespace RerankSharp.Cli.Tests.Evaluation;

public class RankAgreementTests
{
    [Fact]
    public void Identical_and_reversed_orders_agree_fully_and_not_at_all()
    {
        float[] a = [0.1f, 0.5f, 0.9f, 0.3f];
        Assert.Equal(1.0, RankAgreement.Spearman(a, [1f, 5f, 9f, 3f]), 12);
        Assert.Equal(1.0, RankAgreement.KendallTauB(a, [1f, 5f, 9f, 3f]), 12);
        Assert.Equal(-1.0, RankAgreement.Spearman(a, [-1f, -5f, -9f, -3f]), 12);
        Assert.Equal(-1.0, RankAgreement.KendallTauB(a, [-1f, -5f, -9f, -3f]), 12);
    }

    [Fact]
    public void Ties_share_their_mean_rank_and_tau_b_corrects_for_them()
    {
        float[] a = [1f, 2f, 2f, 3f];
        float[] b = [1f, 2f, 3f, 4f];
        // Ranks of a: 1, 2.5, 2.5, 4 → ρ = 4.5 / √(4.5 · 5).
        Assert.Equal(4.5 / Math.Sqrt(4.5 * 5), RankAgreement.Spearman(a, b), 12);
        // 5 concordant, 0 discordant, one tie in a among 6 pairs → τb = 5 / √(5 · 6).
        Assert.Equal(5 / Math.Sqrt(30), RankAgreement.KendallTauB(a, b), 12);
    }

    [Fact]
    public void One_swap_among_four()
    {
        // b swaps the two middle candidates: 5 concordant, 1 discordant → τ = 4/6; ρ = 1 − 6·2/(4·15) = 0.8.
        Assert.Equal(4.0 / 6, RankAgreement.KendallTauB([1f, 2f, 3f, 4f], [1f, 3f, 2f, 4f]), 12);
        Assert.Equal(0.8, RankAgreement.Spearman([1f, 2f, 3f, 4f], [1f, 3f, 2f, 4f]), 12);
    }

    [Fact]
    public void No_ranking_to_agree_on_is_not_a_number()
    {
        Assert.True(double.IsNaN(RankAgreement.Spearman([1f], [2f])));
        Assert.True(double.IsNaN(RankAgreement.KendallTauB([1f], [2f])));
        Assert.True(double.IsNaN(RankAgreement.Spearman([1f, 1f, 1f], [1f, 2f, 3f])));
        Assert.True(double.IsNaN(RankAgreement.KendallTauB([1f, 1f, 1f], [1f, 2f, 3f])));
    }
}
