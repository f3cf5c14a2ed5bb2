using System.Text.Json.Nodes;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// The DeBERTa-v2/v3 graph (DebertaV2ForSequenceClassification) against the float64 reference of transformers' forward
/// (tools/model/deberta.py): every logit of every golden batch. deberta-a (F32; DeBERTa-v3's attention: shared keys,
/// LayerNorm'd relative embeddings, 8 log buckets over 160 positions) and deberta-b (F16; pos_key_proj, c2p only, distances
/// clipped at 24, absolute positions, token types, embed_proj, tanh pooler) both have padded batches of mixed lengths up
/// to their max length, so the flash and the masked attention both run. fp16 is held to the float16 budget.
/// </summary>
public class DebertaV2GraphTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;   // relative to max(1, |logit|), DESIGN.md §7

    private const double Float16Budget = 2e-2;   // XlmRobertaGraphFloat16Tests' budget

    public static TheoryData<string, GraphForm, Precision> Graphs() => new()
    {
        { "deberta-a", GraphForm.Fused, Precision.Fp32 }, { "deberta-a", GraphForm.Plain, Precision.Fp32 }, { "deberta-a", GraphForm.Fused, Precision.Fp16 },
        { "deberta-b", GraphForm.Fused, Precision.Fp32 }, { "deberta-b", GraphForm.Plain, Precision.Fp32 }, { "deberta-b", GraphForm.Fused, Precision.Fp16 },
    };

    private static (ModelFolder Folder, DebertaV2Config Deberta, SafetensorsStore Store) Open(string model, string? directory = null)
    {
        var folder = ModelFolder.Open(directory ?? FixturePaths.Model(model));
        return (folder, DebertaV2Config.Load(folder.ConfigPath, folder.Config), SafetensorsStore.Open(folder));
    }

    internal static EncoderSession CreateSession(string model, GraphForm form, Precision precision = Precision.Fp32, string? directory = null)
    {
        var folder = ModelFolder.Open(directory ?? FixturePaths.Model(model));
        var deberta = DebertaV2Config.Load(folder.ConfigPath, folder.Config);
        return GraphSessions.Create(folder, DebertaV2Graph.ExpectedTensors(folder.Config, deberta),
            store => DebertaV2Graph.Build(folder.Config, deberta, store, folder.Directory, form, precision), PairTokenizer.Load(folder).TokenTypeIds);
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Logits_match_the_float64_reference(string model, GraphForm form, Precision precision)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model, form, precision);
        Assert.Equal(model == "deberta-b", session.TakesTokenTypeIds);

        golden.AssertMatches(session, precision == Precision.Fp16 ? Float16Budget : Tolerance, output.WriteLine, $"{model} {form} {precision}");
    }

    [Theory]
    [InlineData("deberta-a")]
    [InlineData("deberta-b")]
    public void A_sequence_scores_the_same_alone_and_at_any_position_of_a_padded_batch(string model)
    {
        using var session = CreateSession(model, GraphForm.Fused);
        GoldenLogits.Load(FixturePaths.Model(model)).AssertBatchInvariant(session, 5e-5, output.WriteLine, model);
    }

    [Fact]
    public void The_relative_index_table_is_torchs_log_buckets()
    {
        // tools/model/deberta.py: torch's make_log_bucket_position (float32) for DeBERTa-v3's 512 / 256, the fixtures' and more.
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Fixtures, "deberta-relative-buckets.json")))!;
        foreach (var table in root["tables"]!.AsArray())
        {
            var d = new DebertaV2Config
            {
                RelativeAttention = true,
                MaxRelativePositions = table!["max_relative_positions"]!.GetValue<int>(),
                PositionBuckets = table["position_buckets"]!.GetValue<int>(),
            };
            var expected = table["index"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();

            Assert.Equal(table["reach"]!.GetValue<int>(), DebertaV2Graph.TableReach(d));
            Assert.Equal(expected, DebertaV2Graph.RelativeIndexTable(d));
            // Saturated at both ends: clipping distances to the table's reach changes no index.
            Assert.Equal([0L, 2L * d.Span - 1], new[] { expected[0], expected[^1] });
        }
    }

    [Fact]
    public void Initializers_are_the_checkpoint_tensors_and_every_one_is_read()
    {
        foreach (var model in new[] { "deberta-a", "deberta-b" })
        {
            var (folder, deberta, store) = Open(model);
            using var _ = store;
            var graph = DebertaV2Graph.Build(folder.Config, deberta, store, folder.Directory, GraphForm.Fused).Graph;

            var external = graph.Initializer.Where(t => t.DataLocation == RerankSharp.Onnx.Proto.TensorProto.Types.DataLocation.External)
                .Select(t => t.Name.Split('[')[0]).Distinct().ToList();
            Assert.Equal(DebertaV2Graph.ExpectedTensors(folder.Config, deberta).Select(t => t.Name).Order(), external.Order());
            Assert.Equal(store.Tensors.Keys.Order(), external.Order());
            Assert.Contains(graph.Node, n => n.OpType == "SkipLayerNormalization" && n.Name == "deberta.encoder.layer.1.attention.output.LayerNorm");
            // The attention (MultiHeadAttention, inside the flash If) with c2p, and p2c where pos_att_type has it (deberta-b: c2p only).
            Assert.Contains(graph.Node, n => n.OpType == "If" && n.Name == "deberta.encoder.layer.0.attention.self");
            Assert.Contains(graph.Node, n => n.OpType == "Gather" && n.Name == "deberta.encoder.layer.0.attention.self/c2p/gather");
            Assert.Equal(model == "deberta-a", graph.Node.Any(n => n.Name == "deberta.encoder.layer.0.attention.self/p2c/gather"));
            Assert.Equal(model == "deberta-b", graph.Input.Any(i => i.Name == "token_type_ids"));
        }
    }

    // An empty pos_att_type: transformers adds no relative term (content scores over √D alone); checked once against
    // deberta.py on two text pairs (within 2e-6), here by the graph it builds.
    [Fact]
    public void Without_c2p_or_p2c_the_attention_has_no_relative_terms()
    {
        using var temp = RerankSharp.Tests.Models.TempDirectory.CopyOf(FixturePaths.Model("deberta-a"));
        var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!;
        config["pos_att_type"] = new JsonArray();
        temp.Write("config.json", config.ToJsonString());
        var (folder, deberta, store) = Open("deberta-a", temp.Path);
        using var _ = store;

        var graph = DebertaV2Graph.Build(folder.Config, deberta, store, folder.Directory, GraphForm.Plain).Graph;

        Assert.Equal(1, deberta.ScaleFactor);
        Assert.DoesNotContain(graph.Node, n => n.Name.Contains("/c2p", StringComparison.Ordinal) || n.Name.Contains("/p2c", StringComparison.Ordinal));
        Assert.DoesNotContain(graph.Node, n => n.Name.EndsWith("/score_bias", StringComparison.Ordinal));
        var scale = graph.Initializer.Single(t => t.Name == "deberta.encoder.layer.0.attention.self/scale_factor");
        Assert.Equal(1 / MathF.Sqrt(12), scale.FloatData.Single(), 6);   // D = 12
    }

    // A recipe naming DeBERTa's own module kinds keeps those matrices in fp32: fewer int8 products, and scores nearer fp32.
    [Fact]
    public void An_int8_recipe_keeps_debertas_named_projections_in_fp32()
    {
        using var temp = RerankSharp.Tests.Models.TempDirectory.CopyOf(FixturePaths.Model("deberta-a"));
        var (folder, deberta, store) = Open("deberta-a", temp.Path);
        using var _ = store;
        int Quantized(Int8Recipe recipe) => DebertaV2Graph.Build(folder.Config, deberta, store, folder.Directory, GraphForm.Fused, Precision.Int8, recipe)
            .Graph.Node.Count(n => n.OpType is "DynamicQuantizeMatMul" or "MatMulInteger" or "MatMulNBits");

        var all = Quantized(Int8Recipe.Default);
        var kept = Quantized(Int8Recipe.Parse("per-tensor;fp32=attention.self.query_proj,attention.self.key_proj"));

        Assert.Equal(6 * 2, all);   // six matrices in each of the two layers
        Assert.Equal(4 * 2, kept);
    }

    // deberta-a is 24 wide, deberta-b 20: rounding such small matrices to int8 moves the text-pair logits by tenths (as for
    // gte-a); a wrong layout, scale or zero point moves them by the size of the logits themselves (−4.6 … 8.1).
    [Theory]
    [InlineData("deberta-a", 1.0)]
    [InlineData("deberta-b", 0.5)]
    public void Int8_scores_stay_near_fp32(string model, double budget) =>
        GoldenLogits.AssertInt8Drift(model, budget, directory => CreateSession(model, GraphForm.Fused, Precision.Int8, directory), output.WriteLine);
}
