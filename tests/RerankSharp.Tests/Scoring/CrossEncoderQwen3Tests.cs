using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tests.Onnx;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder over Qwen3-Reranker checkpoints (their prompts against the reference: CrossEncoderDecoderPromptTests).
public partial class CrossEncoderTests
{
    [Fact]
    public async Task The_seq_cls_conversion_scores_as_the_causal_lm_it_came_from()
    {
        using var causal = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-a"));
        using var seqCls = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-c"));
        (string, string)[] pairs = [("what is panda?", "The giant panda is a bear species endemic to China."), ("q", "d"), ("首都", "北京是中国的首都。")];

        var a = await causal.PredictAsync(pairs);
        var c = await seqCls.PredictAsync(pairs);

        Assert.Equal("Qwen3ForSequenceClassification", seqCls.Architecture);
        for (var i = 0; i < a.Length; i++) Assert.Equal(a[i], c[i], 5);
    }

    [Fact]
    public async Task A_qwen3_prompt_scores_the_same_alone_and_in_a_mixed_batch_and_the_instruction_matters()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-b"));
        (string, string)[] pairs = [("what is panda?", "The giant panda is a bear species endemic to China."), ("panda", "bear"), ("q", string.Join(' ', Enumerable.Repeat("forest", 150)))];

        var batched = await encoder.PredictAsync(pairs);
        for (var i = 0; i < pairs.Length; i++)
            Assert.Equal(batched[i], (await encoder.PredictAsync([pairs[i]]))[0], 5);
        var instructed = await encoder.PredictAsync(pairs, new RerankOptions { Instruction = "Judge whether the passage is about animals" });
        Assert.NotEqual(batched, instructed);
    }

    [Fact]
    public async Task A_qwen3_pair_longer_than_max_length_is_cut_at_the_end_of_the_formatted_text()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-a"), new CrossEncoderOptions { MaxLength = 120 });
        var scores = await encoder.ScoreDocumentsAsync("query", [string.Join(' ', Enumerable.Repeat("forest", 500))]);

        Assert.True(scores.Truncated[0]);
        Assert.Equal(120, scores.Tokens[0]);
        var prompt = (Qwen3RerankerTokenizer)encoder.Tokenizer;
        var ids = prompt.EncodePair("query", string.Join(' ', Enumerable.Repeat("forest", 500)), 120);
        Assert.Equal(prompt.EncodeText(Qwen3RerankerTokenizer.Suffix), ids[^prompt.EncodeText(Qwen3RerankerTokenizer.Suffix).Length..]);
    }

    [Fact]
    public async Task A_qwen3_folder_with_only_onnx_exports_is_refused_clearly()
    {
        using var temp = new TempDirectory();
        foreach (var file in Directory.GetFiles(FixturePaths.Model("qwen3-a")).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(RerankSharp.Models.LinkedFile.Find(file)!.FullName, temp.PathOf(Path.GetFileName(file)));
        temp.Write("onnx/model.onnx", [1, 2, 3]);

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));
        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("safetensors checkpoint", e.Message);
    }
}
