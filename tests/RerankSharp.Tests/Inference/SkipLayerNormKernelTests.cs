using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using Xunit.Abstractions;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Tests.Inference;

/// <summary>
/// ai.rerank.SkipLayerNormalization, run by ONNX Runtime through the custom-operator domain, against a float64 LayerNorm
/// of the same float32 inputs, and beside ONNX Runtime's contrib operator of the same signature.
/// </summary>
public class SkipLayerNormKernelTests(ITestOutputHelper output)
{
    private const float Epsilon = 1e-5f;

    // One node whose five inputs are graph inputs, so a test can feed any shapes.
    private static InferenceSession Session(string domain)
    {
        var g = new OnnxGraphBuilder("skip_layer_norm");
        var inputs = new[] { "input", "skip", "gamma", "beta", "bias" };
        g.AddInput("input", DataType.Float, "R", "H");
        g.AddInput("skip", DataType.Float, "R", "H");
        foreach (var name in inputs[2..]) g.AddInput(name, DataType.Float, "H");
        g.Node("SkipLayerNormalization", "norm", inputs, "output", attributes: [OnnxGraphBuilder.Float("epsilon", Epsilon)], domain: domain);
        g.AddOutput("output", DataType.Float, "R", "H");
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        RerankKernels.Register(options);
        return new InferenceSession(g.ToModel("test").ToByteArray(), options);
    }

    private static float[] Run(InferenceSession session, int rows, int hidden, float[] x, float[] skip, float[] gamma, float[] beta, float[] bias)
    {
        OrtValue[] values =
        [
            OrtValue.CreateTensorValueFromMemory(x, [rows, hidden]),
            OrtValue.CreateTensorValueFromMemory(skip, [rows, hidden]),
            OrtValue.CreateTensorValueFromMemory(gamma, [gamma.Length]),
            OrtValue.CreateTensorValueFromMemory(beta, [beta.Length]),
            OrtValue.CreateTensorValueFromMemory(bias, [bias.Length]),
        ];
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, ["input", "skip", "gamma", "beta", "bias"], values, ["output"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    private static double[] Reference(int rows, int hidden, float[] x, float[] skip, float[] gamma, float[] beta, float[] bias)
    {
        var y = new double[rows * hidden];
        for (var r = 0; r < rows; r++)
        {
            var s = Enumerable.Range(0, hidden).Select(i => (double)x[r * hidden + i] + skip[r * hidden + i] + bias[i]).ToArray();
            var mean = s.Average();
            var variance = s.Select(v => (v - mean) * (v - mean)).Average();
            for (var i = 0; i < hidden; i++)
                y[r * hidden + i] = (s[i] - mean) / Math.Sqrt(variance + Epsilon) * gamma[i] + beta[i];
        }
        return y;
    }

    private static float[] Random(Random random, int count, double scale, double offset = 0) =>
        Enumerable.Range(0, count).Select(_ => (float)(offset + scale * (random.NextDouble() * 2 - 1))).ToArray();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]      // shorter than any vector
    [InlineData(33, 32)]    // tiny-a's hidden size; rows spread over several tasks
    [InlineData(5, 37)]     // a vector body and a tail
    [InlineData(17, 48)]    // tiny-b
    [InlineData(40, 1024)]  // bge-reranker-v2-m3
    public void Normalizes_like_a_float64_layer_norm_at_any_width(int rows, int hidden)
    {
        var random = new Random(rows * 1000 + hidden);
        float[] x = Random(random, rows * hidden, 3), skip = Random(random, rows * hidden, 1),
            gamma = Random(random, hidden, 0.1, 1), beta = Random(random, hidden, 0.1), bias = Random(random, hidden, 0.5);
        var reference = Reference(rows, hidden, x, skip, gamma, beta, bias);
        using var ours = Session(OnnxGraphBuilder.KernelDomain);
        using var contrib = Session(OnnxGraphBuilder.ContribDomain);

        var ourError = MaxError(Run(ours, rows, hidden, x, skip, gamma, beta, bias), reference);
        var contribError = MaxError(Run(contrib, rows, hidden, x, skip, gamma, beta, bias), reference);

        output.WriteLine($"{rows} × {hidden}: max |Δ| vs float64: ours {ourError:E2}, ONNX Runtime's contrib op {contribError:E2}");
        Assert.True(ourError < 5e-6, $"max |Δ| {ourError:E2}");
    }

    // ONNX Runtime's contrib kernel takes the variance as E[x²] − mean², which loses a row whose mean is large against its
    // spread; the two-pass variance keeps it.
    [Fact]
    public void A_row_far_from_zero_keeps_its_spread()
    {
        const int rows = 4, hidden = 1024;
        var random = new Random(7);
        float[] x = Random(random, rows * hidden, 0.05, 300), skip = new float[rows * hidden],
            gamma = Enumerable.Repeat(1f, hidden).ToArray(), beta = new float[hidden], bias = new float[hidden];
        var reference = Reference(rows, hidden, x, skip, gamma, beta, bias);
        using var ours = Session(OnnxGraphBuilder.KernelDomain);
        using var contrib = Session(OnnxGraphBuilder.ContribDomain);

        var ourError = MaxError(Run(ours, rows, hidden, x, skip, gamma, beta, bias), reference);
        var contribError = MaxError(Run(contrib, rows, hidden, x, skip, gamma, beta, bias), reference);

        output.WriteLine($"mean 300, spread ±0.05: max |Δ| ours {ourError:E2}, ONNX Runtime's contrib op {contribError:E2}");
        Assert.True(ourError < 2e-2, $"max |Δ| {ourError:E2} on outputs of magnitude ~1.7");
        Assert.True(ourError < contribError, $"ours {ourError:E2} should beat the one-pass variance's {contribError:E2}");
    }

    [Fact]
    public void A_gamma_of_the_wrong_length_fails_the_run_with_a_message_not_the_process()
    {
        const int rows = 2, hidden = 8;
        using var ours = Session(OnnxGraphBuilder.KernelDomain);

        var error = Assert.Throws<OnnxRuntimeException>(() =>
            Run(ours, rows, hidden, new float[rows * hidden], new float[rows * hidden], new float[hidden - 1], new float[hidden], new float[hidden]));

        Assert.Contains("SkipLayerNormalization", error.Message, StringComparison.Ordinal);
        Assert.Contains("gamma has shape [7]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, 4)]     // tiny-a: 2 layers × (attention output + FFN output)
    [InlineData(false, 0)]
    public void The_fused_graph_names_the_kernel_domain_only_when_asked(bool ownKernels, int expected)
    {
        var folder = ModelFolder.Open(FixturePaths.Model("tiny-a"));
        using var store = SafetensorsStore.Open(folder);

        var model = XlmRobertaGraph.Build(folder.Config, store, folder.Directory, GraphForm.Fused, ownKernels: ownKernels);
        var plain = XlmRobertaGraph.Build(folder.Config, store, folder.Directory, GraphForm.Plain, ownKernels: ownKernels);

        Assert.Equal(expected, model.Graph.Node.Count(n => n.Domain == OnnxGraphBuilder.KernelDomain));
        Assert.Equal(ownKernels, model.OpsetImport.Any(o => o.Domain == OnnxGraphBuilder.KernelDomain));
        Assert.DoesNotContain(plain.Graph.Node, n => n.Domain == OnnxGraphBuilder.KernelDomain);
        Assert.DoesNotContain(plain.OpsetImport, o => o.Domain == OnnxGraphBuilder.KernelDomain);
    }

    private static double MaxError(float[] actual, double[] expected) =>
        actual.Select((v, i) => Math.Abs(v - expected[i])).Max();
}
