using System.Text.Json.Nodes;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Onnx;

public class Int8WeightCacheTests(ITestOutputHelper output)
{
    private static string CopyModel(string name)
    {
        var dir = Directory.CreateTempSubdirectory("rerank-int8-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model(name)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    [Fact]
    public void Quantizes_each_output_column_symmetrically_into_an_in_by_out_layout()
    {
        // W [out=2, in=3]
        float[] w = [0.5f, -1.0f, 0.25f, 0f, 0f, 0f];

        var (b, scale) = Int8WeightCache.Quantize(w, outFeatures: 2, inFeatures: 3);

        Assert.Equal([1f / 127, 1f], scale);                 // an all-zero column keeps scale 1, not 0
        Assert.Equal(new sbyte[] { 64, 0, -127, 0, 32, 0 }, b); // B [in=3, out=2]: column 0 is W's row 0
        for (var k = 0; k < 3; k++)
            Assert.True(Math.Abs(b[k * 2] * scale[0] - w[k]) <= scale[0] / 2);
    }

    // The case that saturates MLAS's u8 × s8 kernel on x86 without VNNI (vpmaddubsw adds two u8·s8 products into an
    // int16): activations quantized near 255 against weights of ±127 in neighbouring k. The unsigned layout must be exact
    // to the quantization step everywhere; the signed one only where this CPU's kernel accumulates in int32.
    [Theory]
    [InlineData(nameof(Int8Layout.PerColumnUnsigned))]
    [InlineData(nameof(Int8Layout.PerColumn))]
    public void An_integer_gemm_over_the_cached_weights_matches_the_float_product(string layoutName)
    {
        var layout = Enum.Parse<Int8Layout>(layoutName);
        if (layout != Int8Layout.PerColumnUnsigned && Int8WeightCache.IntegerLayoutForThisCpu != layout)
        {
            output.WriteLine($"{layout} is not this CPU's layout ({Int8WeightCache.IntegerLayoutForThisCpu}); only the unsigned one is checked");
            return;
        }
        const int m = 3, k = 64, n = 8;
        var w = new float[n * k];
        for (var i = 0; i < w.Length; i++) w[i] = (i / k) switch { 0 => 1f, 1 => -1f, _ => MathF.Sin(i) };   // rows 0, 1: all ±max
        var x = new float[m * k];
        for (var i = 0; i < x.Length; i++) x[i] = i % k == 0 ? -0.01f : 2f + 0.001f * (i % 7);                 // mostly near the top of u8
        using var temp = new RerankSharp.Tests.Models.TempDirectory();
        var dir = temp.Path;
        {
            var path = new RerankSharp.Tests.Models.SafetensorsBuilder().AddF32("w", [n, k], w).WriteTo(temp);
            using var store = RerankSharp.Models.SafetensorsStore.Open([path]);
            var cache = Int8WeightCache.LoadOrCreate(dir, store, ["w"], layout);
            var g = new OnnxGraphBuilder("gemm");
            var input = g.AddInput("x", RerankSharp.Onnx.Proto.TensorProto.Types.DataType.Float, m, k);
            var (b, scale, zeroPoint) = cache.IntegerWeight(g, "w");
            g.Node("DynamicQuantizeMatMul", "y", zeroPoint is null ? [input, b, scale] : [input, b, scale, zeroPoint], "y", domain: OnnxGraphBuilder.ContribDomain);
            g.AddOutput("y", RerankSharp.Onnx.Proto.TensorProto.Types.DataType.Float, m, n);
            var model = Path.Combine(dir, "gemm.onnx");
            File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("test")));

            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model);
            using var xValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(x, [m, k]);
            using var results = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), ["x"], [xValue], ["y"]);
            var y = results[0].GetTensorDataAsSpan<float>().ToArray();

            double worst = 0;
            for (var r = 0; r < m; r++)
                for (var c = 0; c < n; c++)
                {
                    double exact = 0;
                    for (var i = 0; i < k; i++) exact += x[r * k + i] * w[c * k + i];
                    worst = Math.Max(worst, Math.Abs(y[r * n + c] - exact));
                }
            output.WriteLine($"{layout}: max |Δ| {worst:E2} against |y| up to {y.Max(Math.Abs):F1}");
            // Quantization alone: k terms of |x| ≤ 2 off by ≤ half a weight step (1/254) plus |w| ≤ 1 off by half an
            // activation step (2/255): under 0.6 for k = 64. Saturation loses products of ~2 each, hundreds in all.
            Assert.True(worst < 0.6, $"max |Δ| {worst}");
        }
    }

    [Fact]
    public async Task Int8_scores_stay_close_to_fp32_and_keep_the_ranking()
    {
        var dir = CopyModel("tiny-a");
        try
        {
            var pairs = JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Fixtures, "text_pairs.json")))!.AsArray()
                .Select(p => (p!["query"]!.GetValue<string>(), p["document"]!.GetValue<string>())).ToArray();
            using var fp32 = await CrossEncoder.LoadAsync(dir);
            using var int8 = await CrossEncoder.LoadAsync(dir, new CrossEncoderOptions { Precision = Precision.Int8 });

            var reference = await fp32.PredictAsync(pairs, new RerankOptions { RawScores = true });
            var quantized = await int8.PredictAsync(pairs, new RerankOptions { RawScores = true });

            var worst = reference.Zip(quantized, (r, q) => Math.Abs(r - q)).Max();
            output.WriteLine($"tiny-a int8 vs fp32: max |Δ logit| {worst:F4} over {pairs.Length} pairs (logits {reference.Min():F2} … {reference.Max():F2})");
            // Per-tensor dynamic activation quantization costs ~0.6 here (docs/benchmarks.md); a wrong weight
            // layout or scale gives errors of the size of the logits themselves.
            Assert.True(worst < 1.0, $"max |Δ logit| {worst}");
            // Pairs 3–5 share a query: the order of their documents must survive quantization.
            Assert.Equal(Order(reference[3..6]), Order(quantized[3..6]));
            Assert.NotEqual(reference, quantized);   // it really ran int8
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task The_quantized_weights_are_made_once_and_reused_until_the_checkpoint_changes()
    {
        var dir = CopyModel("tiny-a");
        try
        {
            var options = new CrossEncoderOptions { Precision = Precision.Int8 };
            float first;
            using (var encoder = await CrossEncoder.LoadAsync(dir, options)) first = encoder.Predict([("q", "d")])[0];
            var cache = Directory.GetFiles(Path.Combine(dir, Int8WeightCache.FolderName), "*.bin").Single();
            var written = File.GetLastWriteTimeUtc(cache);

            using (var encoder = await CrossEncoder.LoadAsync(dir, options)) Assert.Equal(first, encoder.Predict([("q", "d")])[0]);
            Assert.Equal(written, File.GetLastWriteTimeUtc(cache));

            File.SetLastWriteTimeUtc(Path.Combine(dir, "model.safetensors"), DateTime.UtcNow.AddMinutes(1));
            using (var encoder = await CrossEncoder.LoadAsync(dir, options)) encoder.Predict([("q", "d")]);
            Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, Int8WeightCache.FolderName), "*.bin").Length);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Int8_with_the_plain_graph_is_refused()
    {
        var error = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"),
            new CrossEncoderOptions { Precision = Precision.Int8, GraphForm = GraphForm.Plain }));
        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
    }

    private static int[] Order(float[] scores) => Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
}
