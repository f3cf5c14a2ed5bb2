using RerankSharp.Onnx;
using RerankSharp.Tests.Models;
using Xunit.Abstractions;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Tests.Onnx;

/// <summary>The q8_0 recipe: llama.cpp's block-wise int8 of weights and activations, run by ONNX Runtime's MatMulNBits.</summary>
public class Int8BlockTests(ITestOutputHelper output)
{
    [Fact]
    public void Block_codes_and_scales_stand_for_exactly_the_q8_0_rounded_weights()
    {
        // Two rows of 72: two full blocks and a tail of 8, so the last block is padded.
        const int rows = 2, k = 72;
        var w = Enumerable.Range(0, rows * k).Select(i => MathF.Sin(i * 0.37f) * (i % k < 64 ? 1f : 0.01f)).ToArray();

        var (codes, scales) = Int8WeightCache.QuantizeBlock32(w, rows, k);
        var rounded = Int8WeightCache.RoundBlock32(w, k);

        Assert.Equal(rows * 3 * 32, codes.Length);
        Assert.Equal(rows * 3, scales.Length);
        for (var r = 0; r < rows; r++)
            for (var i = 0; i < 3 * 32; i++)
            {
                var code = codes[r * 96 + i];
                if (i >= k) { Assert.Equal(128, code); continue; }   // padding stands for zero
                Assert.Equal(rounded[r * k + i], (code - 128) * scales[r * 3 + i / 32]);
            }
    }

    // MatMulNBits (bits 8, block 32, accuracy_level 4) against the maths it stands for, in float64: per token, per block
    // of 32 along K, a scale max|a| / 127 and codes round(a · 127 / max|a|) (to even, MLAS's vroundps), an integer dot
    // with the weight codes, times both scales. An outlier channel in the activations shows whether the activation
    // blocks are really per block: one scale for the row would move the other blocks' products by far more.
    [Fact]
    public void MatMulNBits_computes_q8_0_blocks_of_weights_and_activations()
    {
        const int m = 4, k = 72, n = 6;
        var w = Enumerable.Range(0, n * k).Select(i => MathF.Sin(i * 0.91f)).ToArray();
        var x = Enumerable.Range(0, m * k).Select(i => i % k == 5 ? 40f : MathF.Cos(i * 0.53f)).ToArray();
        using var temp = new TempDirectory();
        var path = new SafetensorsBuilder().AddF32("w", [n, k], w).WriteTo(temp);
        using var store = RerankSharp.Models.SafetensorsStore.Open([path]);
        var cache = Int8WeightCache.LoadOrCreate(temp.Path, store, ["w"], Int8Layout.Block32Int8);
        var g = new OnnxGraphBuilder("gemm");
        var input = g.AddInput("x", DataType.Float, m, k);
        var (b, s) = cache.BlockWeight(g, "w");
        g.Node("MatMulNBits", "y", [input, b, s], "y", domain: OnnxGraphBuilder.ContribDomain, attributes:
        [
            OnnxGraphBuilder.Int("K", k), OnnxGraphBuilder.Int("N", n), OnnxGraphBuilder.Int("bits", 8),
            OnnxGraphBuilder.Int("block_size", 32), OnnxGraphBuilder.Int("accuracy_level", 4),
        ]);
        g.AddOutput("y", DataType.Float, m, n);
        var model = Path.Combine(temp.Path, "gemm.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("test")));
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model);
        using var xValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(x, [m, k]);
        using var results = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), ["x"], [xValue], ["y"]);
        var y = results[0].GetTensorDataAsSpan<float>().ToArray();

        var (codes, scales) = Int8WeightCache.QuantizeBlock32(w, n, k);
        double worst = 0, worstWeightsOnly = 0;
        for (var r = 0; r < m; r++)
            for (var c = 0; c < n; c++)
            {
                double expected = 0, weightsOnly = 0;
                for (var blk = 0; blk < 3; blk++)
                {
                    int start = blk * 32, end = Math.Min(k, start + 32);
                    var max = 0f;
                    for (var i = start; i < end; i++) max = Math.Max(max, Math.Abs(x[r * k + i]));
                    var inverse = max > 0 ? 127f / max : 0f;
                    long dot = 0;
                    for (var i = start; i < end; i++)
                    {
                        var weightCode = codes[(c * 3 + blk) * 32 + i - start] - 128;
                        dot += (long)MathF.Round(x[r * k + i] * inverse, MidpointRounding.ToEven) * weightCode;
                        weightsOnly += (double)x[r * k + i] * weightCode * scales[c * 3 + blk];
                    }
                    expected += (double)dot * (max / 127f) * scales[c * 3 + blk];
                }
                worst = Math.Max(worst, Math.Abs(y[r * n + c] - expected) / (1 + Math.Abs(expected)));
                worstWeightsOnly = Math.Max(worstWeightsOnly, Math.Abs(y[r * n + c] - weightsOnly) / (1 + Math.Abs(weightsOnly)));
            }
        output.WriteLine($"relative |Δ| against q8_0 blocks of both: {worst:E2}; against q8_0 weights with float activations: {worstWeightsOnly:E2}");
        // float32 accumulation of 3 block products: ~1e-6 relative. A missed activation quantization shows as the
        // activation rounding error, ~1e-2 here (the outlier's block has a step of 40/127).
        Assert.True(worst < 1e-5, $"relative |Δ| {worst}");
        Assert.True(worstWeightsOnly > 100 * worst, "the activation rounding should be visible against float activations");
    }
}
