using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tests.Onnx;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder over the architectures other than XLM-R: loaded from a folder, text in, the reference's scores out.
public partial class CrossEncoderTests
{
    [Theory]
    [InlineData("bert-a")]   // uncased WordPiece from tokenizer.json, F32
    [InlineData("bert-b")]   // cased WordPiece from vocab.txt + tokenizer_config.json, F16
    [InlineData("bert-c")]   // mMiniLM's kind: the XLM-R tokenizer and template, token types all 0
    public async Task Bert_text_pairs_score_like_the_reference_tokenizer_and_forward(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model)).Cases.Single(c => c.Name == "text_pairs");
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var pairs = golden.Pairs!;

        var logits = await encoder.PredictAsync(pairs, new RerankOptions { RawScores = true });

        Assert.Equal("BertForSequenceClassification", encoder.Architecture);
        for (var i = 0; i < pairs.Length; i++)
        {
            var real = (int)golden.AttentionMask[i].Sum();
            Assert.Equal(golden.InputIds[i][..real].Select(id => (int)id), encoder.Tokenizer.EncodePair(pairs[i].Query, pairs[i].Document, encoder.MaxLength));
            var relative = Math.Abs(logits[i] - golden.Logits[i]) / Math.Max(1, Math.Abs(golden.Logits[i]));
            Assert.True(relative < 1e-4, $"pair {i}: got {logits[i]}, reference {golden.Logits[i]}");
        }
    }

    [Theory]
    [InlineData("modernbert-a")]   // cls pooling, half window 8, F32
    [InlineData("modernbert-b")]   // mean pooling, biases, half window 4, BF16
    public Task ModernBert_text_pairs_score_like_the_reference_tokenizer_and_forward(string model) =>
        TextPairsScoreLikeTheReference(model, "ModernBertForSequenceClassification");

    // The golden text pairs through CrossEncoder: the reference tokenizer's ids, logits within 1e-4 relative of the
    // float64 reference, and their sigmoid as the default score.
    private static async Task TextPairsScoreLikeTheReference(string model, string architecture)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model)).TextPairs;
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var pairs = golden.Pairs!;

        var logits = await encoder.PredictAsync(pairs, new RerankOptions { RawScores = true });
        var scores = await encoder.PredictAsync(pairs);

        Assert.Equal(architecture, encoder.Architecture);
        for (var i = 0; i < pairs.Length; i++)
        {
            var real = (int)golden.AttentionMask[i].Sum();
            Assert.Equal(golden.InputIds[i][..real].Select(id => (int)id), encoder.Tokenizer.EncodePair(pairs[i].Query, pairs[i].Document, encoder.MaxLength));
            var relative = Math.Abs(logits[i] - golden.Logits[i]) / Math.Max(1, Math.Abs(golden.Logits[i]));
            Assert.True(relative < 1e-4, $"pair {i}: got {logits[i]}, reference {golden.Logits[i]}");
            Assert.Equal(1 / (1 + Math.Exp(-golden.Logits[i])), scores[i], 4);
        }
    }

    [Fact]
    public Task A_modernbert_pair_past_the_window_scores_the_same_alone_and_in_a_mixed_batch() =>
        PairsScoreTheSameAloneAndInOneBatch("modernbert-a", forestWords: 200);

    // Short and long pairs (up to `forestWords` words of document) scored in one padded batch, then each alone: equal to 5
    // decimals, or within `tolerance` where an unpadded row runs another kernel than a padded one (float rounding).
    private static async Task PairsScoreTheSameAloneAndInOneBatch(string model, int forestWords, float? tolerance = null)
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        (string, string)[] pairs =
        [
            ("what is a panda", "The giant panda is a bear species endemic to China, living in mountain forests."), ("panda", "bear"),
            ("q", string.Join(' ', Enumerable.Repeat("forest", forestWords))), ("mill", string.Join(' ', Enumerable.Repeat("the old mill by the river", 30))),
        ];

        var batched = await encoder.PredictAsync(pairs);
        for (var i = 0; i < pairs.Length; i++)
        {
            var alone = (await encoder.PredictAsync([pairs[i]]))[0];
            if (tolerance is { } t) Assert.Equal(batched[i], alone, t);
            else Assert.Equal(batched[i], alone, 5);
        }
    }

    [Theory]
    [InlineData("gte-a")]   // rope theta 20000, NTK scaling x 8 (gte-multilingual-reranker-base's), F32
    [InlineData("gte-b")]   // no rope_scaling, F16
    public async Task Gte_text_pairs_score_like_the_reference_tokenizer_and_forward(string model)
    {
        var golden = GoldenLogits.Load(FixturePaths.Model(model)).Cases.Single(c => c.Name == "text_pairs");
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var pairs = golden.Pairs!;

        var logits = await encoder.PredictAsync(pairs, new RerankOptions { RawScores = true });
        var scores = await encoder.PredictAsync(pairs);

        Assert.Equal("NewForSequenceClassification", encoder.Architecture);
        for (var i = 0; i < pairs.Length; i++)
        {
            var real = (int)golden.AttentionMask[i].Sum();
            var ids = encoder.Tokenizer.EncodePair(pairs[i].Query, pairs[i].Document, encoder.MaxLength);
            Assert.Equal(golden.InputIds[i][..real].Select(id => (int)id), ids);
            // The XLM-R template: <s> q </s></s> d </s>.
            Assert.Equal([0], ids[..1]);
            Assert.Equal(2, ids[^1]);
            Assert.Contains(ids.Zip(ids.Skip(1)), p => p == (2, 2));
            var relative = Math.Abs(logits[i] - golden.Logits[i]) / Math.Max(1, Math.Abs(golden.Logits[i]));
            Assert.True(relative < 1e-4, $"pair {i}: got {logits[i]}, reference {golden.Logits[i]}");
            Assert.Equal(1 / (1 + Math.Exp(-golden.Logits[i])), scores[i], 4);
        }
    }

    // Alone a pair runs the flash attention, in the batch the masked one: the same up to float rounding (1.8e-6 measured).
    [Fact]
    public Task A_gte_pair_scores_the_same_alone_and_in_a_mixed_batch() =>
        PairsScoreTheSameAloneAndInOneBatch("gte-a", forestWords: 200, tolerance: 1e-5f);

    [Theory]
    [InlineData("rope_scaling", """{"type": "yarn", "factor": 4.0}""", "rope_scaling.type \"yarn\"")]
    [InlineData("rope_scaling", """{"type": "ntk", "factor": 8.0, "mixed_b": 0.5}""", "rope_scaling.mixed_b")]
    [InlineData("rope_scaling", """{"type": "ntk", "factor": 0.5}""", "rope_scaling.factor 0.5")]
    [InlineData("logn_attention_scale", "true", "logn_attention_scale true")]
    [InlineData("pack_qkv", "false", "pack_qkv false")]
    [InlineData("layer_norm_type", "\"rms_norm\"", "layer_norm_type \"rms_norm\"")]
    [InlineData("position_embedding_type", "\"absolute\"", "position_embedding_type \"absolute\"")]
    public async Task A_gte_config_it_cannot_run_is_refused_naming_the_key(string key, string value, string named)
    {
        var e = await LoadRefused("gte-a", config => config[key] = JsonNode.Parse(value));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(named, e.Message);
    }

    // A copy of `model` whose config.json `change` edits, loaded: what CrossEncoder throws.
    private static async Task<RerankException> LoadRefused(string model, Action<JsonNode> change)
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model(model));
        var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!;
        change(config);
        temp.Write("config.json", config.ToJsonString());
        return await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));
    }

    [Fact]
    public async Task Weights_of_another_layout_under_a_gte_config_fail_naming_the_first_missing_tensor()
    {
        var e = await LoadRefused("tiny-a", config =>
        {
            config["architectures"] = new JsonArray("NewForSequenceClassification");
            config["model_type"] = "new";
            config["position_embedding_type"] = "rope";
        });

        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
        Assert.Contains("tensor 'new.embeddings.word_embeddings.weight' (expected shape [16002, 32]) is missing", e.Message);
    }

    [Theory]
    [InlineData("deberta-a")]   // DeBERTa-v3's attention (8 log buckets), no token types, F32
    [InlineData("deberta-b")]   // c2p only, clipped distances, absolute positions, token types 0/1, F16
    public async Task Deberta_text_pairs_score_like_the_reference_tokenizer_and_forward(string model)
    {
        await TextPairsScoreLikeTheReference(model, "DebertaV2ForSequenceClassification");

        // The DeBERTa template: [CLS] q [SEP] d [SEP], the document and its [SEP] in segment 1.
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var ids = encoder.Tokenizer.EncodePair("what is a panda?", "a bear", encoder.MaxLength);
        var types = new long[ids.Length];
        encoder.Tokenizer.TokenTypeIds(ids.Select(i => (long)i).ToArray(), types);
        Assert.Equal([1, .. encoder.Tokenizer.EncodeText("what is a panda?"), 2, .. encoder.Tokenizer.EncodeText("a bear"), 2], ids);
        Assert.Equal(encoder.Tokenizer.EncodeText("a bear").Length + 1, types.Count(t => t == 1));
    }

    // Pairs longer than deberta-a's 8 buckets reach the log buckets; alone (unpadded, shorter relative-position gathers) and
    // padded in one batch the same up to float rounding (1.3e-6 measured).
    [Fact]
    public Task A_deberta_pair_past_the_buckets_scores_the_same_alone_and_in_a_mixed_batch() =>
        PairsScoreTheSameAloneAndInOneBatch("deberta-a", forestWords: 100, tolerance: 1e-5f);

    [Theory]
    [InlineData("conv_kernel_size", "3", "conv_kernel_size 3 (DebertaV2Encoder's ConvLayer")]
    [InlineData("relative_attention", "false", "relative_attention false")]
    [InlineData("pos_att_type", "\"p2c|c2p|p2p\"", "pos_att_type \"p2p\"")]
    [InlineData("pos_att_type", "[\"c2p\", \"c2c\"]", "pos_att_type \"c2c\"")]
    [InlineData("attention_head_size", "64", "attention_head_size 64")]
    [InlineData("pooler_hidden_size", "48", "pooler_hidden_size 48")]
    [InlineData("pooler_hidden_act", "\"relu\"", "pooler_hidden_act \"relu\"")]
    [InlineData("hidden_act", "\"relu\"", "hidden_act \"relu\"")]
    [InlineData("num_labels", "3", "the model has 3 labels")]
    public async Task A_deberta_config_it_cannot_run_is_refused_naming_the_key(string key, string value, string named)
    {
        var e = await LoadRefused("deberta-a", config =>
        {
            if (key != "num_labels")
            {
                config[key] = JsonNode.Parse(value);
                return;
            }
            config["id2label"] = new JsonObject { ["0"] = "a", ["1"] = "b", ["2"] = "c" };
            config["label2id"] = new JsonObject { ["a"] = 0, ["b"] = 1, ["c"] = 2 };
        });

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public async Task Weights_of_another_layout_under_a_deberta_config_fail_naming_the_first_missing_tensor_and_the_layout()
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("deberta-a"));
        File.Copy(FixturePaths.Model("deberta-b") + "/model.safetensors", temp.PathOf("model.safetensors"), overwrite: true);

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        // deberta-b's word table is 16 wide (embedding_size) where deberta-a's config reads 24.
        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
        Assert.Contains("'deberta.embeddings.word_embeddings.weight'", e.Message);
        Assert.Contains("transformers' DebertaV2ForSequenceClassification: deberta.embeddings.{word_embeddings, LayerNorm}", e.Message);
        Assert.Contains("deberta.encoder.rel_embeddings, deberta.encoder.LayerNorm, pooler.dense, classifier", e.Message);
    }

    [Fact]
    public async Task A_deberta_folder_without_its_template_tokenizer_is_refused()
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("deberta-a"));
        File.Copy(Path.Combine(FixturePaths.Tokenizer, "tokenizer.json"), temp.PathOf("tokenizer.json"), overwrite: true);   // XLM-R's

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("a DeBERTa-v2/v3 reranker needs its SentencePiece tokenizer.json with the [CLS] A [SEP] B [SEP] template", e.Message);
    }

    [Fact]
    public async Task A_bert_pair_scores_the_same_alone_and_in_a_mixed_batch()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("bert-a"));
        (string, string)[] pairs = [("what is a panda", "The giant panda is a bear species endemic to China, living in mountain forests."), ("panda", "bear"), ("q", string.Join(' ', Enumerable.Repeat("forest", 200)))];

        var batched = await encoder.PredictAsync(pairs);
        for (var i = 0; i < pairs.Length; i++)
            Assert.Equal(batched[i], (await encoder.PredictAsync([pairs[i]]))[0], 5);
    }

    [Fact]
    public async Task Bert_max_length_is_the_position_table_not_shortened_by_a_padding_offset()
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model("bert-a"));
        Assert.Equal(512, encoder.MaxLength);
        var long512 = await encoder.PredictAsync([("query", string.Join(' ', Enumerable.Repeat("forest", 2000)))]);
        Assert.True(float.IsFinite(long512[0]));
    }

    [Fact]
    public async Task A_bert_classifier_with_several_labels_is_refused_as_not_a_reranker()
    {
        using var temp = new TempDirectory();
        foreach (var file in Directory.GetFiles(FixturePaths.Model("bert-b"))) File.Copy(file, temp.PathOf(Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!;
        config["id2label"] = new JsonObject { ["0"] = "negative", ["1"] = "positive" };
        config["label2id"] = new JsonObject { ["negative"] = 0, ["positive"] = 1 };
        temp.Write("config.json", config.ToJsonString());

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));
        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("2 labels", e.Message);
    }

    [Fact]
    public async Task An_unknown_architecture_is_refused_naming_the_key_and_the_supported_ones()
    {
        using var temp = new TempDirectory();
        foreach (var file in Directory.GetFiles(FixturePaths.Model("bert-b"))) File.Copy(file, temp.PathOf(Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!;
        config["architectures"] = new JsonArray("DistilBertForSequenceClassification");
        temp.Write("config.json", config.ToJsonString());

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));
        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("architectures [DistilBertForSequenceClassification]", e.Message);
        Assert.Contains("BertForSequenceClassification", e.Message);
    }
}
