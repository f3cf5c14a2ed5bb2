using System.Globalization;
using System.Text.RegularExpressions;
using RerankSharp.Cli.Commands;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public partial class DemoCommandTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");

    [GeneratedRegex(@"^\s*(\d+)\s+(-?\d+\.\d{4})\s+([█▏▎▍▌▋▊▉░]{20})\s+(.*?)\s*$")]
    private static partial Regex Row();

    private sealed record Shown(int Rank, float Score, string Bar, string Passage);

    /// <summary>The ranked rows of each demo, in the order printed.</summary>
    private static List<List<Shown>> Blocks(string stdout)
    {
        var blocks = new List<List<Shown>>();
        foreach (var line in stdout.Split('\n'))
        {
            if (line.StartsWith("query: ", StringComparison.Ordinal)) blocks.Add([]);
            if (Row().Match(line) is { Success: true } m)
                blocks[^1].Add(new Shown(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                    float.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), m.Groups[3].Value, m.Groups[4].Value));
        }
        return blocks;
    }

    [Fact]
    public void Both_reference_demos_print_every_passage_best_first_with_its_score_bar_and_time()
    {
        var result = RerankProcess.Run(null, "demo", "--model", Model);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("", result.Stderr);
        Assert.Contains("query: 人工智能的发展趋势", result.Stdout);
        Assert.Contains("query: 中国的首都是哪里?", result.Stdout);
        Assert.Matches(@"3 passages scored in \d+ ms", result.Stdout);
        Assert.Matches(@"5 passages scored in \d+ ms", result.Stdout);
        Assert.Contains("Keyword traps: \"首都机场位于北京,是中国重要交通枢纽。\" and \"首都医科大学位于北京市丰台区。\"", result.Stdout);
        Assert.Matches(@"This model ranks the answer #\d", result.Stdout);

        var blocks = Blocks(result.Stdout);
        Assert.Equal(2, blocks.Count);
        using var encoder = CrossEncoder.Load(Model);
        foreach (var (block, query, passages) in new[] { (blocks[0], DemoCommand.BasicQuery, DemoCommand.BasicPassages), (blocks[1], DemoCommand.RagQuery, DemoCommand.RagPassages) })
        {
            Assert.Equal(Enumerable.Range(1, passages.Length), block.Select(r => r.Rank));
            Assert.Equal(passages.Order(StringComparer.Ordinal), block.Select(r => r.Passage).Order(StringComparer.Ordinal));
            var expected = encoder.Predict(passages.Select(p => (query, p)).ToArray());
            foreach (var row in block)
            {
                var score = expected[Array.IndexOf(passages, row.Passage)];
                Assert.Equal(score, row.Score, 4);
                Assert.Equal(DemoCommand.Bar(score), row.Bar);
            }
            Assert.Equal(block.Select(r => r.Score).OrderDescending(), block.Select(r => r.Score));
        }
    }

    // The reference's demo scripts (section 3 of the brief, test.py and test2.py), copied here once and compared byte for
    // byte: ASCII ',' '?' 'C' and 'AI', full-width '。'. Tests do not read ../shared.
    [Fact]
    public void The_demo_texts_are_the_reference_scripts_byte_for_byte()
    {
        Assert.Equal("人工智能的发展趋势"u8.ToArray(), System.Text.Encoding.UTF8.GetBytes(DemoCommand.BasicQuery));
        Assert.Equal(
            ["机器学习是人工智能的一个分支。", "苹果是一种水果,富含维生素C。", "深度神经网络推动了AI技术进步。"],
            DemoCommand.BasicPassages);
        Assert.Equal("中国的首都是哪里?", DemoCommand.RagQuery);
        Assert.Equal(
            ["北京是中国的政治中心和首都。", "上海是中国最大的城市,经济发达。", "首都机场位于北京,是中国重要交通枢纽。", "杭州有西湖,是著名的旅游城市。", "首都医科大学位于北京市丰台区。"],
            DemoCommand.RagPassages);
        Assert.Equal([DemoCommand.RagPassages[2], DemoCommand.RagPassages[4]], DemoCommand.RagKeywordTraps);
        Assert.Equal(DemoCommand.RagAnswer, DemoCommand.RagPassages[0]);
        // The punctuation the reference writes, by code point.
        var all = string.Concat(DemoCommand.BasicPassages.Concat(DemoCommand.RagPassages).Append(DemoCommand.RagQuery));
        Assert.DoesNotContain('，', all);            // no full-width comma
        Assert.DoesNotContain('？', all);            // no full-width question mark
        Assert.Contains(',', all);
        Assert.Contains('?', all);
        Assert.Equal(8, all.Count(c => c == '。'));
        Assert.Contains("维生素C", all);              // ASCII C
        Assert.Contains("AI技术", all);               // ASCII AI
    }

    [Fact]
    public void Own_query_and_passages_replace_the_demos()
    {
        var result = RerankProcess.Run(null, "demo", "--model", Model, "--query", "what is panda?", "--doc", "hi", "--doc", "The giant panda is a bear species endemic to China.");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var block = Assert.Single(Blocks(result.Stdout));
        Assert.Equal(["The giant panda is a bear species endemic to China.", "hi"], block.Select(r => r.Passage).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Keyword trap", result.Stdout);
    }

    [Fact]
    public void Passages_without_a_query_is_an_input_error()
    {
        var result = RerankProcess.Run(null, "demo", "--model", Model, "--doc", "hi");

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("error: --doc needs --query: pass the query the passages are to be ranked for.", result.Stderr.Trim());
    }

    [Theory]
    [InlineData(0f, "░░░░░░░░░░░░░░░░░░░░")]
    [InlineData(1f, "████████████████████")]
    [InlineData(0.5f, "██████████░░░░░░░░░░")]
    [InlineData(0.53f, "██████████▋░░░░░░░░░")]   // 10.6 cells: 10 full and a five-eighths block
    public void Bars_fill_in_eighths_of_a_cell(float fraction, string bar) => Assert.Equal(bar, DemoCommand.Bar(fraction));

    [Fact]
    public void The_server_playground_is_prefilled_with_the_keyword_trap_demo()
    {
        using var stream = typeof(Server.PlaygroundPage).Assembly.GetManifestResourceStream("RerankSharp.Server.Playground.playground.html")!;
        var html = new StreamReader(stream).ReadToEnd();

        const string textarea = "<textarea id=\"documents\" spellcheck=\"false\">";
        var start = html.IndexOf(textarea, StringComparison.Ordinal) + textarea.Length;
        var passages = html[start..html.IndexOf("</textarea>", start, StringComparison.Ordinal)];
        Assert.Contains($"<input type=\"text\" id=\"query\" value=\"{DemoCommand.RagQuery}\">", html);
        Assert.Equal(DemoCommand.RagPassages, passages.Split('\n'));
    }
}
