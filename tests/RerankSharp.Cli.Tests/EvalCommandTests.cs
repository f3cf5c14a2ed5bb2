using System.Text.Json.Nodes;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class EvalCommandTests
{
    private static readonly string Dataset = Path.Combine(FixturePaths.Fixtures, "beir-synthetic");
    private static readonly string Run = Path.Combine(Dataset, "bm25.run");

    // int8 caches its quantized weights beside the model, so the model is a copy (links followed: a fixture's
    // tokenizer files may be links into a shared folder).
    private static string CopyModel(string model = "tiny-a")
    {
        var dir = Directory.CreateTempSubdirectory("rerank-eval-model-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model(model)))
            File.Copy(new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    [Theory]
    [InlineData("tiny-a")]
    [InlineData("modernbert-b")]
    [InlineData("gte-a")]
    [InlineData("deberta-a")]
    [InlineData("jina-v3-a")]   // listwise: each query's candidates read together
    public void Eval_reports_before_and_after_per_precision_and_the_agreement_of_two_precisions_as_json(string model)
    {
        var result = RerankProcess.Run(null, "eval", "--model", CopyModel(model), "--dataset", Dataset, "--candidates", Run,
            "--top-k", "10", "--precision", "fp32,int8", "--compare", "fp32,int8", "--max-lengths", "128", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = JsonNode.Parse(result.Stdout)!;
        Assert.Equal(13, json["queries"]!.GetValue<int>());
        Assert.Equal(10, json["top_k"]!.GetValue<int>());
        // "Before" is the first-stage run as trec_eval scores it (tests/fixtures/beir-synthetic/trec_eval.tsv, "all").
        Assert.Equal(0.8599, json["before"]!["ndcg@10"]!.GetValue<double>(), 4);
        Assert.Equal(0.9231, json["before"]!["mrr@10"]!.GetValue<double>(), 4);
        var runs = json["runs"]!.AsArray();
        Assert.Equal(["fp32", "int8"], runs.Select(r => r!["precision"]!.GetValue<string>()));
        Assert.All(runs, r =>
        {
            Assert.Equal(128, r!["max_length"]!.GetValue<int>());
            Assert.Equal(13 * 10, r["pairs"]!.GetValue<int>());
            foreach (var metric in new[] { "ndcg@10", "mrr@10", "recall@10", "recall@100" })
                Assert.InRange(r[metric]!.GetValue<double>(), 0, 1);
            // Reranking only reorders the top 10, so the top 100 finds what the run found.
            Assert.Equal(json["before"]!["recall@100"]!.GetValue<double>(), r["recall@100"]!.GetValue<double>(), 12);
        });
        var compare = json["compare"]!.AsArray().Single()!;
        Assert.Equal("fp32", compare["a"]!.GetValue<string>());
        Assert.Equal("int8", compare["b"]!.GetValue<string>());
        Assert.InRange(compare["spearman_mean"]!.GetValue<double>(), compare["spearman_worst"]!.GetValue<double>(), 1);
        Assert.InRange(compare["kendall_mean"]!.GetValue<double>(), compare["kendall_worst"]!.GetValue<double>(), 1);
        Assert.InRange(compare["top1_agreement"]!.GetValue<double>(), 0, 1);
        Assert.InRange(compare["max_score_difference"]!.GetValue<double>(), 1e-9, 1);
    }

    [Fact]
    public void Eval_prints_a_table_and_chunks_long_documents_when_asked()
    {
        var result = RerankProcess.Run(null, "eval", "--model", FixturePaths.Model("tiny-a"), "--dataset", Dataset, "--candidates", Run,
            "--top-k", "5", "--max-lengths", "64,128", "--long-documents", "chunk", "--chunk-aggregation", "mean");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("candidates (before)", result.Stdout);
        Assert.Contains("0.8599", result.Stdout);
        Assert.Contains("fp32 · max_length 64", result.Stdout);
        Assert.Contains("fp32 · max_length 128", result.Stdout);
        Assert.Contains("chunk (stride window/4, mean)", result.Stdout);
    }

    [Theory]
    [InlineData("--precision", "fp64", "--precision fp64 is not a precision; use fp32")]
    [InlineData("--compare", "fp32", "--compare takes two different precisions")]
    [InlineData("--top-k", "0", "--top-k 0 must be at least 1")]
    [InlineData("--split", "dev", "dev.tsv does not exist")]
    public void Bad_arguments_fail_with_one_line_that_says_what_to_pass(string option, string value, string message)
    {
        var result = RerankProcess.Run(null, "eval", "--model", FixturePaths.Model("tiny-a"), "--dataset", Dataset, "--candidates", Run, option, value);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void Candidates_naming_documents_outside_the_corpus_are_refused()
    {
        var run = Path.Combine(Directory.CreateTempSubdirectory("rerank-eval-run-").FullName, "run.trec");
        File.WriteAllText(run, "q01 Q0 bread-0 1 2.0 r\nq01 Q0 no-such-doc 2 1.0 r\n");

        var result = RerankProcess.Run(null, "eval", "--model", FixturePaths.Model("tiny-a"), "--dataset", Dataset, "--candidates", run);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("no-such-doc", result.Stderr);
    }
}
