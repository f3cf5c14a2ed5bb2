using System.Text.Json.Nodes;
using RerankSharp.Cli.Commands;
using RerankSharp.Models;
using RerankSharp.Tests;
using RerankSharp.Tokenization;

namespace RerankSharp.Cli.Tests;

public class BenchCommandTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");

    [Fact]
    public void Json_has_one_row_per_grid_cell_with_consistent_rates_and_the_plot_is_a_png()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-bench-");
        try
        {
            var plot = Path.Combine(dir.FullName, "bench.png");

            var result = RerankProcess.Run(null, "bench", "--model", Model, "--grid", "32x2,64x3", "--warmup", "1", "--repeats", "2", "--json", "--plot", plot);

            Assert.True(result.ExitCode == 0, result.Stderr);
            var json = JsonNode.Parse(result.Stdout)!;
            Assert.Equal("CPUExecutionProvider", json["provider"]!.GetValue<string>());
            var rows = json["rows"]!.AsArray();
            Assert.Equal([(32, 2), (64, 3)], rows.Select(r => (r!["tokens"]!.GetValue<int>(), r["docs"]!.GetValue<int>())));
            foreach (var row in rows)
            {
                var median = row!["median_s"]!.GetValue<double>();
                var docs = row["docs"]!.GetValue<int>();
                Assert.Equal(2, row["runs_s"]!.AsArray().Count);
                Assert.Equal(docs / median, row["pairs_per_s"]!.GetValue<double>(), 0.01 * docs / median);
                Assert.Equal(docs * row["tokens"]!.GetValue<int>() / median, row["tokens_per_s"]!.GetValue<double>(), 0.01 * docs * 64 / median);
                Assert.InRange(row["peak_rss_mib"]!.GetValue<double>(), 10, 4096);
            }
            Assert.Contains("bench: 64 tokens × 3 docs: run 2/2", result.Stderr);
            // Each progress line shows the very time its row records (to the progress line's 0.1 ms).
            foreach (var row in rows)
                foreach (var (run, index) in row!["runs_s"]!.AsArray().Select((t, i) => (t!.GetValue<double>(), i)))
                {
                    var shown = System.Text.RegularExpressions.Regex.Match(result.Stderr,
                        $@"bench: {row["tokens"]} tokens × {row["docs"]} docs: run {index + 1}/2 (?<value>[\d.]+) (?<unit>ms|s)");
                    Assert.True(shown.Success, result.Stderr);
                    var seconds = double.Parse(shown.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture) / (shown.Groups["unit"].Value == "ms" ? 1000 : 1);
                    Assert.Equal(run, seconds, shown.Groups["unit"].Value == "ms" ? 0.00006 : 0.006);
                }
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(plot)[..4]);
        }
        finally { dir.Delete(recursive: true); }
    }

    // Each architecture's own attention paths over a grid: ModernBERT's local layers at 48 tokens within the dense band and
    // 160 past it (the blocked window of modernbert-a, W = 8); GTE at 200 tokens past gte-b's smallest golden batches, one
    // row alone (the flash attention) and padded rows; DeBERTa at 150 tokens, past deberta-a's 8 log buckets.
    [Theory]
    [InlineData("modernbert-a", "48x2,160x2", 48, 160)]
    [InlineData("gte-b", "32x2,200x1", 32, 200)]
    [InlineData("deberta-a", "32x2,150x1", 32, 150)]
    public void An_architecture_runs_the_grid_on_each_of_its_attention_paths(string model, string grid, int shorter, int longer)
    {
        var result = RerankProcess.Run(null, "bench", "--model", FixturePaths.Model(model), "--grid", grid, "--warmup", "0", "--repeats", "1", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var rows = JsonNode.Parse(result.Stdout)!["rows"]!.AsArray();
        Assert.Equal([shorter, longer], rows.Select(r => r!["tokens"]!.GetValue<int>()));
        Assert.All(rows, r => Assert.True(r!["median_s"]!.GetValue<double>() > 0));
    }

    [Fact]
    public void The_table_lists_each_row()
    {
        var result = RerankProcess.Run(null, "bench", "--model", Model, "--grid", "16x1,48x2", "--warmup", "0", "--repeats", "1");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("median latency", result.Stdout);
        Assert.Contains("tokens/s", result.Stdout);
        Assert.Matches(@"│\s+48 │\s+2 │\s+[\d.]+ (ms|s) │", result.Stdout);
    }

    [Fact]
    public void Lengths_beyond_the_model_are_refused_with_what_to_pass()
    {
        var result = RerankProcess.Run(null, "bench", "--model", Model);   // default grid reaches 8192

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("--grid asks for 1024, 8192-token inputs but this model takes at most 512 tokens", result.Stderr);
    }

    [Theory]
    [InlineData("512x10,1024x20,8192x5", new[] { 512, 10, 1024, 20, 8192, 5 })]
    [InlineData(" 64×2 ", new[] { 64, 2 })]
    public void Grids_parse(string text, int[] flat) =>
        Assert.Equal(flat, BenchCommand.ParseGrid(text).SelectMany(c => new[] { c.Tokens, c.Docs }));

    [Theory]
    [InlineData("512")]
    [InlineData("512x0")]
    [InlineData("4x1")]
    [InlineData("ax2")]
    [InlineData("")]
    public void Bad_grids_are_input_errors(string text) =>
        Assert.Equal(RerankErrorKind.InvalidInput, Assert.Throws<RerankException>(() => BenchCommand.ParseGrid(text)).Kind);

    [Theory]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(512)]
    public void Inputs_have_exactly_the_length_asked_for_in_the_pair_template(int length)
    {
        var folder = ModelFolder.Open(Model);
        var tokenizer = XlmRobertaTokenizer.FromFiles(folder.SentencePieceModelPath, folder.TokenizerJsonPath);

        var inputs = BenchInputs.Make(tokenizer, length, 3);

        Assert.All(inputs, ids => Assert.Equal(length, ids.Length));
        Assert.All(inputs, ids => Assert.Equal([0, 2], new[] { ids[0], ids[^1] }));
        if (length > 16) Assert.NotEqual(inputs[0], inputs[1]);   // a different passage per document
    }
}
