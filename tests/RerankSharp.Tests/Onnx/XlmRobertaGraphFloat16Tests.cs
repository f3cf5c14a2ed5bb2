using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using Xunit.Abstractions;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// The fp16 graph (what the CUDA provider runs) on ONNX Runtime's CPU provider, against the float64 reference.
/// </summary>
/// <remarks>
/// What the CPU provider verifies and what it cannot: ORT's CPU provider (1.31, 1.32) has no float16 kernels for FusedMatMul,
/// MultiHeadAttention, BiasGelu or Add, so at session start it inserts float32 casts around them and then drops the
/// graph's own fp32→fp16→fp32 activation casts as redundant. The weights are still rounded to float16 — constant
/// folding turns each weight's Cast into a float16-rounded constant before that — so this run checks the graph
/// (ORT's type inference accepted every float16 node, contrib schemas included), the float16 rounding of every weight
/// the GPU reads, and the float32 LayerNorms, residual stream and head. The float16 arithmetic of the activations
/// (CUDA's kernels) is not exercised here; docs/deploy.md says so.
/// </remarks>
public class XlmRobertaGraphFloat16Tests(ITestOutputHelper output)
{
    // Float16 keeps 11 significant bits (relative rounding ≤ 2⁻¹¹ ≈ 4.9e-4 per weight). Through 2–3 post-LN layers of
    // random weights onto logits up to |5.5| that measured at most 7.5e-3 relative to max(1, |logit|) (tiny-a, an F32
    // checkpoint; tiny-b and tiny-c are stored in F16 and BF16, which float16 holds almost exactly: ~2e-5, the fp32
    // figure). 2e-2 is the stated budget, 2.7× the worst measured.
    private const double Tolerance = 2e-2;

    [Theory]
    [InlineData("tiny-a")]
    [InlineData("tiny-b")]
    [InlineData("tiny-c")]
    public void Logits_match_the_float64_reference_within_the_float16_budget(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model, Precision.Fp16);

        var result = golden.Compare(session, Tolerance);

        output.WriteLine($"{model} fp16 on {session.ExecutionProvider}: {result} vs {golden.Generator} (budget {Tolerance:E0})");
        Assert.True(result.Mismatches == 0, result.Failure);
    }

    [Fact]
    public void The_weights_really_are_rounded_to_float16_on_an_fp32_checkpoint()
    {
        // tiny-a stores F32: had the float16 casts been dropped with the weights left at full precision, fp16 would give
        // the fp32 logits bit for bit (as on tiny-b, whose F16 weights round to themselves).
        var golden = GoldenLogits.Load(FixturePaths.Model("tiny-a"));
        using var fp16 = CreateSession("tiny-a", Precision.Fp16);
        using var fp32 = CreateSession("tiny-a", Precision.Fp32);

        var largest = golden.Cases.Max(c =>
        {
            var a = fp16.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
            var b = fp32.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
            return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        });

        output.WriteLine($"tiny-a: max |fp16 − fp32| {largest:E2}");
        Assert.True(largest > 1e-4, $"fp16 and fp32 logits differ by at most {largest:E2}");
    }

    [Fact]
    public void Matrices_attention_and_embeddings_are_float16_and_layer_norms_residuals_and_head_float32()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("tiny-a"));
        using var store = SafetensorsStore.Open(folder);
        var model = XlmRobertaGraph.Build(folder.Config, store, folder.Directory, GraphForm.Fused, Precision.Fp16);
        var graph = model.Graph;
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        bool IsFloat16Cast(string value) => producers.TryGetValue(value, out var n) && n.OpType == "Cast" && n.Attribute.Single(a => a.Name == "to").I == (long)DataType.Float16;
        bool IsFloat32Cast(string value) => producers.TryGetValue(value, out var n) && n.OpType == "Cast" && n.Attribute.Single(a => a.Name == "to").I == (long)DataType.Float;

        // Every projection reads a float16 activation and a float16 view of its checkpoint matrix.
        var projections = graph.Node.Where(n => n.OpType == "FusedMatMul").ToList();
        Assert.Equal(6 * folder.Config.NumHiddenLayers, projections.Count);
        Assert.All(projections, n => Assert.True(IsFloat16Cast(n.Input[1]) && producers[n.Input[1]].Input[0] == $"{n.Name}.weight", n.Name));
        Assert.All(graph.Node.Where(n => n.OpType == "Gather" && n.Name.EndsWith("_embeddings", StringComparison.Ordinal)),
            n => Assert.True(IsFloat16Cast(n.Input[0]), n.Name));
        // Every LayerNorm takes float32: the projection's result cast back, the float32 residual, float32 parameters.
        var layerNorms = graph.Node.Where(n => n.OpType is "SkipLayerNormalization" or "LayerNormalization").ToList();
        Assert.Equal(2 * folder.Config.NumHiddenLayers + 1, layerNorms.Count);
        Assert.All(layerNorms, n =>
        {
            Assert.True(IsFloat32Cast(n.Input[0]), n.Name);
            Assert.All(n.Input.Skip(1), input => Assert.False(producers.ContainsKey(input) && IsFloat16Cast(input), $"{n.Name} reads {input}"));
        });
        // The head reads the checkpoint's float32 tensors directly.
        Assert.All(graph.Node.Where(n => n.Name.StartsWith("classifier.", StringComparison.Ordinal)),
            n => Assert.Equal([$"{n.Name}.weight", $"{n.Name}.bias"], n.Input.Skip(1)));
        Assert.Equal("Fp16", model.MetadataProps.Single(p => p.Key == "precision").Value);
    }

    [Fact]
    public void The_plain_form_refuses_fp16_naming_the_fused_form()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("tiny-a"));
        using var store = SafetensorsStore.Open(folder);

        var error = Assert.Throws<RerankException>(() => XlmRobertaGraph.Build(folder.Config, store, folder.Directory, GraphForm.Plain, Precision.Fp16));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains("fused graph form", error.Message);
    }

    private static EncoderSession CreateSession(string model, Precision precision)
    {
        var folder = ModelFolder.Open(FixturePaths.Model(model));
        byte[] graph;
        using (var store = SafetensorsStore.Open(folder))
            graph = XlmRobertaGraph.Build(folder.Config, store, folder.Directory, GraphForm.Fused, precision).ToByteArray();
        // ORT_ENABLE_ALL as CrossEncoder loads it: constant folding is what turns each weight's Cast into float16 values.
        return EncoderSession.Create(graph, folder.Directory, folder.Config.NumLabels,
            new SessionSettings(Device.Cpu, 2, GraphOptimizationLevel.ORT_ENABLE_ALL), NullLogger.Instance);
    }
}
