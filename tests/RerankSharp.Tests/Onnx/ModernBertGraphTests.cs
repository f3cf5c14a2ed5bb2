using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// The ModernBERT graph against the float64 reference of ModernBertForSequenceClassification (tools/model/modernbert.py):
/// every logit of every golden batch. modernbert-a (F32, cls pooling, no biases, old config keys, half window 8) and
/// modernbert-b (BF16, mean pooling, every bias, layer_types/rope_parameters, half window 4) both have rows longer than
/// the window in padded batches, on both sides of <see cref="EncoderLayer.DenseBandMaxHalfWindows"/>, so local layers run
/// the dense band and the blocked sliding window, global layers the flash and the masked attention.
/// </summary>
public class ModernBertGraphTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;   // relative to max(1, |logit|), DESIGN.md §7

    public static TheoryData<string, GraphForm, Precision> Graphs() => new()
    {
        { "modernbert-a", GraphForm.Fused, Precision.Fp32 }, { "modernbert-a", GraphForm.Plain, Precision.Fp32 },
        { "modernbert-b", GraphForm.Fused, Precision.Fp32 }, { "modernbert-b", GraphForm.Plain, Precision.Fp32 },
    };

    private static (ModelConfig Config, ModernBertConfig ModernBert) Configs(ModelFolder folder) =>
        (folder.Config, ModernBertConfig.Load(folder.ConfigPath, folder.Config.NumHiddenLayers));

    internal static EncoderSession CreateSession(string model, GraphForm form, Precision precision = Precision.Fp32, string? directory = null)
    {
        var folder = ModelFolder.Open(directory ?? FixturePaths.Model(model));
        var (config, modernBert) = Configs(folder);
        return GraphSessions.Create(folder, ModernBertGraph.ExpectedTensors(config, modernBert),
            store => ModernBertGraph.Build(config, modernBert, store, folder.Directory, form, precision));
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Logits_match_the_float64_reference(string model, GraphForm form, Precision precision)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model, form, precision);
        Assert.False(session.TakesTokenTypeIds);

        var result = golden.Compare(session, Tolerance);

        output.WriteLine($"{model} {form} {precision}: {result} vs {golden.Generator} ({golden.Date})");
        Assert.True(result.Mismatches == 0, result.Failure);
    }

    [Theory]
    [InlineData("modernbert-a")]
    [InlineData("modernbert-b")]
    public void The_golden_batches_reach_both_forms_of_local_attention(string model)
    {
        var folder = ModelFolder.Open(FixturePaths.Model(model));
        var limit = EncoderLayer.DenseBandMaxHalfWindows * Configs(folder).ModernBert.HalfWindow;
        var lengths = GoldenLogits.Load(folder.Directory).Cases.Select(c => c.Tokens).ToList();

        Assert.Contains(lengths, t => t > limit);                                   // blocked sliding window
        Assert.Contains(lengths, t => t <= limit && t > Configs(folder).ModernBert.HalfWindow + 1);   // dense band, narrower than the input
    }

    [Theory]
    [InlineData("modernbert-a")]
    [InlineData("modernbert-b")]
    public void A_sequence_scores_the_same_alone_and_at_any_position_of_a_padded_batch(string model)
    {
        using var session = CreateSession(model, GraphForm.Fused);
        // Alone a row runs the flash and, past the limit, the blocked window; padded, the masked kernels (as in XlmRobertaGraphTests).
        GoldenLogits.Load(FixturePaths.Model(model)).AssertBatchInvariant(session, 5e-5, output.WriteLine, model);
    }

    [Fact]
    public void Global_layers_take_the_flash_if_and_local_layers_choose_between_the_band_and_the_blocked_window()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("modernbert-b"));
        var (config, modernBert) = Configs(folder);
        using var store = SafetensorsStore.Open(folder);
        var graph = ModernBertGraph.Build(config, modernBert, store, folder.Directory, GraphForm.Fused).Graph;

        var attention = graph.Node.Where(n => n.OpType == "If").ToDictionary(n => n.Name);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var node = attention[$"model.layers.{layer}.attn"];
            var then = node.Attribute.Single(a => a.Name == "then_branch").G.Node;
            var otherwise = node.Attribute.Single(a => a.Name == "else_branch").G.Node;
            if (modernBert.IsGlobal(layer))
            {
                Assert.Equal(("MultiHeadAttention", 3), (then.Single().OpType, then.Single().Input.Count));       // no bias, no mask: flash
                Assert.Equal(("MultiHeadAttention", 5), (otherwise.Single().OpType, otherwise.Single().Input.Count)); // key padding mask
            }
            else
            {
                Assert.DoesNotContain(then, n => n.OpType == "MultiHeadAttention");                                 // blocked, plain ONNX
                Assert.Contains(then, n => n.OpType == "Softmax");
                var dense = otherwise.Single(n => n.OpType == "MultiHeadAttention");
                Assert.Equal(6, dense.Input.Count);                                                                  // + band bias
            }
        }
        Assert.DoesNotContain(graph.Input, i => i.Name == "token_type_ids");
    }

    [Fact]
    public void Initializers_are_the_checkpoint_tensors_and_layer_0_has_no_attention_norm()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("modernbert-a"));
        var (config, modernBert) = Configs(folder);
        using var store = SafetensorsStore.Open(folder);
        var graph = ModernBertGraph.Build(config, modernBert, store, folder.Directory, GraphForm.Fused).Graph;

        var initializers = graph.Initializer.Where(t => t.DataLocation == RerankSharp.Onnx.Proto.TensorProto.Types.DataLocation.External).ToList();
        // Merged projections are read as row ranges named TENSOR[first:end] (q, k, v of Wqkv; input and gate of Wi),
        // which together cover the tensor's bytes exactly.
        string Tensor(string name) => name.Split('[')[0];
        var external = initializers.Select(t => Tensor(t.Name)).Distinct().ToList();
        Assert.Equal(ModernBertGraph.ExpectedTensors(config, modernBert).Select(t => t.Name).Order(), external.Order());
        Assert.Equal(store.Tensors.Keys.Order(), external.Order());   // every tensor of the checkpoint is read
        foreach (var group in initializers.GroupBy(t => Tensor(t.Name)))
        {
            var entry = store.Tensors[group.Key];
            long Field(RerankSharp.Onnx.Proto.TensorProto t, string key) =>
                long.Parse(t.ExternalData.Single(e => e.Key == key).Value, System.Globalization.CultureInfo.InvariantCulture);
            var ranges = group.Select(t => (Offset: Field(t, "offset"), Length: Field(t, "length"))).OrderBy(r => r.Offset).ToList();
            Assert.Equal(entry.FileOffset, ranges[0].Offset);
            Assert.Equal(entry.ByteLength, ranges.Sum(r => r.Length));
            Assert.All(ranges.Zip(ranges.Skip(1)), p => Assert.Equal(p.First.Offset + p.First.Length, p.Second.Offset));
        }
        Assert.Contains(initializers, t => t.Name == "model.layers.0.attn.Wqkv.weight[96:144]");
        Assert.Contains(initializers, t => t.Name == "model.layers.2.mlp.Wi.weight[56:112]");
        Assert.DoesNotContain("model.layers.0.attn_norm.weight", external);
        Assert.Contains("model.layers.1.attn_norm.weight", external);
        Assert.DoesNotContain(graph.Node, n => n.OpType == "Split" && n.Name.Contains("Wqkv", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("modernbert-a")]
    [InlineData("modernbert-b")]
    public void Int8_scores_stay_near_fp32(string model)
    {
        using var temp = new RerankSharp.Tests.Models.TempDirectory();
        foreach (var file in Directory.GetFiles(FixturePaths.Model(model)))
            File.Copy(file, Path.Combine(temp.Path, Path.GetFileName(file)));
        var golden = GoldenLogits.Load(temp.Path);
        using var session = CreateSession(model, GraphForm.Fused, Precision.Int8, temp.Path);

        var c = golden.TextPairs;
        var (logits, worst) = c.Drift(session);
        output.WriteLine($"{model} int8: max |Δ logit| {worst:E2} over {c.Rows} text pairs (logits {c.Logits.Min():F2} … {c.Logits.Max():F2})");
        Assert.True(worst < 0.5, $"int8 drifted {worst} from the reference");
        Assert.NotEqual(c.Logits.Select(l => (float)l), logits);
    }

    [Theory]
    [InlineData("modernbert-a")]
    [InlineData("modernbert-b")]
    public void Fp16_logits_match_the_float64_reference_within_the_float16_budget(string model)
    {
        const double float16Budget = 2e-2;   // XlmRobertaGraphFloat16Tests' budget
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model, GraphForm.Fused, Precision.Fp16);

        var result = golden.Compare(session, float16Budget);

        output.WriteLine($"{model} fp16: {result} (budget {float16Budget:E0})");
        Assert.True(result.Mismatches == 0, result.Failure);
    }

    [Fact]
    public void The_golden_text_pairs_are_what_the_tokenizer_gives()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("modernbert-a"));
        var tokenizer = PairTokenizer.Load(folder);
        var c = GoldenLogits.Load(folder.Directory).TextPairs;
        for (var row = 0; row < c.Rows; row++)
        {
            var real = (int)c.AttentionMask[row].Sum();
            Assert.Equal(c.InputIds[row][..real].Select(i => (int)i), tokenizer.EncodePair(c.Pairs![row].Query, c.Pairs[row].Document, 512));
        }
    }
}
