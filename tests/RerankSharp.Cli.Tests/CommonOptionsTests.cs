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

    [Fact]
    public void Activation_model_from_the_flag_or_the_environment_gives_the_logits_ms_marco_minilm_declares_and_raw_wins()
    {
        var bert = FixturePaths.Model("bert-a");

        var sigmoid = RerankProcess.Run(Input, "score", "--model", bert);
        var raw = RerankProcess.Run(Input, "score", "--model", bert, "--raw");
        var flag = RerankProcess.Run(Input, "score", "--model", bert, "--activation", "model");
        var env = RerankProcess.Run(Input, new Dictionary<string, string> { ["RERANK_ACTIVATION"] = "Model" }, "score", "--model", bert);
        var rawWins = RerankProcess.Run(Input, "score", "--model", bert, "--activation", "sigmoid", "--raw");

        Assert.True(flag.ExitCode == 0, flag.Stderr);
        Assert.Equal(Scores(raw), Scores(flag));
        Assert.Equal(Scores(raw), Scores(env));
        Assert.Equal(Scores(raw), Scores(rawWins));
        Assert.Equal(Scores(sigmoid), Scores(raw).Select(l => 1f / (1f + MathF.Exp(-l))), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Activation_none_gives_logits_and_the_rank_table_calls_them_so()
    {
        var none = RerankProcess.Run(null, "rank", "--model", Model, "--activation", "none", "-q", "what is a reranker?", "-d", "A cross-encoder.", "-d", "Bananas.");
        var json = RerankProcess.Run(null, "rank", "--model", Model, "--activation", "none", "--json", "-q", "what is a reranker?", "-d", "A cross-encoder.", "-d", "Bananas.");
        var raw = RerankProcess.Run(null, "rank", "--model", Model, "--raw", "--json", "-q", "what is a reranker?", "-d", "A cross-encoder.", "-d", "Bananas.");

        Assert.True(none.ExitCode == 0, none.Stderr);
        Assert.Contains("logit", none.Stdout);
        Assert.Equal(raw.Stdout, json.Stdout);
    }

    [Theory]
    [InlineData("--activation", "softmax")]
    [InlineData("RERANK_ACTIVATION", "1")]
    public void Unknown_activations_are_refused_before_loading_saying_what_to_use(string origin, string value)
    {
        var result = origin.StartsWith("--", StringComparison.Ordinal)
            ? RerankProcess.Run(Input, "score", "--model", Model, origin, value)
            : RerankProcess.Run(Input, new Dictionary<string, string> { [origin] = value }, "score", "--model", Model);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"{origin} {value} is not an activation; use sigmoid (the default), model", result.Stderr);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
