using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public class HubFileSelectionTests
{
    // The files of BAAI/bge-reranker-v2-m3 on the hub, plus the kinds of extras other repositories carry.
    private static readonly string[] Published =
    [
        ".gitattributes", "README.md", "assets/BGE_Reranker_v2_m3.png", "config.json", "model.safetensors",
        "onnx/model.onnx", "onnx/model.onnx_data", "pytorch_model.bin", "sentencepiece.bpe.model",
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "model.fp16.safetensors",
    ];

    [Fact]
    public void Takes_config_tokenizer_and_the_single_weight_file_only()
    {
        var selected = HubFileSelection.Select(Published, null, "BAAI/bge-reranker-v2-m3");

        Assert.Equal(["config.json", "model.safetensors", "sentencepiece.bpe.model", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"], selected);
    }

    [Fact]
    public void Takes_the_sentence_transformers_configs_a_cross_encoder_folder_declares_its_scores_in()
    {
        string[] files = ["README.md", "chat_template.jinja", "config.json", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json",
            "1_LogitScore/config.json", "2_Dense/config.json", "2_Dense/model.safetensors", "model.safetensors", "tokenizer.json", "onnx/config.json"];

        var selected = HubFileSelection.Select(files, null, "org/modular-reranker");

        Assert.Equal(["1_LogitScore/config.json", "2_Dense/config.json", "config.json", "config_sentence_transformers.json", "model.safetensors",
            "modules.json", "sentence_bert_config.json", "tokenizer.json"], selected);
    }

    [Fact]
    public void Takes_the_index_and_the_shards_of_sharded_weights()
    {
        string[] files = ["config.json", "tokenizer.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "onnx/x.safetensors"];

        var selected = HubFileSelection.Select(files, null, "org/sharded");

        Assert.Equal(["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json"], selected);
    }

    [Fact]
    public void A_repository_with_only_pytorch_weights_fails_before_any_download()
    {
        RerankAssert.Throws(RerankErrorKind.ModelNotFound,
            () => HubFileSelection.Select(["config.json", "pytorch_model.bin", "tokenizer.json"], null, "org/old"),
            "org/old has no safetensors weights", "only PyTorch ones");
    }

    [Theory]
    [InlineData("*.json", "config.json", true)]
    [InlineData("*.json", "sub/dir/x.json", true)]      // fnmatch's * crosses '/'
    [InlineData("onnx/*", "onnx/model.onnx", true)]
    [InlineData("onnx/", "onnx/model.onnx", true)]     // a folder means all of it
    [InlineData("model.safetensors", "model.safetensors", true)]
    [InlineData("model.safetensors", "model_safetensors", false)]
    [InlineData("config.jso?", "config.json", true)]
    [InlineData("*.json", "config.json.bak", false)]
    public void Globs_match_as_fnmatch_does(string pattern, string path, bool matches) =>
        Assert.Equal(matches, HubFileSelection.Glob(pattern).IsMatch(path));

    [Fact]
    public void An_include_pattern_that_matches_nothing_lists_what_there_is()
    {
        RerankAssert.Throws(RerankErrorKind.InvalidInput,
            () => HubFileSelection.Select(Published, ["*.gguf"], "BAAI/bge-reranker-v2-m3"),
            "No file of BAAI/bge-reranker-v2-m3 matches '*.gguf'", "config.json");
    }

    [Fact]
    public void An_onnx_only_repository_gets_its_fp32_export_and_the_bert_or_bpe_tokenizer_files()
    {
        string[] files = ["README.md", "config.json", "merges.txt", "onnx/model.onnx", "onnx/model_O1.onnx", "onnx/model_quantized.onnx",
            "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt"];

        var selected = HubFileSelection.Select(files, null, "org/onnx-only");

        Assert.Equal(["config.json", "merges.txt", "onnx/model.onnx", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt"], selected);
    }
}
