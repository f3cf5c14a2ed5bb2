using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// The GTE "new" graph (NewForSequenceClassification) against the float64 reference of new-impl's forward
/// (tools/model/gte.py): every logit of every golden batch. gte-a (F32, rope theta 20000 with NTK scaling × 8, as
/// gte-multilingual-reranker-base) and gte-b (F16, no rope_scaling, theta 10000) both have padded batches of mixed
/// lengths up to their max length, so the flash and the masked attention both run. fp16 (the fused form in float16,
/// for CUDA) is held to the float16 budget.
/// </summary>
public class GteGraphTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;   // relative to max(1, |logit|), DESIGN.md §7

    private const double Float16Budget = 2e-2;   // XlmRobertaGraphFloat16Tests' budget

    public static TheoryData<string, GraphForm, Precision> Graphs() => new()
    {
        { "gte-a", GraphForm.Fused, Precision.Fp32 }, { "gte-a", GraphForm.Plain, Precision.Fp32 }, { "gte-a", GraphForm.Fused, Precision.Fp16 },
        { "gte-b", GraphForm.Fused, Precision.Fp32 }, { "gte-b", GraphForm.Plain, Precision.Fp32 }, { "gte-b", GraphForm.Fused, Precision.Fp16 },
    };

    private static (ModelFolder Folder, GteConfig Gte, SafetensorsStore Store) Open(string model, string? directory = null)
    {
        var folder = ModelFolder.Open(directory ?? FixturePaths.Model(model));
        return (folder, GteConfig.Load(folder.ConfigPath), SafetensorsStore.Open(folder));
    }

    internal static EncoderSession CreateSession(string model, GraphForm form, Precision precision = Precision.Fp32, string? directory = null)
    {
        var folder = ModelFolder.Open(directory ?? FixturePaths.Model(model));
        var gte = GteConfig.Load(folder.ConfigPath);
        return GraphSessions.Create(folder, GteGraph.ExpectedTensors(folder.Config, gte),
            store => GteGraph.Build(folder.Config, gte, store, folder.Directory, form, precision));
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Logits_match_the_float64_reference(string model, GraphForm form, Precision precision)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model, form, precision);
        Assert.False(session.TakesTokenTypeIds);

        golden.AssertMatches(session, precision == Precision.Fp16 ? Float16Budget : Tolerance, output.WriteLine, $"{model} {form} {precision}");
    }

    [Theory]
    [InlineData("gte-a")]
    [InlineData("gte-b")]
    public void A_sequence_scores_the_same_alone_and_at_any_position_of_a_padded_batch(string model)
    {
        using var session = CreateSession(model, GraphForm.Fused);
        // Alone a row runs the flash kernel, padded the masked one (as in XlmRobertaGraphTests).
        GoldenLogits.Load(FixturePaths.Model(model)).AssertBatchInvariant(session, 5e-5, output.WriteLine, model);
    }

    [Fact]
    public void The_rotary_frequencies_are_ntk_scaled_as_new_impl_scales_them()
    {
        var scaled = GteConfig.Load(Path.Combine(FixturePaths.Model("gte-a"), "config.json"));
        var plain = GteConfig.Load(Path.Combine(FixturePaths.Model("gte-b"), "config.json"));

        // NTKScalingRotaryEmbedding: base theta·f, then inv_freq / f^(2/D); D = 6, theta 20000, f = 8.
        Assert.Equal([0.5, Math.Pow(160_000, -1.0 / 3) / 2, Math.Pow(160_000, -2.0 / 3) / 2], GteGraph.InverseFrequencies(6, scaled), new ToleranceComparer(1e-15));
        Assert.Equal(RotaryEmbedding.InverseFrequencies(10, 10_000), GteGraph.InverseFrequencies(10, plain));
        Assert.True(scaled.NtkScaled);
        Assert.False(plain.NtkScaled);
    }

    [Fact]
    public void Initializers_are_the_checkpoint_tensors_read_as_row_ranges_of_the_merged_projections()
    {
        var (folder, gte, store) = Open("gte-a");
        using var _ = store;
        var graph = GteGraph.Build(folder.Config, gte, store, folder.Directory, GraphForm.Fused).Graph;

        var initializers = graph.Initializer.Where(t => t.DataLocation == RerankSharp.Onnx.Proto.TensorProto.Types.DataLocation.External).ToList();
        var external = initializers.Select(t => t.Name.Split('[')[0]).Distinct().ToList();
        Assert.Equal(GteGraph.ExpectedTensors(folder.Config, gte).Select(t => t.Name).Order(), external.Order());
        Assert.Equal(store.Tensors.Keys.Order(), external.Order());   // every tensor of the checkpoint is read
        Assert.Contains(initializers, t => t.Name == "new.encoder.layer.0.attention.qkv_proj.weight[24:36]");      // v of q‖k‖v, H = 12
        Assert.Contains(initializers, t => t.Name == "new.encoder.layer.2.mlp.up_gate_proj.weight[20:40]");        // gate of up‖gate, I = 20
        Assert.DoesNotContain(external, n => n.StartsWith("new.encoder.layer.0.mlp.up_gate_proj.bias", StringComparison.Ordinal));
        // Post-LN: each residual goes through a SkipLayerNormalization named after its norm.
        Assert.Contains(graph.Node, n => n.OpType == "SkipLayerNormalization" && n.Name == "new.encoder.layer.1.attn_ln");
        Assert.Contains(graph.Node, n => n.OpType == "SkipLayerNormalization" && n.Name == "new.encoder.layer.1.mlp_ln");
        Assert.Equal(2 * 3, graph.Node.Count(n => n.OpType == "RotaryEmbedding"));
        Assert.DoesNotContain(graph.Input, i => i.Name == "token_type_ids");
    }

    [Fact]
    public void The_gate_half_goes_through_the_activation()
    {
        var (folder, gte, store) = Open("gte-b");
        using var _ = store;
        var graph = GteGraph.Build(folder.Config, gte, store, folder.Directory, GraphForm.Plain).Graph;

        // Plain form: one product split into up and gate; the second output is activated, the first multiplies it.
        var split = graph.Node.Single(n => n.Name == "new.encoder.layer.0.mlp.up_gate_proj/split");
        var gated = graph.Node.Single(n => n.Name == "new.encoder.layer.0.mlp.up_gate_proj/gated");
        Assert.Equal(split.Output[0], gated.Input[1]);
        var activation = graph.Node.Single(n => n.Output.Contains(gated.Input[0]));
        Assert.StartsWith("new.encoder.layer.0.mlp.act_fn", activation.Name, StringComparison.Ordinal);
        Assert.Contains(graph.Node, n => n.Name.StartsWith("new.encoder.layer.0.mlp.act_fn", StringComparison.Ordinal) && n.Input.Contains(split.Output[1]));
    }

    // gte-a is 12 wide: rounding its weights alone to int8 (the q8_0-weights recipe) already moves its text-pair logits
    // by up to 0.24, per-tensor activations by 0.70 (measured); a wrong layout, scale or zero point moves them by the
    // size of the logits themselves (-2.9 … 1.9).
    [Theory]
    [InlineData("gte-a", 1.0)]
    [InlineData("gte-b", 0.5)]
    public void Int8_scores_stay_near_fp32(string model, double budget) =>
        GoldenLogits.AssertInt8Drift(model, budget, directory => CreateSession(model, GraphForm.Fused, Precision.Int8, directory), output.WriteLine);

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(y));

        public int GetHashCode(double obj) => 0;
    }
}
