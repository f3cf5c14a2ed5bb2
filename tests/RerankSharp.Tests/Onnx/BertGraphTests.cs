using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// The BERT graph against the float64 reference of BertForSequenceClassification (tools/model/bert.py): every logit
/// of every golden batch, token types coming from the tokenizer's rule as the scoring path feeds them.
/// </summary>
public class BertGraphTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;   // relative to max(1, |logit|), DESIGN.md §7

    // The fused form with ONNX Runtime's contrib SkipLayerNormalization and with ours (ownKernels).
    public static TheoryData<string, GraphForm, bool> Models() => new()
    {
        { "bert-a", GraphForm.Fused, false }, { "bert-a", GraphForm.Fused, true }, { "bert-a", GraphForm.Plain, false },
        { "bert-b", GraphForm.Fused, false }, { "bert-b", GraphForm.Fused, true }, { "bert-b", GraphForm.Plain, false },
        { "bert-c", GraphForm.Fused, false }, { "bert-c", GraphForm.Fused, true },
    };

    internal static EncoderSession CreateSession(string model, GraphForm form, Precision precision = Precision.Fp32, bool ownKernels = false)
    {
        var folder = ModelFolder.Open(FixturePaths.Model(model));
        var tokenizer = PairTokenizer.Load(folder);
        byte[] graph;
        using (var store = SafetensorsStore.Open(folder))
        {
            store.Validate(BertGraph.ExpectedTensors(folder.Config));
            graph = BertGraph.Build(folder.Config, store, folder.Directory, form, precision, ownKernels).ToByteArray();
        }
        return EncoderSession.Create(graph, folder.Directory, folder.Config.NumLabels,
            new SessionSettings(Device.Cpu, 2, GraphOptimizationLevel.ORT_ENABLE_ALL), NullLogger.Instance, tokenizer.TokenTypeIds);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Logits_match_the_float64_reference(string model, GraphForm form, bool ownKernels)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model, form, ownKernels: ownKernels);
        Assert.True(session.TakesTokenTypeIds);

        var result = golden.Compare(session, Tolerance);

        output.WriteLine($"{model} {form}{(ownKernels ? " (own kernels)" : "")}: {result} vs {golden.Generator} ({golden.Date})");
        Assert.True(result.Mismatches == 0, result.Failure);
    }

    [Theory]
    [InlineData("bert-a")]
    [InlineData("bert-b")]
    public void A_sequence_scores_the_same_alone_and_inside_a_padded_batch(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        var cases = golden.Cases.ToDictionary(c => c.Name);
        using var session = CreateSession(model, GraphForm.Fused);
        var places = golden.BatchInvariance["probe"];
        var scores = places.Select(p => session.Run(cases[p.Case].FlatIds, cases[p.Case].FlatMask, cases[p.Case].Rows, cases[p.Case].Tokens, CancellationToken.None)[p.Row]).ToList();
        Assert.True(places.Length >= 3);
        Assert.True(scores.Max() - scores.Min() <= 1e-5 * Math.Max(1, Math.Abs(scores[0])), string.Join(", ", scores));
    }

    [Fact]
    public void The_tokenizer_rule_gives_the_reference_token_types_of_every_golden_row()
    {
        var tokenizer = PairTokenizer.Load(ModelFolder.Open(FixturePaths.Model("bert-a")));
        foreach (var c in GoldenLogits.Load(FixturePaths.Model("bert-a")).Cases)
            for (var row = 0; row < c.Rows; row++)
            {
                var types = new long[c.Tokens];
                tokenizer.TokenTypeIds(c.InputIds[row], types);
                var real = (int)c.AttentionMask[row].Sum();
                Assert.Equal(c.TokenTypeIds![row][..real], types[..real]);
            }
    }

    // The encoder layer is XLM-R's (EncoderLayer): BERT runs the mask-free flash attention whenever no row is padded too.
    [Fact]
    public void Fused_attention_is_the_flash_node_when_no_row_is_padded_and_the_masked_one_otherwise()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("bert-a"));
        using var store = SafetensorsStore.Open(folder);
        var graph = BertGraph.Build(folder.Config, store, folder.Directory, GraphForm.Fused).Graph;

        var attention = graph.Node.Where(n => n.OpType == "If").ToList();
        Assert.Equal(folder.Config.NumHiddenLayers, attention.Count);
        foreach (var node in attention)
        {
            var then = node.Attribute.Single(a => a.Name == "then_branch").G.Node.Single();
            var otherwise = node.Attribute.Single(a => a.Name == "else_branch").G.Node.Single();
            Assert.Equal(("MultiHeadAttention", 4), (then.OpType, then.Input.Count));
            Assert.Equal(("MultiHeadAttention", 5), (otherwise.OpType, otherwise.Input.Count));
        }
    }

    // fp16 is the shared layer's parameter: BERT gets XLM-R's float16 graph (matrices, attention and embeddings in
    // float16, LayerNorms, residuals and head in float32), checked as XlmRobertaGraphFloat16Tests checks XLM-R's.
    [Theory]
    [InlineData("bert-a")]
    [InlineData("bert-b")]
    public void Fp16_logits_match_the_float64_reference_within_the_float16_budget(string model)
    {
        const double float16Budget = 2e-2;   // XlmRobertaGraphFloat16Tests' budget, relative to max(1, |logit|)
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var fp16 = CreateSession(model, GraphForm.Fused, Precision.Fp16);
        using var fp32 = CreateSession(model, GraphForm.Fused);

        double worst = 0, apart = 0;
        foreach (var c in golden.Cases)
        {
            var logits = fp16.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
            var exact = fp32.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
            for (var row = 0; row < c.Rows; row++)
            {
                worst = Math.Max(worst, Math.Abs(logits[row] - c.Logits[row]) / Math.Max(1, Math.Abs(c.Logits[row])));
                apart = Math.Max(apart, Math.Abs(logits[row] - exact[row]));
            }
        }
        output.WriteLine($"{model} fp16: max relative |Δ| {worst:E2} (budget {float16Budget:E0}); max |fp16 − fp32| {apart:E2}");
        Assert.True(worst <= float16Budget, $"max relative {worst}");
        if (model == "bert-a") Assert.True(apart > 1e-5, "bert-a stores F32: its fp16 graph must round the weights");
    }

    [Fact]
    public void Initializers_are_the_checkpoint_tensors_and_the_graph_takes_token_type_ids()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("bert-b"));
        using var store = SafetensorsStore.Open(folder);
        var graph = BertGraph.Build(folder.Config, store, folder.Directory, GraphForm.Fused).Graph;
        var external = graph.Initializer.Where(t => t.DataLocation == RerankSharp.Onnx.Proto.TensorProto.Types.DataLocation.External).Select(t => t.Name);
        Assert.Equal(BertGraph.ExpectedTensors(folder.Config).Select(t => t.Name).Order(), external.Order());
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], graph.Input.Select(i => i.Name));
    }

    [Fact]
    public void Int8_scores_stay_near_fp32()
    {
        var golden = GoldenLogits.Load(FixturePaths.Model("bert-a"));
        var temp = Directory.CreateTempSubdirectory("rerank-bert-int8-");
        try
        {
            foreach (var file in Directory.GetFiles(FixturePaths.Model("bert-a"))) File.Copy(file, Path.Combine(temp.FullName, Path.GetFileName(file)));
            var folder = ModelFolder.Open(temp.FullName);
            byte[] graph;
            using (var store = SafetensorsStore.Open(folder))
                graph = BertGraph.Build(folder.Config, store, folder.Directory, GraphForm.Fused, Precision.Int8).ToByteArray();
            using var session = EncoderSession.Create(graph, folder.Directory, 1, new SessionSettings(Device.Cpu, 2, GraphOptimizationLevel.ORT_ENABLE_ALL),
                NullLogger.Instance, PairTokenizer.Load(folder).TokenTypeIds);
            var c = golden.Cases.Single(c => c.Name == "text_pairs");
            var logits = session.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
            var worst = logits.Select((l, i) => Math.Abs(l - c.Logits[i])).Max();
            output.WriteLine($"bert-a int8: max |Δ logit| {worst:E2} over {c.Rows} text pairs");
            Assert.True(worst < 0.25, $"int8 drifted {worst} from the reference");
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }
}
