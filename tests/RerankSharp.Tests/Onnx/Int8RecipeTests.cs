using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Onnx;

public class Int8RecipeTests
{
    private static readonly (string, string)[] Pairs =
    [
        ("what is the capital of china", "beijing is the capital of china"),
        ("what is the capital of china", "the airport is in beijing"),
        ("panda", "the giant panda is a bear species endemic to china"),
        ("panda", "hi"),
    ];

    [Theory]
    [InlineData("per-tensor")]
    [InlineData("per-row;fp32=output.dense")]
    [InlineData("q8_0-weights;fp32-layers=0,-1")]
    [InlineData("q8_0;fp32=output.dense")]
    [InlineData("per-tensor;smooth=/models/act-maxima.json;smooth-alpha=0.8")]
    [InlineData("per-tensor;fp32=attention.output.dense,output.dense;fp32-layers=3")]
    public void A_recipe_reads_back_from_its_text(string text)
    {
        var recipe = Int8Recipe.Parse(text);

        Assert.Equal(text, recipe.ToString());
        Assert.Equal(recipe, Int8Recipe.Parse(recipe.ToString()));
    }

    [Theory]
    [InlineData("per-column", "'per-column' is not understood")]
    [InlineData("per-row;fp32=mlp", "unknown module 'mlp'")]
    [InlineData("fp32-layers=first", "layer 'first' is not a number")]
    [InlineData("per-tensor;smooth-alpha=2", "smooth-alpha '2' is not a number from 0 to 1")]
    public void A_wrong_recipe_names_the_part_it_does_not_understand(string text, string message)
    {
        var e = Assert.Throws<RerankException>(() => Int8Recipe.Parse(text));

        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Negative_layers_count_from_the_end()
    {
        var recipe = Int8Recipe.Parse("per-tensor;fp32-layers=0,-1;fp32=output.dense");

        Assert.True(recipe.KeepsFp32(0, 24, "attention.self.query"));
        Assert.True(recipe.KeepsFp32(23, 24, "intermediate.dense"));
        Assert.False(recipe.KeepsFp32(22, 24, "intermediate.dense"));
        Assert.True(recipe.KeepsFp32(22, 24, "output.dense"));
    }

    [Fact]
    public void Block32_rounding_is_q8_0_turned_back_into_float()
    {
        // One row of 40: a full block of 32 and a tail block of 8, each with its own scale.
        var w = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i) * (i < 32 ? 1f : 0.01f)).ToArray();

        var rounded = Int8WeightCache.RoundBlock32(w, inFeatures: 40);

        foreach (var (start, end) in new[] { (0, 32), (32, 40) })
        {
            var d = (float)(Half)(w[start..end].Max(Math.Abs) / 127f);
            for (var i = start; i < end; i++)
            {
                var q = rounded[i] / d;
                Assert.True(Math.Abs(q - MathF.Round(q)) < 1e-3, $"element {i} is not a multiple of its block's scale");
                Assert.True(Math.Abs(rounded[i] - w[i]) <= d / 2 * 1.001f, $"element {i}: {rounded[i]} vs {w[i]}");
            }
        }
    }

    [Fact]
    public async Task Keeping_every_layer_in_fp32_gives_exactly_the_fp32_scores()
    {
        var dir = FixturePaths.Model("tiny-a");
        var layers = ModelFolder.Open(dir).Config.NumHiddenLayers;
        using var fp32 = await CrossEncoder.LoadAsync(dir);
        using var int8 = await CrossEncoder.LoadAsync(dir, new CrossEncoderOptions
        {
            Precision = Precision.Int8,
            Int8Recipe = new Int8Recipe { Fp32Layers = Enumerable.Range(0, layers).ToList() },
        });

        Assert.Equal(fp32.Predict(Pairs, new RerankOptions { RawScores = true }), int8.Predict(Pairs, new RerankOptions { RawScores = true }));
    }

    [Theory]
    [InlineData("per-row", "MatMulInteger")]
    [InlineData("q8_0-weights", "FusedMatMul")]
    [InlineData("q8_0", "MatMulNBits")]
    [InlineData("per-tensor;fp32=output.dense", "DynamicQuantizeMatMul")]
    public async Task Each_recipe_runs_its_own_operators_and_stays_close_to_fp32(string text, string op)
    {
        // A private copy: the quantized weights are cached beside the model.
        var dir = Directory.CreateTempSubdirectory("rerank-int8-recipe-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model("tiny-b")))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        try
        {
            await RunsAndStaysClose(dir, text, op);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static async Task RunsAndStaysClose(string dir, string text, string op)
    {
        var folder = ModelFolder.Open(dir);
        using (var store = SafetensorsStore.Open(folder))
        {
            var graph = XlmRobertaGraph.Build(folder.Config, store, folder.WeightsDirectory, GraphForm.Fused, Precision.Int8, Int8Recipe.Parse(text)).Graph;
            Assert.Contains(graph.Node, n => n.OpType == op);
        }
        using var fp32 = await CrossEncoder.LoadAsync(dir);
        using var int8 = await CrossEncoder.LoadAsync(dir, new CrossEncoderOptions { Precision = Precision.Int8, Int8Recipe = Int8Recipe.Parse(text) });

        var reference = fp32.Predict(Pairs, new RerankOptions { RawScores = true });
        var quantized = int8.Predict(Pairs, new RerankOptions { RawScores = true });

        // A wrong layout, scale or zero point gives errors the size of the logits themselves.
        Assert.True(reference.Zip(quantized, (r, q) => Math.Abs(r - q)).Max() < 0.5, $"{string.Join(", ", reference)} vs {string.Join(", ", quantized)}");
        Assert.NotEqual(reference, quantized);
    }
}
