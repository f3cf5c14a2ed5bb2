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
/// The Qwen3 decoder graph against the float64 reference (tools/model/qwen3.py), whose score is logits[yes] − logits[no]
/// at the last position computed over the full vocabulary; the graph computes only those two rows.
/// </summary>
public class Qwen3GraphTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;   // relative to max(1, |score|)

    internal static EncoderSession CreateSession(string model, Precision precision = Precision.Fp32, string? directory = null)
    {
        var folder = ModelFolder.Open(directory ?? FixturePaths.Model(model));
        var tokenizer = (Qwen3RerankerTokenizer)PairTokenizer.Load(folder);
        var seqCls = folder.Config.Architectures.Contains(Qwen3Graph.SequenceClassification);
        byte[] graph;
        using (var store = SafetensorsStore.Open(folder))
        {
            store.Validate(Qwen3Graph.ExpectedTensors(folder.Config, seqCls));
            graph = Qwen3Graph.Build(folder.Config, store, folder.Directory, seqCls, tokenizer.YesId, tokenizer.NoId, precision).ToByteArray();
        }
        return EncoderSession.Create(graph, folder.Directory, 1, new SessionSettings(Device.Cpu, 2, GraphOptimizationLevel.ORT_ENABLE_ALL), NullLogger.Instance);
    }

    [Theory]
    [InlineData("qwen3-a")]   // GQA 6/2, explicit head_dim, tied embeddings, F32
    [InlineData("qwen3-b")]   // 4/4 heads, untied lm_head, BF16
    [InlineData("qwen3-c")]   // qwen3-a converted to Qwen3ForSequenceClassification
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
        var graph = Qwen3Graph.Build(folder.Config, store, folder.Directory, false, tokenizer.YesId, tokenizer.NoId).Graph;

        // BF16 checkpoint: the two rows are gathered in BF16 and only they are widened; nothing else reads the table.
        var lmHead = Assert.Single(graph.Node, n => n.Input.Contains("lm_head.weight"));
        Assert.Equal("Gather", lmHead.OpType);
        var rows = graph.Initializer.Single(t => t.Name == "lm_head/yes_no");
        Assert.Equal([tokenizer.YesId, tokenizer.NoId], rows.Int64Data.Select(v => (int)v));
    }

    [Fact]
    public void Int8_scores_stay_near_fp32()
    {
        var golden = GoldenLogits.Load(FixturePaths.Model("qwen3-a")).Cases.Single(c => c.Name == "text_prompts");
        var temp = Directory.CreateTempSubdirectory("rerank-qwen3-int8-");
        try
        {
            foreach (var file in Directory.GetFiles(FixturePaths.Model("qwen3-a")))
                File.Copy(LinkedFile.Find(file)!.FullName, Path.Combine(temp.FullName, Path.GetFileName(file)));
            using var session = CreateSession("qwen3-a", Precision.Int8, temp.FullName);
            var logits = session.Run(golden.FlatIds, golden.FlatMask, golden.Rows, golden.Tokens, CancellationToken.None);
            var worst = logits.Select((l, i) => Math.Abs(l - golden.Logits[i])).Max();
            output.WriteLine($"qwen3-a int8: max |Δ score logit| {worst:E2} over {golden.Rows} prompts");
            Assert.True(worst < 0.1, $"int8 drifted {worst} from the reference");
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }
}
