using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tests.Onnx;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder over folders that ship ONNX exports (onnx/model.onnx and variants) instead of, or beside, safetensors.
public partial class CrossEncoderTests
{
    private static readonly (string, string)[] OnnxPairs =
    [
        ("what is panda?", "The giant panda is a bear species endemic to China."), ("what is panda?", "hi"),
        ("中国的首都是哪里?", "北京是中国的政治中心和首都。"), ("query", string.Join(' ', Enumerable.Repeat("forest trees", 120))),
    ];

    [Theory]
    [InlineData("bert-a")]   // inputs input_ids, attention_mask, token_type_ids
    [InlineData("tiny-a")]   // inputs input_ids, attention_mask
    public async Task An_onnx_only_folder_scores_as_the_safetensors_folder_it_was_exported_from(string model)
    {
        using var temp = new TempDirectory();
        var onnxOnly = OnnxExport.OnnxOnlyFolder(model, temp.PathOf("exported"));
        using var fromWeights = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        using var fromOnnx = await CrossEncoder.LoadAsync(onnxOnly);

        var expected = await fromWeights.PredictAsync(OnnxPairs, new RerankOptions { RawScores = true });
        var actual = await fromOnnx.PredictAsync(OnnxPairs, new RerankOptions { RawScores = true });

        Assert.True(ModelFolder.Open(onnxOnly).IsOnnxOnly);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"pair {i}: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public async Task Onnx_file_picks_a_variant_and_int8_precision_prefers_the_quantized_export()
    {
        using var temp = new TempDirectory();
        var onnxOnly = OnnxExport.OnnxOnlyFolder("bert-a", temp.PathOf("exported"));
        using var fp32 = await CrossEncoder.LoadAsync(onnxOnly);
        using var chosen = await CrossEncoder.LoadAsync(onnxOnly, new CrossEncoderOptions { OnnxFile = "onnx/model_quantized.onnx" });
        using var byPrecision = await CrossEncoder.LoadAsync(onnxOnly, new CrossEncoderOptions { Precision = Precision.Int8 });

        var reference = await fp32.PredictAsync(OnnxPairs, new RerankOptions { RawScores = true });
        var quantized = await chosen.PredictAsync(OnnxPairs, new RerankOptions { RawScores = true });
        var preferred = await byPrecision.PredictAsync(OnnxPairs, new RerankOptions { RawScores = true });

        Assert.Equal(quantized, preferred);
        Assert.NotEqual(reference, quantized);
        Assert.All(quantized.Zip(reference), p => Assert.True(Math.Abs(p.First - p.Second) < 0.25, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public async Task A_safetensors_folder_runs_a_given_onnx_file_instead_of_its_built_graph()
    {
        using var temp = new TempDirectory();
        var exported = OnnxExport.OnnxOnlyFolder("bert-a", temp.PathOf("exported"));
        using var built = await CrossEncoder.LoadAsync(FixturePaths.Model("bert-a"));
        using var given = await CrossEncoder.LoadAsync(FixturePaths.Model("bert-a"),
            new CrossEncoderOptions { OnnxFile = Path.Combine(exported, "onnx", "model_quantized.onnx") });

        Assert.NotEqual(await built.PredictAsync(OnnxPairs), await given.PredictAsync(OnnxPairs));
    }

    [Fact]
    public async Task A_missing_onnx_file_is_reported_with_the_files_the_folder_has()
    {
        using var temp = new TempDirectory();
        var onnxOnly = OnnxExport.OnnxOnlyFolder("bert-b", temp.PathOf("exported"));

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(onnxOnly, new CrossEncoderOptions { OnnxFile = "onnx/model_O4.onnx" }));

        Assert.Equal(RerankErrorKind.ModelNotFound, e.Kind);
        Assert.Contains("onnx/model.onnx, onnx/model_quantized.onnx", e.Message);
    }

    [Fact]
    public async Task An_onnx_file_that_is_not_a_reranker_graph_is_refused_naming_its_inputs()
    {
        using var temp = new TempDirectory();
        var onnxOnly = OnnxExport.OnnxOnlyFolder("bert-b", temp.PathOf("exported"));
        var g = new OnnxGraphBuilder("not-a-reranker");
        var pixels = g.AddInput("pixel_values", RerankSharp.Onnx.Proto.TensorProto.Types.DataType.Float, "B", 3);
        g.Node("Identity", "logits", [pixels], "logits");
        g.AddOutput("logits", RerankSharp.Onnx.Proto.TensorProto.Types.DataType.Float, "B", 3);
        File.WriteAllBytes(Path.Combine(onnxOnly, "onnx", "model.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("test")));

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(onnxOnly));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("inputs [pixel_values]", e.Message);
    }

    [Fact]
    public void An_onnx_only_folder_summarizes_its_exports_without_weights()
    {
        using var temp = new TempDirectory();
        var folder = ModelFolder.Open(OnnxExport.OnnxOnlyFolder("bert-b", temp.PathOf("exported")));

        var summary = folder.Summarize();

        Assert.Equal(["onnx/model.onnx", "onnx/model_quantized.onnx"], folder.OnnxFiles);
        Assert.Equal(0, summary.TensorCount);
        Assert.Contains(summary.Files, f => f.Name == "onnx/model.onnx" && f.Bytes > 100_000);
    }
}
