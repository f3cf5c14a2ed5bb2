using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class DocumentWindowsTests
{
    [Fact]
    public void A_document_that_fits_is_one_window_of_all_of_it()
    {
        Assert.Equal([new TokenWindow(0, 40)], DocumentWindows.Plan(40, window: 40, stride: 10));
        Assert.Equal([new TokenWindow(0, 7)], DocumentWindows.Plan(7, window: 40, stride: 10));
    }

    [Fact]
    public void An_empty_document_is_one_empty_window()
    {
        Assert.Equal([new TokenWindow(0, 0)], DocumentWindows.Plan(0, window: 40, stride: 10));
    }

    [Fact]
    public void Windows_advance_by_window_minus_stride_and_the_last_ends_at_the_end()
    {
        // step 30: 0, 30, 60; the third already ends at 100.
        Assert.Equal([new(0, 40), new(30, 70), new TokenWindow(60, 100)], DocumentWindows.Plan(100, window: 40, stride: 10));
        // One token more needs a fourth window, moved back to end at 101.
        Assert.Equal([new(0, 40), new(30, 70), new(60, 100), new TokenWindow(61, 101)], DocumentWindows.Plan(101, window: 40, stride: 10));
    }

    [Fact]
    public void Stride_zero_tiles_without_overlap()
    {
        Assert.Equal([new(0, 40), new TokenWindow(40, 80)], DocumentWindows.Plan(80, window: 40, stride: 0));
    }

    [Theory]
    [InlineData(41, 40, 10)]
    [InlineData(1000, 40, 10)]
    [InlineData(1000, 40, 39)]
    [InlineData(8187, 505, 126)]
    [InlineData(513, 2, 1)]
    public void Every_window_is_full_overlaps_its_predecessor_by_at_least_the_stride_and_all_tokens_are_covered(int tokens, int window, int stride)
    {
        var windows = DocumentWindows.Plan(tokens, window, stride);

        Assert.All(windows, w => Assert.Equal(window, w.Length));
        Assert.Equal(0, windows[0].Start);
        Assert.Equal(tokens, windows[^1].End);
        for (var i = 1; i < windows.Length; i++)
        {
            Assert.True(windows[i].Start > windows[i - 1].Start, "windows move forward");
            Assert.True(windows[i - 1].End - windows[i].Start >= stride, $"windows {i - 1} and {i} share at least {stride} tokens");
        }
        // Linear in the document: never more windows than a step of (window - stride) needs.
        Assert.Equal(1 + (tokens - window + (window - stride) - 1) / (window - stride), windows.Length);
    }

    [Theory]
    [InlineData(100, 0, 0)]
    [InlineData(100, 10, 10)]
    [InlineData(100, 10, -1)]
    public void Impossible_plans_are_bugs_not_user_errors(int tokens, int window, int stride)
    {
        var error = Assert.Throws<RerankException>(() => DocumentWindows.Plan(tokens, window, stride));
        Assert.Equal(RerankErrorKind.Internal, error.Kind);
    }
}
