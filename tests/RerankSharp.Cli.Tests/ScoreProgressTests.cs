using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

/// <summary><c>rerank score</c> on inputs long enough to need progress, and stopped with Ctrl-C.</summary>
public partial class ScoreProgressTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");
    private const int DocsPerLine = 9;

    private static string Input(int lines)
    {
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
            text.Append(CultureInfo.InvariantCulture, $$"""{"query": "中国的首都是哪里? {{i}}", "documents": [{{string.Join(", ", Enumerable.Repeat("\"北京是中国的政治中心和首都。首都机场位于北京,是中国重要交通枢纽。\"", DocsPerLine))}}]}""").Append('\n');
        return text.ToString();
    }

    [Fact]
    public void Without_a_terminal_progress_is_a_plain_line_now_and_then_with_rate_and_time_left()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-progress-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.jsonl");
            File.WriteAllText(input, Input(400) + "\n  \n");   // blank lines are not counted

            var result = RerankProcess.Run(null, "score", "--model", Model, "--input", input, "--progress-interval", "0.05");

            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal(400, result.StdoutLines.Length);
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(lines, l => Assert.StartsWith("progress: ", l));
            Assert.Matches(@"^progress: [\d,]+/400 lines \(\d+%\), [\d,]+ pairs · [\d.]+ pairs/s, ETA \d+:\d\d$", lines[0]);
            Assert.Matches(@"^progress: scored 3600 pairs from 400 lines in [\d.]+ s \([\d.]+ pairs/s\)$", lines[^1]);
            Assert.DoesNotContain('\r', result.Stderr);   // no terminal redraws in a log
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Standard_input_has_no_total_so_progress_shows_counts_and_rate_only()
    {
        var result = RerankProcess.Run(Input(300), "score", "--model", Model, "--progress-interval", "0.05");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var first = result.Stderr.Split('\n')[0];
        Assert.Matches(@"^progress: [\d,]+ lines, [\d,]+ pairs · [\d.]+ pairs/s$", first);
    }

    [Fact]
    public void A_short_run_without_a_terminal_prints_no_progress()
    {
        var result = RerankProcess.Run(Input(3), "score", "--model", Model);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("", result.Stderr);
    }

    [Theory]
    [InlineData(0, 10, "░░░░░░░░░░░░░░░░░░░░░░░░   0%")]
    [InlineData(5, 10, "████████████░░░░░░░░░░░░  50%")]
    [InlineData(10, 10, "████████████████████████ 100%")]
    [InlineData(7, -1, "")]                                // standard input: no total
    public void The_terminal_bar_fills_with_the_fraction_done(long done, long total, string bar) =>
        Assert.Equal(bar, ProgressLine.Bar(done, total < 0 ? null : total));

    [Fact]
    public async Task Ctrl_C_stops_cleanly_and_leaves_the_output_file_with_only_complete_lines()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-stop-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.jsonl");
            var output = Path.Combine(dir.FullName, "out.jsonl");
            const int total = 20000;   // about a minute of tiny-a on two cores: the stop comes long before the end
            File.WriteAllText(input, Input(total));
            File.WriteAllText(output, "results of an earlier run\n");
            using var process = Process.Start(RerankProcess.StartInfo(null, "score", "--model", Model, "--input", input, "--output", output, "--progress-interval", "0.2"))!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();

            // Stop once scoring is under way (the first progress line), as a user at the keyboard would.
            var first = await process.StandardError.ReadLineAsync();
            Assert.StartsWith("progress: ", first);
            Assert.Equal(0, kill(process.Id, SigintIgnored() ? SIGTERM : SIGINT));
            var stderr = first + "\n" + await process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "rerank did not stop within 30 s of the signal");

            Assert.Equal(130, process.ExitCode);
            Assert.Equal("", await stdout);
            var kept = File.ReadAllLines(output);
            Assert.InRange(kept.Length, 1, total - 1);
            Assert.All(kept, line => Assert.Equal(DocsPerLine, JsonNode.Parse(line)!["scores"]!.AsArray().Count));
            Assert.EndsWith("\n", File.ReadAllText(output));
            Assert.Contains($"error: cancelled; {output} holds the {kept.Length} complete lines written before the stop.", stderr);
            Assert.Equal(["in.jsonl", "out.jsonl"], dir.GetFiles().Select(f => f.Name).Order());   // no partial file left
        }
        finally { dir.Delete(recursive: true); }
    }

    private const int SIGINT = 2;
    private const int SIGTERM = 15;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    /// <summary>
    /// A shell without job control starts background jobs with SIGINT ignored, and the child would
    /// inherit that; the stop is then sent as SIGTERM, which rerank treats the same way.
    /// </summary>
    private static bool SigintIgnored()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << (SIGINT - 1))) != 0;
    }
}
