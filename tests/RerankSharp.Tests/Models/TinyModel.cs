using System.Text.Json;

namespace RerankSharp.Tests.Models;

/// <summary>
/// Model files for tests: the real bge-reranker-v2-m3 configs as published, and a tiny
/// XLM-R-shaped folder (config, weights, tokenizer) whose keys a test can change one at a time.
/// </summary>
internal static class TinyModel
{
    /// <summary>config.json of BAAI/bge-reranker-v2-m3, byte for byte in content as on the hub.</summary>
    public const string BgeRerankerV2M3Config = """
        {
          "_name_or_path": "BAAI/bge-m3",
          "architectures": [
            "XLMRobertaForSequenceClassification"
          ],
          "attention_probs_dropout_prob": 0.1,
          "bos_token_id": 0,
          "classifier_dropout": null,
          "eos_token_id": 2,
          "hidden_act": "gelu",
          "hidden_dropout_prob": 0.1,
          "hidden_size": 1024,
          "id2label": {
            "0": "LABEL_0"
          },
          "initializer_range": 0.02,
          "intermediate_size": 4096,
          "label2id": {
            "LABEL_0": 0
          },
          "layer_norm_eps": 1e-05,
          "max_position_embeddings": 8194,
          "model_type": "xlm-roberta",
          "num_attention_heads": 16,
          "num_hidden_layers": 24,
          "output_past": true,
          "pad_token_id": 1,
          "position_embedding_type": "absolute",
          "torch_dtype": "float32",
          "transformers_version": "4.38.1",
          "type_vocab_size": 1,
          "use_cache": true,
          "vocab_size": 250002
        }
        """;

    /// <summary>tokenizer_config.json of BAAI/bge-reranker-v2-m3 (added_tokens_decoder shortened to one entry).</summary>
    public const string BgeRerankerV2M3TokenizerConfig = """
        {
          "added_tokens_decoder": {
            "0": {"content": "<s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}
          },
          "bos_token": "<s>",
          "clean_up_tokenization_spaces": true,
          "cls_token": "<s>",
          "eos_token": "</s>",
          "mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": true, "normalized": true, "rstrip": false, "single_word": false},
          "model_max_length": 8192,
          "pad_token": "<pad>",
          "sep_token": "</s>",
          "sp_model_kwargs": {},
          "tokenizer_class": "XLMRobertaTokenizer",
          "unk_token": "<unk>"
        }
        """;

    /// <summary>The keys of a tiny XLM-R config, in a mutable dictionary a test can edit before <see cref="Json"/>.</summary>
    public static Dictionary<string, object?> ConfigKeys() => new()
    {
        ["architectures"] = new[] { "XLMRobertaForSequenceClassification" },
        ["model_type"] = "xlm-roberta",
        ["vocab_size"] = 10,
        ["hidden_size"] = 8,
        ["num_hidden_layers"] = 1,
        ["num_attention_heads"] = 2,
        ["intermediate_size"] = 16,
        ["hidden_act"] = "gelu",
        ["max_position_embeddings"] = 20,
        ["type_vocab_size"] = 1,
        ["layer_norm_eps"] = 1e-5,
        ["pad_token_id"] = 1,
        ["id2label"] = new Dictionary<string, string> { ["0"] = "LABEL_0" },
        ["torch_dtype"] = "float32",
    };

    public static string Json(Dictionary<string, object?> keys) => JsonSerializer.Serialize(keys);

    /// <summary>A few tensors of the tiny model, enough for store and summary tests.</summary>
    public static SafetensorsBuilder Weights() => new SafetensorsBuilder()
        .AddCounting("roberta.embeddings.word_embeddings.weight", "F32", 4, 10, 8)
        .AddCounting("roberta.embeddings.position_embeddings.weight", "F32", 4, 20, 8)
        .AddCounting("classifier.out_proj.weight", "F16", 2, 1, 8)
        .AddCounting("classifier.out_proj.bias", "F16", 2, 1)
        .AddCounting("roberta.embeddings.position_ids", "I64", 8, 1, 20);

    /// <summary>
    /// Writes a complete tiny folder: config.json, model.safetensors and sentencepiece.bpe.model
    /// (whose content only the tokenizer reads, so any bytes do here). No tokenizer_config.json.
    /// </summary>
    public static TempDirectory Folder(Dictionary<string, object?>? configKeys = null)
    {
        var directory = new TempDirectory();
        directory.Write("config.json", Json(configKeys ?? ConfigKeys()));
        Weights().WriteTo(directory);
        directory.Write("sentencepiece.bpe.model", [0x0a, 0x01, 0x02]);
        return directory;
    }
}
