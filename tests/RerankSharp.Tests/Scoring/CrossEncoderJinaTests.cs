using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tests.Onnx;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder over jina-reranker-v2 folders: recognised by the code their auto_map names, text in, the reference's
// scores out; and the messages of folders whose tensors are not the layout their config claims.
public partial class CrossEncoderTests
{
    private const string JinaAutoConfig = "configuration_xlm_roberta.XLMRobertaFlashConfig";

    [Theory]
    [InlineData("jina-a")]   // F32, exact GELU, 1024 tokens
    [InlineData("jina-b")]   // BF16 as published, gelu_new, 128 tokens
    public Task Jina_text_pairs_score_like_the_reference_tokenizer_and_forward(string model) =>
        TextPairsScoreLikeTheReference(model, "XLMRobertaForSequenceClassification");

    [Fact]
    public Task A_jina_pair_scores_the_same_alone_and_in_a_mixed_batch() =>
        PairsScoreTheSameAloneAndInOneBatch("jina-a", forestWords: 1500);   // the long one is cut at 1024 tokens

    [Theory]
    [InlineData("jina-a", 1024)]   // tokenizer_config.json's model_max_length, and 1026 positions from pad_token_id + 1
    [InlineData("jina-b", 128)]    // 130 positions cap it
    public async Task Jina_max_length_is_its_tokenizer_configs_1024_within_the_position_table(string model, int maxLength)
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model));

        var longest = await encoder.PredictAsync([("query", string.Join(' ', Enumerable.Repeat("forest", 3000)))]);

        Assert.Equal(maxLength, encoder.MaxLength);
        Assert.True(float.IsFinite(longest[0]));
        using var asked = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions { MaxLength = maxLength + 2 });
        Assert.Equal(maxLength, asked.MaxLength);   // more is cut to what the positions hold, with a warning
    }

    [Fact]
    public async Task An_auto_map_into_jinas_own_hub_repository_runs_the_same_code()
    {
        // The form transformers' add_model_info_to_auto_map gives a config loaded from the hub ("repo--module.Class"),
        // which a save of that model can keep.
        using var temp = JinaCopy("jina-a", config =>
        {
            foreach (var key in new[] { "AutoConfig", "AutoModel", "AutoModelForSequenceClassification" })
                config["auto_map"]![key] = "jinaai/jina-reranker-v2-base-multilingual--" + config["auto_map"]![key]!.GetValue<string>();
        });
        using var original = await CrossEncoder.LoadAsync(FixturePaths.Model("jina-a"));
        using var saved = await CrossEncoder.LoadAsync(temp.Path);
        (string, string)[] pairs = [("what is a panda", "The giant panda is a bear species endemic to China."), ("panda", "bear")];

        Assert.Equal(await original.PredictAsync(pairs), await saved.PredictAsync(pairs));
    }

    [Fact]
    public async Task Jinas_tensors_under_a_transformers_xlmr_config_fail_naming_the_first_missing_tensor_and_the_layout_expected()
    {
        // Without auto_map the config is transformers' XLM-R (as transformers itself would load it, with random weights).
        using var temp = JinaCopy("jina-a", config =>
        {
            config.Remove("auto_map");
            config["model_type"] = "xlm-roberta";
        });

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
        Assert.Contains("tensor 'roberta.embeddings.LayerNorm.weight' (expected shape [8]) is missing", e.Message);
        Assert.Contains("the model reads the layout of transformers' XLMRobertaForSequenceClassification: ", e.Message);
        Assert.Contains("roberta.encoder.layer.{i}.{attention.self.query, attention.self.key, attention.self.value, attention.output.dense, "
            + "attention.output.LayerNorm, intermediate.dense, output.dense, output.LayerNorm}", e.Message);
        Assert.Contains($"auto_map names its code, {JinaAutoConfig}", e.Message);   // what this folder lacks
    }

    [Fact]
    public async Task A_jina_folder_missing_a_tensor_fails_naming_it_and_jinas_layout()
    {
        using var temp = JinaCopy("jina-a");
        RenameTensor(temp.PathOf("model.safetensors"), "roberta.encoder.layers.1.mixer.Wqkv.weight", "roberta.encoder.layers.1.mixer.Wqkv_weight");

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
        Assert.Contains("tensor 'roberta.encoder.layers.1.mixer.Wqkv.weight' (expected shape [24, 8]) is missing", e.Message);
        Assert.Contains($"the model reads the layout of jina-reranker-v2's XLMRobertaForSequenceClassification (auto_map: {JinaAutoConfig}): ", e.Message);
        Assert.Contains("roberta.emb_ln, roberta.encoder.layers.{i}.{mixer.Wqkv, mixer.out_proj, norm1, mlp.fc1, mlp.fc2, norm2}", e.Message);
    }

    [Fact]
    public async Task Transformers_xlmr_tensors_under_jinas_auto_map_fail_naming_emb_ln_and_jinas_layout()
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("tiny-a"));
        var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!;
        config.AsObject().Remove("model_type");
        config["auto_map"] = new JsonObject
        {
            ["AutoConfig"] = JinaAutoConfig, ["AutoModelForSequenceClassification"] = "modeling_xlm_roberta.XLMRobertaForSequenceClassification",
        };
        temp.Write("config.json", config.ToJsonString());

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
        Assert.Contains("tensor 'roberta.emb_ln.weight' (expected shape [32]) is missing", e.Message);
        Assert.Contains("jina-reranker-v2's XLMRobertaForSequenceClassification", e.Message);
    }

    [Theory]
    [InlineData("position_embedding_type", "\"rotary\"", "position_embedding_type \"rotary\"")]
    [InlineData("last_layer_subset", "true", "last_layer_subset true")]
    [InlineData("pad_vocab_size_multiple", "64", "pad_vocab_size_multiple 64")]
    [InlineData("hidden_act", "\"relu\"", "hidden_act \"relu\"")]
    public async Task A_jina_config_the_code_would_build_differently_is_refused_naming_the_key(string key, string json, string named)
    {
        using var temp = JinaCopy("jina-b", config => config[key] = JsonNode.Parse(json));

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(named, e.Message);
    }

    [Theory]
    [InlineData("AutoConfig", "jinaai/xlm-roberta-flash-implementation--configuration_xlm_roberta.XLMRobertaFlashConfig", "names the code of jinaai/xlm-roberta-flash-implementation")]
    [InlineData("AutoModelForSequenceClassification", "modeling_lora.XLMRobertaLoRA", "auto_map.AutoModelForSequenceClassification \"modeling_lora.XLMRobertaLoRA\"")]
    [InlineData("AutoModelForSequenceClassification", null, "auto_map.AutoModelForSequenceClassification is missing")]
    public async Task Jinas_config_class_with_other_code_is_refused_naming_the_auto_map_entry(string entry, string? value, string named)
    {
        using var temp = JinaCopy("jina-b", config =>
        {
            if (value is null) config["auto_map"]!.AsObject().Remove(entry);
            else config["auto_map"]![entry] = value;
        });

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(named, e.Message);
    }

    // A copy of a jina fixture (links followed) with its config.json changed by `edit`.
    private static TempDirectory JinaCopy(string model, Action<JsonObject>? edit = null)
    {
        var temp = TempDirectory.CopyOf(FixturePaths.Model(model));
        if (edit is not null)
        {
            var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!.AsObject();
            edit(config);
            temp.Write("config.json", config.ToJsonString());
        }
        return temp;
    }

    // Renames a tensor in a safetensors header to a name of the same length, so offsets and padding stay as they are.
    private static void RenameTensor(string path, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToInt64(bytes, 0);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Contains($"\"{from}\"", header);
        Encoding.UTF8.GetBytes(header.Replace($"\"{from}\"", $"\"{to}\"", StringComparison.Ordinal)).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }
}
