using RerankSharp.Scoring;
using RerankSharp.Tests.Onnx;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder over the decoder rerankers, Qwen3-Reranker (Qwen3ForCausalLM / seq-cls), mxbai-rerank-v2 (Qwen2ForCausalLM)
// and bge-reranker-v2-gemma (GemmaForCausalLM): text and instruction in, the reference's prompt ids and raw score out
// (logit("yes") − logit("no"), logit("1") − logit("0"), or logit("Yes")), its sigmoid by default (tools/model/qwen3.py,
// tools/model/decoder.py; ids from tools/bpe/encode_prompts.js and encode_decoder_prompts.js).
public partial class CrossEncoderTests
{
    [Theory]
    [InlineData("qwen3-a", "Qwen3ForCausalLM")]                 // GQA, tokenizer.json
    [InlineData("qwen3-b", "Qwen3ForCausalLM")]                 // no GQA, untied, BF16, vocab.json + merges.txt
    [InlineData("qwen3-c", "Qwen3ForSequenceClassification")]   // seq-cls conversion of qwen3-a
    [InlineData("mxbai-a", "Qwen2ForCausalLM")]   // GQA 6/2, tied, tokenizer.json
    [InlineData("mxbai-b", "Qwen2ForCausalLM")]   // 4/4 heads, untied, vocab.json + merges.txt
    [InlineData("gemma-a", "GemmaForCausalLM")]   // MQA 4/1, head_dim ≠ H/N, F32
    [InlineData("gemma-b", "GemmaForCausalLM")]   // GQA 4/2, BF16, no hidden_activation key
    public async Task Decoder_prompts_are_the_packages_ids_and_score_as_the_reference(string model, string architecture)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model)).Cases.Single(c => c.Name == "text_prompts");
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var prompts = golden.Prompts!;

        for (var i = 0; i < prompts.Length; i++)
        {
            var (query, document, instruction) = prompts[i];
            var options = new RerankOptions { RawScores = true, Instruction = instruction };
            var logit = (await encoder.ScoreDocumentsAsync(query, [document], options)).Scores[0];
            var probability = (await encoder.ScoreDocumentsAsync(query, [document], options with { RawScores = false })).Scores[0];
            var real = (int)golden.AttentionMask[i].Sum();
            Assert.Equal(golden.InputIds[i][..real].Select(id => (int)id),
                encoder.Tokenizer.EncodePair(query, document, encoder.MaxLength, TruncationStrategy.LongestFirst, TruncationDirection.Right, null, instruction).Ids);
            Assert.True(Math.Abs(logit - golden.Logits[i]) <= 1e-4 * Math.Max(1, Math.Abs(golden.Logits[i])), $"prompt {i}: {logit} vs {golden.Logits[i]}");
            // The reference's normalisation: softmax over (no, yes) for Qwen3, mxbai-rerank's final sigmoid, FlagEmbedding's normalize=True.
            Assert.Equal(1 / (1 + Math.Exp(-golden.Logits[i])), probability, 5);
        }
        Assert.Equal(architecture, encoder.Architecture);
        Assert.Equal(8192, encoder.MaxLength);
    }

    [Theory]
    [InlineData("mxbai-b")]
    [InlineData("gemma-a")]
    public async Task A_decoder_prompt_scores_the_same_alone_and_in_a_mixed_batch(string model)
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        (string, string)[] pairs = [("what is panda?", "The giant panda is a bear species endemic to China."), ("panda", "bear"), ("q", string.Join(' ', Enumerable.Repeat("forest", 150)))];

        var batched = await encoder.PredictAsync(pairs);

        for (var i = 0; i < pairs.Length; i++)
            Assert.Equal(batched[i], (await encoder.PredictAsync([pairs[i]]))[0], 5);
    }

    [Fact]
    public async Task A_long_mxbai_pair_keeps_the_template_and_cuts_the_query_to_three_quarters_and_the_document_to_the_rest()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("mxbai-a"), new CrossEncoderOptions { MaxLength = 200 });
        var prompt = (DecoderPromptTokenizer)encoder.Tokenizer;
        var longText = string.Join(' ', Enumerable.Repeat("forest", 500));

        var ids = prompt.EncodePair(longText, longText, 200);

        // The package's max_length M is ours less the fixed pieces; its query is cut to M * 3 // 4 and the pair
        // (query + sep + document) to M, so the whole prompt is exactly 200 tokens here.
        var head = prompt.EncodeText(DecoderPrompt.MxbaiRerankV2.HeadText!);
        var tail = prompt.EncodeText("\n" + DecoderPrompt.MxbaiRerankV2.Task + DecoderPrompt.MxbaiRerankV2.SuffixText);
        var m = 200 - head.Length - tail.Length;
        Assert.Equal(200, ids.Length);
        Assert.Equal(head, ids[..head.Length]);
        Assert.Equal(tail, ids[^tail.Length..]);
        Assert.Equal(prompt.EncodeText("query: " + longText)[..(m * 3 / 4)], ids[head.Length..(head.Length + m * 3 / 4)]);
        Assert.True((await encoder.ScoreDocumentsAsync(longText, [longText])).Truncated[0]);
    }
}
