using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class InfoCommandTests
{
    [Fact]
    public void Describes_architecture_sizes_and_dtypes_of_a_sharded_bf16_model()
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model("tiny-c"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("XLMRobertaForSequenceClassification", result.Stdout);
        Assert.Contains("BF16", result.Stdout);
        Assert.Contains("model-00002-of-00002.safetensors", result.Stdout);
        Assert.Contains("2 × 32", result.Stdout);
    }

    [Theory]
    [InlineData("bert-b", "BertForSequenceClassification, graph built from the safetensors")]
    [InlineData("qwen3-b", "Qwen3ForCausalLM, graph built from the safetensors")]
    public void Names_the_architecture_it_runs(string model, string runs)
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model(model));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("runs as", result.Stdout);
        Assert.Contains(runs, result.Stdout);
    }
}
