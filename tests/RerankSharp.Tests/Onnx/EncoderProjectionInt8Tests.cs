using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tests.Models;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// One int8 projection as <see cref="EncoderProjection"/> builds it, run by ONNX Runtime, against a float64 model of the
/// recipe's quantization maths: the integer products are exact, so what is left is float32 accumulation.
/// </summary>
public class EncoderProjectionInt8Tests
{
    private const int M = 5, K = 64, N = 7;

    // Activations with an outlier channel (3) and an outlier token (row 4), as trained encoders have.
    private static readonly float[] X = Enumerable.Range(0, M * K)
        .Select(i => (i % K == 3 ? 25f : MathF.Cos(i * 0.37f)) * (i / K == 4 ? 6f : 1f)).ToArray();

    private static readonly float[] W = Enumerable.Range(0, N * K).Select(i => MathF.Sin(i * 0.61f) * 0.5f).ToArray();

    [Fact]
    public void Per_row_is_symmetric_int8_per_token_times_int8_per_output_column()
    {
        var y = Run("per-row", smoothing: null);

        var expected = PerRowReference(X, W);
        AssertClose(expected, y);
    }

    [Fact]
    public void Smoothing_divides_the_input_and_multiplies_the_quantized_weight_columns_by_the_same_factors()
    {
        var maxima = Enumerable.Range(0, K).Select(j => j == 3 ? 25f : 1f).ToArray();

        var y = Run("per-row", maxima);

        // s_j = √a_j / √w_j (α = 0.5); x / s as the graph computes it (x · (1/s) in float32), W · diag(s) quantized.
        var s = Enumerable.Range(0, K).Select(j =>
            (float)(Math.Sqrt(maxima[j]) / Math.Sqrt(Enumerable.Range(0, N).Max(n => Math.Abs(W[n * K + j]))))).ToArray();
        var xs = X.Select((v, i) => v * (1f / s[i % K])).ToArray();
        var ws = W.Select((v, i) => v * s[i % K]).ToArray();
        AssertClose(PerRowReference(xs, ws), y);
        // And it is a different computation from the unsmoothed one: the outlier channel no longer sets the row scale.
        Assert.True(PerRowReference(X, W).Zip(y, (a, b) => Math.Abs(a - b)).Max() > 1e-3);
    }

    private static double[] PerRowReference(float[] x, float[] w)
    {
        var (b, scale) = Int8WeightCache.Quantize(w, N, K);   // B [K, N], per output column
        var y = new double[M * N];
        for (var r = 0; r < M; r++)
        {
            var max = 0f;
            for (var k = 0; k < K; k++) max = Math.Max(max, Math.Abs(x[r * K + k]));
            var rowScale = Math.Max(max, 1e-30f) / 127f;
            for (var n = 0; n < N; n++)
            {
                long dot = 0;
                // ONNX Round: half to even; the graph divides by the row scale in float32.
                for (var k = 0; k < K; k++) dot += (long)MathF.Round(x[r * K + k] / rowScale, MidpointRounding.ToEven) * b[k * N + n];
                y[r * N + n] = dot * (double)rowScale * scale[n];
            }
        }
        return y;
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / (1 + Math.Abs(e))).Max();
        Assert.True(worst < 1e-5, $"relative |Δ| {worst}");
    }

    private static float[] Run(string recipeText, float[]? smoothing)
    {
        using var temp = new TempDirectory();
        var path = new SafetensorsBuilder().AddF32("m.weight", [N, K], W).WriteTo(temp);
        using var store = SafetensorsStore.Open([path]);
        var recipe = Int8Recipe.Parse(recipeText);
        Dictionary<string, float[]>? factors = null;
        string? fingerprint = null;
        if (smoothing is not null)
        {
            var stats = Path.Combine(temp.Path, "stats.json");
            File.WriteAllText(stats, System.Text.Json.JsonSerializer.Serialize(new { maxima = new Dictionary<string, float[]> { ["m"] = smoothing } }));
            var s = Int8Smoothing.Load(stats, 0.5);
            factors = s.FactorsFor(store, ["m.weight"]);
            fingerprint = s.Fingerprint;
        }
        var cache = Int8WeightCache.LoadOrCreate(temp.Path, store, ["m.weight"], null, factors, fingerprint);
        var g = new OnnxGraphBuilder("projection");
        var tensors = new CheckpointTensors(g, store, temp.Path, "");
        var projection = new EncoderProjection(g, tensors, Precision.Int8, recipe, cache, layerCount: 1) { SmoothingFactors = factors };
        var input = g.AddInput("x", DataType.Float, M, K);
        var output = projection.Project("m", input, 0, "output.dense");
        g.Node("Identity", "y", [output], "y");
        g.AddOutput("y", DataType.Float, M, N);
        var model = Path.Combine(temp.Path, "projection.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("test")));
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model);
        using var x = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(X, [M, K]);
        using var results = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), ["x"], [x], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
