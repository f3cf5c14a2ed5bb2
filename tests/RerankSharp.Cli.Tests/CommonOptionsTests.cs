using System.Text.Json.Nodes;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class CommonOptionsTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");
    private const string Input = """{"query": "what is a reranker?", "documents": ["A cross-encoder reads query and passage together.", "Bananas are yellow."]}""";

    private static float[] Scores(RerankProcess.Result result) =>
        JsonNode.Parse(result.StdoutLines.Single())!["scores"]!.AsArray().Select(s => s!.GetValue<float>()).ToArray();

    [Fact]
    public void Precision_fp16_from_the_flag_or_the_environment_scores_close_to_fp32_and_says_once_that_it_is_for_gpus()
    {
        var fp32 = RerankProcess.Run(Input, "score", "--model", Model);
        var flag = RerankProcess.Run(Input, "score", "--model", Model, "--precision", "fp16");
        var env = RerankProcess.Run(Input, new Dictionary<string, string> { ["RERANK_PRECISION"] = "FP16" }, "score", "--model", Model);

        Assert.True(flag.ExitCode == 0, flag.Stderr);
        Assert.Equal(Scores(flag), Scores(env));
        // Sigmoid scores of tiny-a: fp16 weights move the logits by ≤ 7.5e-3 (XlmRobertaGraphFloat16Tests), scores by less.
        Assert.All(Scores(fp32).Zip(Scores(flag)), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 5e-3));
        Assert.NotEqual(Scores(fp32), Scores(flag));
        var warning = Assert.Single(flag.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: fp16 runs natively on the CUDA provider only", warning);
    }

    [Fact]
    public void Precision_int8_scores_close_to_fp32_with_quantized_weights()
    {
        var fp32 = RerankProcess.Run(Input, "score", "--model", Model);
        var int8 = RerankProcess.Run(Input, "score", "--model", Model, "--precision", "int8");

        Assert.True(int8.ExitCode == 0, int8.Stderr);
        Assert.NotEqual(Scores(fp32), Scores(int8));
        // tiny-a's int8 logits move by up to ~0.6 (Int8WeightCacheTests); sigmoid scores by at most a quarter of that.
        Assert.All(Scores(fp32).Zip(Scores(int8)), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 0.2));
    }

    [Theory]
    [InlineData("int4")]
    [InlineData("bf16")]
    public void Unknown_precisions_are_refused_before_loading(string value)
    {
        var result = RerankProcess.Run(Input, "score", "--model", Model, "--precision", value);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"--precision {value} is not a precision; use fp32", result.Stderr);
    }
}
