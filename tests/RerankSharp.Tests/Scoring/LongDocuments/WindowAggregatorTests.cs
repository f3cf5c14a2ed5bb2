using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class WindowAggregatorTests
{
    [Fact]
    public void Max_takes_the_best_window_and_the_first_of_equal_ones()
    {
        Assert.Equal((3.5f, 1), WindowAggregator.Combine([1f, 3.5f, -2f, 3.5f], WindowAggregation.Max));
    }

    [Fact]
    public void Mean_averages_the_logits_and_names_the_best_window()
    {
        var (logit, winner) = WindowAggregator.Combine([1f, 4f, -2f], WindowAggregation.Mean);
        Assert.Equal(1f, logit, 6);
        Assert.Equal(1, winner);
    }

    [Fact]
    public void First_takes_window_zero_whatever_the_others_score()
    {
        Assert.Equal((-1f, 0), WindowAggregator.Combine([-1f, 9f, 2f], WindowAggregation.First));
    }

    [Theory]
    [InlineData(WindowAggregation.Max)]
    [InlineData(WindowAggregation.Mean)]
    [InlineData(WindowAggregation.First)]
    public void One_window_gives_its_own_logit_bit_for_bit(WindowAggregation aggregation)
    {
        const float logit = 0.1234567f;
        var (combined, winner) = WindowAggregator.Combine([logit], aggregation);
        Assert.Equal(BitConverter.SingleToInt32Bits(logit), BitConverter.SingleToInt32Bits(combined));
        Assert.Equal(0, winner);
    }

    [Fact]
    public void No_windows_is_a_bug()
    {
        Assert.Equal(RerankErrorKind.Internal, Assert.Throws<RerankException>(() => WindowAggregator.Combine([], WindowAggregation.Max)).Kind);
    }
}
