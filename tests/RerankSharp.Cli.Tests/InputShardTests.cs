using System.CommandLine;

namespace RerankSharp.Cli.Tests;

public class InputShardTests
{
    [Theory]
    [InlineData(0L, 3)]
    [InlineData(1L, 3)]
    [InlineData(2L, 3)]
    [InlineData(10L, 3)]
    [InlineData(11L, 4)]
    [InlineData(1_000_003L, 7)]
    public void The_blocks_of_all_shards_cover_every_line_once_in_order_and_differ_by_at_most_one(long total, int count)
    {
        var blocks = Enumerable.Range(0, count).Select(i => new InputShard(i, count).Lines(total)).ToList();

        Assert.Equal(0, blocks[0].Start);
        Assert.Equal(total, blocks[^1].End);
        for (var i = 1; i < count; i++) Assert.Equal(blocks[i - 1].End, blocks[i].Start);
        var sizes = blocks.Select(b => b.End - b.Start).ToList();
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(", ", sizes));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("2/3", 2, 3)]
    [InlineData(" 4 / 16 ", 4, 16)]
    public void Parses_index_slash_count(string text, int index, int count)
    {
        var shard = Parse(text, out var errors);

        Assert.Empty(errors);
        Assert.Equal(new InputShard(index, count), shard);
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("-1/3")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("1/2/3")]
    public void Refuses_anything_but_an_index_below_a_positive_count(string text)
    {
        var shard = Parse(text, out var errors);

        Assert.Null(shard);
        Assert.Contains($"--shard {text} is not a shard", Assert.Single(errors));
    }

    // Through a real parse, as the command line reaches it.
    private static InputShard? Parse(string text, out IReadOnlyList<string> errors)
    {
        var option = new Option<InputShard?>("--shard") { CustomParser = arg => InputShard.Parse(arg, arg.Tokens.Single().Value, "--shard") };
        var root = new RootCommand { option };
        var result = root.Parse(["--shard", text]);
        errors = result.Errors.Select(e => e.Message).ToList();
        return errors.Count == 0 ? result.GetValue(option) : null;
    }
}
