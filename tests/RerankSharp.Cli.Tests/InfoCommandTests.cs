using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class InfoCommandTests
{
    [Fact]
    public void Describes_architecture_sizes_and_dtypes_of_a_sharded_bf16_model()
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model("tiny-c"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("XLMRobertaForSequenceClassification", result.Stdout);
        Assert.Contains("BF16", result.Stdout);
        Assert.Contains("model-00002-of-00002.safetensors", result.Stdout);
        Assert.Contains("2 × 32", result.Stdout);
    }

    [Theory]
    [InlineData("bert-b", "BertForSequenceClassification, graph built from the safetensors")]
    [InlineData("qwen3-b", "Qwen3ForCausalLM, graph built from the safetensors")]
    [InlineData("mxbai-b", "Qwen2ForCausalLM, graph built from the safetensors")]
    [InlineData("gemma-a", "GemmaForCausalLM, graph built from the safetensors")]
    [InlineData("modernbert-a", "ModernBertForSequenceClassification, graph built from the safetensors")]
    [InlineData("jina-a", "XLMRobertaForSequenceClassification, graph built from the safetensors")]
    [InlineData("gte-a", "NewForSequenceClassification, graph built from the safetensors")]
    [InlineData("deberta-a", "DebertaV2ForSequenceClassification, graph built from the safetensors")]
    public void Names_the_architecture_it_runs(string model, string runs)
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model(model));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("runs as", result.Stdout);
        Assert.Contains(runs, result.Stdout);
    }

    [Theory]
    [InlineData("modernbert-a", "global on 2 of 3 layers (every 2nd, rope theta 160000); the others see ±8 tokens (local_attention 16, rope theta 10000)",
        "first token ([CLS]) → dense → gelu → norm → classifier")]
    [InlineData("modernbert-b", "global on 2 of 4 layers (every 3rd, rope theta 80000); the others see ±4 tokens (local_attention 8, rope theta 20000)",
        "mean over the real tokens → dense → gelu → norm → classifier")]
    public void Names_modernberts_global_and_local_layers_and_its_pooling(string model, string attention, string head)
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model(model));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(attention, result.Stdout);
        Assert.Contains(head, result.Stdout);
    }

    [Fact]
    public void Gives_a_decoders_stated_head_size_and_its_key_value_heads()
    {
        // qwen3-a: hidden 48, 6 heads, head_dim 12 (not 48 / 6 = 8), 2 key/value heads.
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model("qwen3-a"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("6 heads of 12 (2 key/value heads)", result.Stdout);
    }

    [Fact]
    public void Says_a_jina_folder_runs_the_code_its_auto_map_names_up_to_1024_tokens()
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model("jina-a"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("XLMRobertaForSequenceClassification (no model_type; auto_map AutoConfig configuration_xlm_roberta.XLMRobertaFlashConfig)", result.Stdout);
        Assert.Contains("jina-reranker-v2's own, named by auto_map (configuration_xlm_roberta.XLMRobertaFlashConfig, modeling_xlm_roberta.XLMRobertaForSequenceClassification)", result.Stdout);
        Assert.Contains("roberta.encoder.layers.{i}.{mixer.Wqkv, mixer.out_proj, norm1, mlp.fc1, mlp.fc2, norm2}", result.Stdout);
        Assert.Contains("1,024 tokens (max_position_embeddings 1,026)", result.Stdout);
    }

    [Theory]
    [InlineData("deberta-a", "disentangled: content + p2c + c2p over relative positions in 8 log buckets up to 160, relative embeddings through the layer's query/key projections (share_att_key), LayerNorm'd",
        "word → LayerNorm", "first token ([CLS]) → pooler dense → gelu → classifier")]
    [InlineData("deberta-b", "disentangled: content + c2p over relative positions clipped at ±24, relative embeddings through pos_query_proj / pos_key_proj",
        "word + absolute positions + token types (embedding_size 16 → embed_proj) → LayerNorm", "first token ([CLS]) → pooler dense → tanh → classifier")]
    public void Names_debertas_attention_embeddings_and_pooler(string model, string attention, string embeddings, string head)
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model(model));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(attention, result.Stdout);
        Assert.Contains(embeddings, result.Stdout);
        Assert.Contains(head, result.Stdout);
    }

    [Theory]
    [InlineData("gte-a", "rope theta 20000, fixed NTK scaling × 8 (rope_scaling {type ntk, factor 8}: base 160000, frequencies / 8^(2/head size))")]
    [InlineData("gte-b", "rope theta 10000, no scaling (rope_scaling null)")]
    public void Names_gtes_rope_scaling_and_its_pooler(string model, string positions)
    {
        var result = RerankProcess.Run(null, "info", "--model", FixturePaths.Model(model));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(positions, result.Stdout);
        Assert.Contains("post-LN, merged qkv_proj, gated MLP up · gelu(gate)", result.Stdout);
        Assert.Contains("first token (<s>) → pooler dense → tanh → classifier", result.Stdout);
    }

    [Theory]
    [InlineData("bert-a", "sigmoid",
        "activation       Identity for sentence-transformers' CrossEncoder.predict (config.json: sbert_ce_default_activation_function is torch.nn.modules.linear.Identity)",
        "scores           Sigmoid (the default for every model); --activation model gives CrossEncoder.predict's Identity; --raw gives the logit")]
    [InlineData("tiny-a", "model",
        "activation       none declared, so sentence-transformers' CrossEncoder.predict applies Sigmoid (its default for 1 label)",
        "scores           Sigmoid (--activation model); --raw gives the logit")]
    public void Names_the_activation_the_folder_declares_where_and_what_the_activation_in_effect_applies(
        string model, string activation, string declared, string applied)
    {
        var result = RerankProcess.Run(null, new Dictionary<string, string> { ["RERANK_ACTIVATION"] = activation }, "info", "--model", FixturePaths.Model(model));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(declared, result.Stdout);
        Assert.Contains(applied, result.Stdout);
        Assert.DoesNotContain("modules ", result.Stdout);
    }

    [Fact]
    public void Lists_the_modules_of_a_modular_cross_encoder_and_why_it_cannot_run_them()
    {
        var folder = Directory.CreateTempSubdirectory("rerank-model-");
        try
        {
            foreach (var file in Directory.GetFiles(FixturePaths.Model("bert-a")))
                File.Copy(file, Path.Combine(folder.FullName, Path.GetFileName(file)));
            File.WriteAllText(Path.Combine(folder.FullName, "config_sentence_transformers.json"), """{"model_type": "CrossEncoder", "activation_fn": "torch.nn.modules.activation.Tanh"}""");
            File.WriteAllText(Path.Combine(folder.FullName, "sentence_bert_config.json"), """{"transformer_task": "sequence-classification"}""");
            File.WriteAllText(Path.Combine(folder.FullName, "modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.base.modules.dense.Dense"}]
                """);

            var result = RerankProcess.Run(null, "info", "--model", folder.FullName);

            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("modules          Transformer (sequence-classification) → sentence_transformers.base.modules.dense.Dense (modules.json)", result.Stdout);
            Assert.Contains($"runs as          not supported: {Path.Combine(folder.FullName, "modules.json")}: module 1", result.Stdout);
            Assert.Contains("activation       Tanh for sentence-transformers' CrossEncoder.predict (config_sentence_transformers.json: activation_fn is torch.nn.modules.activation.Tanh)", result.Stdout);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
