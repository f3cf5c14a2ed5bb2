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
/// The decoder graph against the float64 references (tools/model/qwen3.py for Qwen3, tools/model/decoder.py for Qwen2
/// and Gemma), whose score is logits[true] − logits[false] (or logits[true] alone) at the last position computed over the
/// full vocabulary; the graph computes only those rows.
/// </summary>
public class DecoderGraphTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;   // relative to max(1, |score|)

    internal static EncoderSession CreateSession(string model, Precision precision = Precision.Fp32, string? directory = null)
    {
        // Config and weights only (not ModelFolder, which wants a tokenizer): the graph is tested on the golden ids.
        directory ??= FixturePaths.Model(model);
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        var family = new[] { DecoderFamily.Qwen3, DecoderFamily.Qwen3SequenceClassification, DecoderFamily.Qwen2, DecoderFamily.Gemma }
            .Single(f => config.Architectures.Contains(f.Architecture));
        byte[] graph;
        using (var store = SafetensorsStore.Open([Path.Combine(directory, "model.safetensors")]))
        {
            store.Validate(DecoderGraph.ExpectedTensors(config, family));
            graph = DecoderGraph.Build(config, family, store, directory, ScoreOf(model), precision).ToByteArray();
        }
        return EncoderSession.Create(graph, directory, 1, new SessionSettings(Device.Cpu, 2, GraphOptimizationLevel.ORT_ENABLE_ALL), NullLogger.Instance);
    }

    // The score tokens the reference read, as its golden file records them (the Gemma fixtures have no tokenizer).
    internal static DecoderScore ScoreOf(string model)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Model(model), "golden_logits.json")))!;
        return json["yes_id"] is { } yes
            ? new DecoderScore((int)yes, (int)json["no_id"]!)
            : new DecoderScore((int)json["true_id"]!, json["false_id"] is { } no ? (int)no : null);
    }

    [Theory]
    [InlineData("qwen3-a")]   // GQA 6/2, explicit head_dim, tied embeddings, F32
    [InlineData("qwen3-b")]   // 4/4 heads, untied lm_head, BF16
    [InlineData("qwen3-c")]   // qwen3-a converted to Qwen3ForSequenceClassification
    [InlineData("mxbai-a")]   // Qwen2: QKV bias, GQA 6/2, tied, BF16; logit("1") − logit("0")
    [InlineData("mxbai-b")]   // Qwen2: 4/4 heads, untied lm_head, BF16
    [InlineData("gemma-a")]   // Gemma: (1 + w) norms, √H embedding scale, MQA 4/1, head_dim 12 ≠ H/N, GeGLU, F32; one true logit
    [InlineData("gemma-b")]   // Gemma: GQA 4/2, no hidden_activation key (gelu_pytorch_tanh all the same), BF16
    public void Scores_match_the_float64_reference(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        using var session = CreateSession(model);

        var result = golden.Compare(session, Tolerance);

        output.WriteLine($"{model}: {result} vs {golden.Generator} ({golden.Date})");
        Assert.True(result.Mismatches == 0, result.Failure);
    }

    [Theory]
    [InlineData("qwen3-a")]
    [InlineData("qwen3-b")]
    [InlineData("mxbai-a")]
    [InlineData("gemma-a")]
    public void A_prompt_scores_the_same_alone_and_inside_a_right_padded_batch(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model));
        var cases = golden.Cases.ToDictionary(c => c.Name);
        using var session = CreateSession(model);
        var places = golden.BatchInvariance["probe"];
        var scores = places.Select(p => session.Run(cases[p.Case].FlatIds, cases[p.Case].FlatMask, cases[p.Case].Rows, cases[p.Case].Tokens, CancellationToken.None)[p.Row]).ToList();
        Assert.True(places.Length >= 3);
        Assert.True(scores.Max() - scores.Min() <= 1e-5 * Math.Max(1, Math.Abs(scores[0])), string.Join(", ", scores));
    }

    [Fact]
    public void Only_two_rows_of_the_output_projection_are_read()
    {
        var folder = ModelFolder.Open(FixturePaths.Model("qwen3-b"));
        var tokenizer = (Qwen3RerankerTokenizer)PairTokenizer.Load(folder);
        using var store = SafetensorsStore.Open(folder);
        var graph = DecoderGraph.Build(folder.Config, DecoderFamily.Qwen3, store, folder.Directory, new DecoderScore(tokenizer.YesId, tokenizer.NoId)).Graph;

        // BF16 checkpoint: the two rows are gathered in BF16 and only they are widened; nothing else reads the table.
        var lmHead = Assert.Single(graph.Node, n => n.Input.Contains("lm_head.weight"));
        Assert.Equal("Gather", lmHead.OpType);
        var rows = graph.Initializer.Single(t => t.Name == "lm_head/true_false");
        Assert.Equal([tokenizer.YesId, tokenizer.NoId], rows.Int64Data.Select(v => (int)v));
    }

    [Fact]
    public void Only_the_true_row_of_the_output_projection_is_read_when_the_score_is_one_logit()
    {
        var directory = FixturePaths.Model("gemma-a");
        using var store = SafetensorsStore.Open([Path.Combine(directory, "model.safetensors")]);
        var graph = DecoderGraph.Build(ModelConfig.Load(Path.Combine(directory, "config.json")), DecoderFamily.Gemma, store, directory, ScoreOf("gemma-a")).Graph;

        // Tied: the table is read twice, by the input embedding and by the one-row gather of the head.
        Assert.Equal(["Gather", "Gather"], graph.Node.Where(n => n.Input.Contains("model.embed_tokens.weight")).Select(n => n.OpType));
        Assert.Equal([ScoreOf("gemma-a").TrueId], graph.Initializer.Single(t => t.Name == "lm_head/true").Int64Data.Select(v => (int)v));
    }

    [Theory]
    [InlineData("qwen3-a")]
    [InlineData("mxbai-a")]
    [InlineData("gemma-a")]
    public void Int8_scores_stay_near_fp32(string model)
    {
        // The prompts where the fixture has a tokenizer (Qwen), else the mixed-length batch.
        var cases = GoldenLogits.Load(FixturePaths.Model(model)).Cases;
        var golden = cases.SingleOrDefault(c => c.Name == "text_prompts") ?? cases.Single(c => c.Name == "b8_mixed");
        var temp = Directory.CreateTempSubdirectory("rerank-decoder-int8-");
        try
        {
            foreach (var file in Directory.GetFiles(FixturePaths.Model(model)))
                File.Copy(LinkedFile.Find(file)!.FullName, Path.Combine(temp.FullName, Path.GetFileName(file)));
            using var session = CreateSession(model, Precision.Int8, temp.FullName);
            var logits = session.Run(golden.FlatIds, golden.FlatMask, golden.Rows, golden.Tokens, CancellationToken.None);
            var worst = logits.Select((l, i) => Math.Abs(l - golden.Logits[i])).Max();
            output.WriteLine($"{model} int8: max |Δ score logit| {worst:E2} over {golden.Rows} rows of {golden.Name}");
            Assert.True(worst < 0.1, $"int8 drifted {worst} from the reference");
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    [Fact]
    public void Gemma_takes_its_activation_from_hidden_activation_and_gelu_pytorch_tanh_without_it_whatever_hidden_act_says()
    {
        var config = ModelConfig.Load(Path.Combine(FixturePaths.Model("gemma-b"), "config.json"));

        Assert.Equal("gelu", config.HiddenAct);
        Assert.Null(config.HiddenActivation);
        Assert.Equal(("hidden_activation", "gelu_pytorch_tanh"), DecoderFamily.Gemma.Activation(config));
        Assert.Equal(("hidden_activation", "gelu"), DecoderFamily.Gemma.Activation(config with { HiddenActivation = "gelu" }));
        Assert.Equal(("hidden_act", "gelu"), DecoderFamily.Qwen2.Activation(config));
    }

    [Theory]
    [InlineData("gemma-a", "hidden_activation", "relu")]
    [InlineData("mxbai-a", "hidden_act", "relu")]
    [InlineData("mxbai-a", "rope_scaling", "yarn")]
    public void A_config_the_graph_cannot_run_is_refused_naming_the_key(string model, string key, string value)
    {
        var config = ModelConfig.Load(Path.Combine(FixturePaths.Model(model), "config.json"));
        config = key switch
        {
            "hidden_activation" => config with { HiddenActivation = value },
            "hidden_act" => config with { HiddenAct = value },
            _ => config with { HasRopeScaling = true },
        };
        var family = model.StartsWith("gemma", StringComparison.Ordinal) ? DecoderFamily.Gemma : DecoderFamily.Qwen2;

        var e = Assert.Throws<RerankException>(() => DecoderGraph.CheckSupported(config, family, "config.json"));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(key, e.Message);
    }
}
