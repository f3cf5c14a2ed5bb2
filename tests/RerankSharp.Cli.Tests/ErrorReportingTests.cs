using System.Text.RegularExpressions;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

/// <summary>Each failure is one line on stderr, a distinct non-zero exit code, and no stack trace unless --verbose.</summary>
public partial class ErrorReportingTests
{
    private static void AssertOneLine(RerankProcess.Result result, int exitCode, string expected)
    {
        Assert.Equal(exitCode, result.ExitCode);
        var stderr = result.Stderr.Trim();
        Assert.Single(stderr.Split('\n'));
        Assert.StartsWith("error: ", stderr);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("", result.Stdout);
    }

    private static string CopyModel(string name)
    {
        var dir = Directory.CreateTempSubdirectory("rerank-model-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model(name)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    // Command-line errors are one line and exit 4 as every other bad input, not System.CommandLine's message with the
    // whole help and exit 1; their wording is the environment-variable path's.
    [Theory]
    [InlineData("--threads abc", "--threads: 'abc' is not a whole number (see rerank rank --help)")]
    [InlineData("--device gpu", "--device: 'gpu' is not one of auto, cpu, cuda")]
    [InlineData("--precision fp64", "--precision fp64 is not a precision; use fp32")]
    [InlineData("--long-documents all", "--long-documents: 'all' is not one of truncate, chunk")]
    [InlineData("--bogus", "'--bogus' is not an option or command here (see rerank rank --help)")]
    public void A_bad_flag_is_one_line_and_exit_4(string flag, string expected)
    {
        var result = RerankProcess.Run(null, ["rank", "--model", FixturePaths.Model("tiny-a"), "-q", "q", "-d", "d", .. flag.Split(' ')]);

        AssertOneLine(result, 4, expected);
    }

    [Fact]
    public void A_missing_required_option_is_one_line_and_exit_4()
    {
        var result = RerankProcess.Run(null, "rank", "--model", FixturePaths.Model("tiny-a"), "-q", "q");

        AssertOneLine(result, 4, "--doc is required (see rerank rank --help)");
    }

    [Fact]
    public void Help_names_enum_values_in_lowercase_and_shows_no_capitalised_default()
    {
        var result = RerankProcess.Run(null, "rank", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--device <auto|cpu|cuda>", result.Stdout);
        Assert.Contains("--precision <fp32|int8|fp16>", result.Stdout);
        Assert.Contains("--long-documents <truncate|chunk>", result.Stdout);
        Assert.DoesNotMatch(@"\[default: [A-Z][a-z]", result.Stdout);
    }

    // One option per name in each command's help: eval reads its list of precisions from the common --precision,
    // serve's batch budget is the common --max-batch-tokens.
    [Theory]
    [InlineData("eval", "--precision")]
    [InlineData("serve", "--max-batch-tokens")]
    [InlineData("rank", "--model")]
    public void Help_lists_each_option_once(string command, string option)
    {
        var result = RerankProcess.Run(null, command, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Single(result.StdoutLines, line => System.Text.RegularExpressions.Regex.IsMatch(line, $@"^\s*(-\w, )?{option} "));
    }

    [Fact]
    public void A_precision_list_is_for_eval_only()
    {
        var result = RerankProcess.Run(null, "rank", "--model", FixturePaths.Model("tiny-a"), "-q", "q", "-d", "d", "--precision", "fp32,int8");

        AssertOneLine(result, 4, "--precision fp32,int8: this command runs one precision; a list is for rerank eval.");
    }

    [Fact]
    public void Download_describes_its_optional_id_the_same_in_the_command_list_and_its_own_help()
    {
        var list = RerankProcess.Run(null, "--help").StdoutLines.Single(l => l.TrimStart().StartsWith("download ", StringComparison.Ordinal));
        var own = RerankProcess.Run(null, "download", "--help").Stdout;

        Assert.Contains("rerank download [ID]", list);
        Assert.Contains("rerank download [ID]", own);
        Assert.DoesNotContain("<id>", list + own);
    }

    // A mistyped relative path has the shape of a hub id: the message says both what was looked for as a folder and
    // why the hub did not give it; the library's "pass a local model folder" gets the CLI's flag.
    [Fact]
    public void A_missing_folder_shaped_like_a_hub_id_is_reported_as_both()
    {
        var result = RerankProcess.Run("", "info", "--model", "models/tiny-a");

        AssertOneLine(result, 2, $"There is no model folder {Path.GetFullPath("models/tiny-a")}, and as a hub id: Cannot reach the hub at {RerankProcess.ClosedEndpoint}");
        Assert.Contains("Pass a local model folder (--model DIR) instead of the hub id", result.Stderr);
    }

    [Fact]
    public void Missing_model_folder()
    {
        var result = RerankProcess.Run("", "score", "--model", "/nonexistent/model-folder");
        AssertOneLine(result, 2, "does not exist");
    }

    [Fact]
    public void Hub_id_not_in_the_cache_while_offline_says_how_to_get_it()
    {
        var result = RerankProcess.Run("", new Dictionary<string, string> { ["HF_HUB_OFFLINE"] = "1" }, "score", "--model", "BAAI/bge-reranker-v2-m3");
        AssertOneLine(result, 2, "is not in the Hugging Face cache");
        Assert.Contains("HF_HUB_OFFLINE", result.Stderr);
        Assert.Contains("rerank download BAAI/bge-reranker-v2-m3", result.Stderr);
    }

    [Fact]
    public void Hub_id_not_in_the_cache_without_network_names_the_local_folder_and_HF_ENDPOINT()
    {
        var result = RerankProcess.Run("", "score", "--model", "BAAI/bge-reranker-v2-m3");
        AssertOneLine(result, 2, $"Cannot reach the hub at {RerankProcess.ClosedEndpoint} to download BAAI/bge-reranker-v2-m3");
        Assert.Contains("--model DIR", result.Stderr);
        Assert.Contains("HF_ENDPOINT", result.Stderr);
    }

    [Fact]
    public void Missing_weights_file()
    {
        var dir = CopyModel("tiny-a");
        try
        {
            File.Delete(Path.Combine(dir, "model.safetensors"));
            AssertOneLine(RerankProcess.Run("", "score", "--model", dir), 2, "model.safetensors");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Truncated_safetensors()
    {
        var dir = CopyModel("tiny-a");
        try
        {
            var path = Path.Combine(dir, "model.safetensors");
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            AssertOneLine(RerankProcess.Run("", "score", "--model", dir), 3, "model.safetensors");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Wrong_tensor_shape()
    {
        var dir = CopyModel("tiny-a");
        try
        {
            // Claim more layers' worth of width than the checkpoint has: every weight then has the wrong shape.
            var config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"intermediate_size\": 37", "\"intermediate_size\": 40"));
            AssertOneLine(RerankProcess.Run("", "score", "--model", dir), 3, "intermediate.dense.weight");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Unsupported_architecture()
    {
        var dir = CopyModel("tiny-a");
        try
        {
            var config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("XLMRobertaForSequenceClassification", "LlamaForCausalLM"));
            AssertOneLine(RerankProcess.Run("", "score", "--model", dir), 3, "architectures");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Activation_model_for_a_declared_activation_the_engine_does_not_apply()
    {
        var dir = CopyModel("bert-a");
        try
        {
            var config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("torch.nn.modules.linear.Identity", "torch.nn.modules.activation.ReLU"));
            AssertOneLine(RerankProcess.Run("", "score", "--model", dir, "--activation", "model"), 3,
                "\"sbert_ce_default_activation_function\" is torch.nn.modules.activation.ReLU, an activation RerankSharp does not apply");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        var result = RerankProcess.Run("", "score", "--model", "/nonexistent/model-folder", "--verbose");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("   at ", result.Stderr);
    }

    // docs/cli.md's table of error classes: each row's command, run as written from a copy of the repository root (a
    // folder whose tests/ is the repository's), must exit with the row's code and print the row's line, "…" standing
    // for a machine-dependent path. The damaged models the table names are made here.
    [GeneratedRegex(@"<!-- errors -->\n(?<table>.*?)<!-- /errors -->", RegexOptions.Singleline)]
    private static partial Regex ErrorTable();

    [GeneratedRegex(@"^\| (?<class>[^|]+) \| (?<exit>\d+) \| `(?<command>(?:[^`\\]|\\.)+)` \| (?<line>``? .+? ``?|`[^`]+`) \|$", RegexOptions.Multiline)]
    private static partial Regex ErrorRow();

    public static TheoryData<string> ErrorClasses()
    {
        var classes = new TheoryData<string>();
        foreach (Match row in ErrorRow().Matches(ErrorTableText())) classes.Add(row.Groups["class"].Value);
        return classes;
    }

    private static string ErrorTableText()
    {
        var repo = Path.GetFullPath(Path.Combine(FixturePaths.Fixtures, "..", ".."));
        return ErrorTable().Match(File.ReadAllText(Path.Combine(repo, "docs", "cli.md"))).Groups["table"].Value;
    }

    [Fact]
    public void The_docs_table_of_errors_has_every_row_in_the_shape_the_test_reads()
    {
        var rows = ErrorTableText().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2).ToArray();
        Assert.NotEmpty(rows);
        Assert.All(rows, row => Assert.Matches(ErrorRow(), row));
    }

    [Theory]
    [MemberData(nameof(ErrorClasses))]
    public void Each_error_class_of_the_docs_prints_its_line_and_exit_code(string errorClass)
    {
        var row = ErrorRow().Matches(ErrorTableText()).Single(m => m.Groups["class"].Value == errorClass);
        var command = row.Groups["command"].Value.Replace("\\|", "|");
        var line = row.Groups["line"].Value.Trim('`', ' ').Replace("\\|", "|");
        var root = Directory.CreateTempSubdirectory("rerank-errors-").FullName;
        var broken = new List<string>();
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(root, "tests"), Path.GetFullPath(Path.Combine(FixturePaths.Fixtures, "..")));
            broken.Add(BrokenModels.WithNaN("tiny-a", "classifier.out_proj.bias"));
            Directory.CreateSymbolicLink(Path.Combine(root, "nan-model"), broken[^1]);
            broken.Add(CopyModel("tiny-a"));
            using (var cut = File.OpenWrite(Path.Combine(broken[^1], "model.safetensors"))) cut.SetLength(100_000);
            Directory.CreateSymbolicLink(Path.Combine(root, "cut-model"), broken[^1]);

            var result = RerankProcess.Bash(command, root);

            var pattern = "^" + string.Join(".+", line.Split('…').Select(Regex.Escape)) + "$";
            Assert.True(Regex.IsMatch(result.Stderr.Trim(), pattern, RegexOptions.Singleline),
                $"docs/cli.md says `{command}` prints\n{line}\nbut it printed\n{result.Stderr}");
            Assert.Equal(int.Parse(row.Groups["exit"].Value, System.Globalization.CultureInfo.InvariantCulture), result.ExitCode);
        }
        finally
        {
            Directory.Delete(root, true);
            foreach (var dir in broken) Directory.Delete(dir, true);
        }
    }
}
