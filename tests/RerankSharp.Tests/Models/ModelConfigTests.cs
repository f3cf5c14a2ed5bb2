using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class ModelConfigTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private ModelConfig LoadKeys(Dictionary<string, object?> keys) =>
        ModelConfig.Load(_directory.Write("config.json", TinyModel.Json(keys)));

    private string WriteKeys(Dictionary<string, object?> keys) =>
        _directory.Write("config.json", TinyModel.Json(keys));

    [Fact]
    public void Load_BgeRerankerV2M3Config_ReadsEveryKey()
    {
        string path = _directory.Write("config.json", TinyModel.BgeRerankerV2M3Config);

        ModelConfig config = ModelConfig.Load(path);

        Assert.Equal(["XLMRobertaForSequenceClassification"], config.Architectures);
        Assert.Equal("xlm-roberta", config.ModelType);
        Assert.Equal(250002, config.VocabSize);
        Assert.Equal(1024, config.HiddenSize);
        Assert.Equal(24, config.NumHiddenLayers);
        Assert.Equal(16, config.NumAttentionHeads);
        Assert.Equal(4096, config.IntermediateSize);
        Assert.Equal("gelu", config.HiddenAct);
        Assert.Equal(8194, config.MaxPositionEmbeddings);
        Assert.Equal(1, config.TypeVocabSize);
        Assert.Equal(1e-5, config.LayerNormEps);
        Assert.Equal(1, config.PadTokenId);
        Assert.Equal(1, config.NumLabels);
        Assert.Equal("absolute", config.PositionEmbeddingType);
        Assert.Equal("float32", config.TorchDtype);
        Assert.Equal(64, config.HeadSize);
    }

    [Fact]
    public void Load_SentenceTransformersActivationKeys_AreReadAsWritten()
    {
        var keys = TinyModel.ConfigKeys();
        keys["sentence_transformers"] = new Dictionary<string, object> { ["activation_fn"] = "torch.nn.modules.activation.Sigmoid", ["version"] = "4.1.0" };
        keys["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity";

        ModelConfig config = LoadKeys(keys);

        Assert.Equal("torch.nn.modules.activation.Sigmoid", config.SentenceTransformersActivationFn);
        Assert.Equal("torch.nn.modules.linear.Identity", config.SbertCeDefaultActivationFunction);
    }

    [Fact]
    public void Load_BgeRerankerV2M3Config_DeclaresNoSentenceTransformersActivation()
    {
        ModelConfig config = ModelConfig.Load(_directory.Write("config.json", TinyModel.BgeRerankerV2M3Config));

        Assert.Null(config.SentenceTransformersActivationFn);
        Assert.Null(config.SbertCeDefaultActivationFunction);
    }

    [Fact]
    public void Load_OptionalKeysAbsent_TakesXlmRobertaConfigDefaults()
    {
        var keys = TinyModel.ConfigKeys();
        foreach (string key in new[] { "architectures", "hidden_act", "type_vocab_size", "layer_norm_eps", "pad_token_id", "id2label", "torch_dtype" })
            keys.Remove(key);

        ModelConfig config = LoadKeys(keys);

        Assert.Empty(config.Architectures);
        Assert.Equal("gelu", config.HiddenAct);
        Assert.Equal(2, config.TypeVocabSize);
        Assert.Equal(1e-12, config.LayerNormEps);
        Assert.Equal(1, config.PadTokenId);
        Assert.Equal(1, config.NumLabels);
        Assert.Null(config.TorchDtype);
    }

    [Fact]
    public void Load_NullOptionalKey_CountsAsAbsent()
    {
        var keys = TinyModel.ConfigKeys();
        keys["pad_token_id"] = null;
        keys["torch_dtype"] = null;
        keys["classifier_dropout"] = null;

        ModelConfig config = LoadKeys(keys);

        Assert.Equal(1, config.PadTokenId);
        Assert.Null(config.TorchDtype);
    }

    [Fact]
    public void Load_DtypeKeyOfNewerTransformers_FillsTorchDtype()
    {
        var keys = TinyModel.ConfigKeys();
        keys.Remove("torch_dtype");
        keys["dtype"] = "bfloat16";

        Assert.Equal("bfloat16", LoadKeys(keys).TorchDtype);
    }

    [Fact]
    public void Load_NumLabelsKey_WinsOverDefault()
    {
        var keys = TinyModel.ConfigKeys();
        keys.Remove("id2label");
        keys["num_labels"] = 3;

        Assert.Equal(3, LoadKeys(keys).NumLabels);
    }

    [Fact]
    public void Load_Id2LabelOnly_CountsItsEntries()
    {
        var keys = TinyModel.ConfigKeys();
        keys["id2label"] = new Dictionary<string, string> { ["0"] = "no", ["1"] = "yes" };

        Assert.Equal(2, LoadKeys(keys).NumLabels);
    }

    [Fact]
    public void Load_NumLabelsDisagreesWithId2Label_IsInvalid()
    {
        var keys = TinyModel.ConfigKeys();
        keys["num_labels"] = 2;
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            path, "num_labels 2 disagrees with the 1 entries of id2label");
    }

    [Fact]
    public void Load_EmptyId2Label_IsInvalid()
    {
        var keys = TinyModel.ConfigKeys();
        keys["id2label"] = new Dictionary<string, string>();
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path), "\"id2label\" is empty");
    }

    [Fact]
    public void Load_MissingFile_IsModelNotFound()
    {
        string path = _directory.PathOf("config.json");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelConfig.Load(path),
            $"Model config not found: {path} does not exist.", "Pass a folder that holds config.json and model.safetensors");
    }

    [Fact]
    public void Load_NotJson_ReportsFileLineAndPosition()
    {
        string path = _directory.Write("config.json", "{\n  \"hidden_size\": 1024,\n  \"vocab_size\": ,\n}");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            $"{path} is not valid JSON (line 3, position 17", "re-download the model");
    }

    [Fact]
    public void Load_NotUtf8_IsInvalid()
    {
        string path = _directory.Write("config.json", [(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)'}']);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path), path, "not UTF-8");
    }

    [Fact]
    public void Load_TopLevelNotObject_IsInvalid()
    {
        string path = _directory.Write("config.json", "[1, 2]");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            path, "the top level must be a JSON object");
    }

    [Theory]
    [InlineData("model_type")]
    [InlineData("vocab_size")]
    [InlineData("hidden_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("num_attention_heads")]
    [InlineData("intermediate_size")]
    [InlineData("max_position_embeddings")]
    public void Load_RequiredKeyMissing_NamesTheKey(string key)
    {
        var keys = TinyModel.ConfigKeys();
        keys.Remove(key);
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            $"{path}: \"{key}\" is missing; fix config.json or re-download the model");
    }

    [Fact]
    public void Load_ConfigOfCustomCode_NeedsNoModelTypeAndKeepsXlmRobertaPositions()
    {
        // jina-reranker-v2's config.json: auto_map names its own config class and there is no model_type, which
        // transformers' AutoConfig accepts; its architectures entry still numbers positions from pad_token_id + 1.
        var keys = TinyModel.ConfigKeys();
        keys.Remove("model_type");
        keys["auto_map"] = new Dictionary<string, object>
        {
            ["AutoConfig"] = "configuration_xlm_roberta.XLMRobertaFlashConfig",
            ["AutoModelForSequenceClassification"] = "modeling_xlm_roberta.XLMRobertaForSequenceClassification",
            ["AutoTokenizer"] = new object?[] { "tokenization.Slow", null },
        };

        ModelConfig config = LoadKeys(keys);

        Assert.Equal("", config.ModelType);
        Assert.Equal("configuration_xlm_roberta.XLMRobertaFlashConfig", config.AutoMap["AutoConfig"]);
        Assert.False(config.AutoMap.ContainsKey("AutoTokenizer"));
        Assert.Equal(2, config.PositionOffset);
    }

    public static TheoryData<string, object?, string> WrongValues => new()
    {
        { "hidden_size", "1024", "\"hidden_size\" must be a positive integer, but is \"1024\" (a string)" },
        { "hidden_size", 1024.5, "\"hidden_size\" must be a positive integer, but is 1024.5" },
        { "num_hidden_layers", 0, "\"num_hidden_layers\" must be a positive integer, but is 0" },
        { "vocab_size", -3, "\"vocab_size\" must be a positive integer, but is -3" },
        { "intermediate_size", 3_000_000_000L, "\"intermediate_size\" must be a positive integer, but is 3000000000" },
        { "pad_token_id", -1, "\"pad_token_id\" must be a non-negative integer, but is -1" },
        { "type_vocab_size", true, "\"type_vocab_size\" must be a non-negative integer, but is true" },
        { "layer_norm_eps", 0, "\"layer_norm_eps\" must be a positive number, but is 0" },
        { "layer_norm_eps", "1e-5", "\"layer_norm_eps\" must be a positive number" },
        { "model_type", "", "\"model_type\" must be a non-empty string" },
        { "model_type", 5, "\"model_type\" must be a non-empty string, but is 5" },
        { "hidden_act", new[] { "gelu" }, "\"hidden_act\" must be a string, but is [\"gelu\"]" },
        { "architectures", "XLMRobertaForSequenceClassification", "\"architectures\" must be a list of class names" },
        { "architectures", new object[] { 1 }, "\"architectures\" must be a list of class names" },
        { "id2label", new[] { "LABEL_0" }, "\"id2label\" must be a JSON object" },
        { "num_labels", 0, "\"num_labels\" must be a positive integer" },
        { "sentence_transformers", "torch.nn.Sigmoid", "\"sentence_transformers\" must be a JSON object" },
        { "sentence_transformers", new Dictionary<string, object> { ["activation_fn"] = 1 }, "\"activation_fn\" must be a string, but is 1" },
        { "sbert_ce_default_activation_function", true, "\"sbert_ce_default_activation_function\" must be a string" },
    };

    [Theory]
    [MemberData(nameof(WrongValues))]
    public void Load_KeyOfWrongTypeOrRange_SaysWhatWasExpected(string key, object? value, string expected)
    {
        var keys = TinyModel.ConfigKeys();
        keys[key] = value;
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path), path, expected, "re-download the model");
    }

    [Fact]
    public void Load_HiddenSizeNotDivisibleByHeads_IsInvalid()
    {
        var keys = TinyModel.ConfigKeys();
        keys["hidden_size"] = 10;
        keys["num_attention_heads"] = 4;
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            path, "hidden_size 10 is not divisible by num_attention_heads 4");
    }

    [Fact]
    public void Load_PadTokenIdOutsideVocabulary_IsInvalid()
    {
        var keys = TinyModel.ConfigKeys();
        keys["pad_token_id"] = 10;
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            "pad_token_id 10 is not below vocab_size 10");
    }

    [Fact]
    public void Load_PositionTableEndingAtPadding_IsInvalid()
    {
        var keys = TinyModel.ConfigKeys();
        keys["max_position_embeddings"] = 2;
        string path = WriteKeys(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path),
            "max_position_embeddings 2 leaves no positions after pad_token_id 1 + 1");
    }

    [Fact]
    public void Load_KeyEscapingALoneSurrogate_IsInvalidModel()
    {
        // Found by fuzzing: JsonDocument accepted the key and the next lookup threw InvalidOperationException.
        string path = _directory.Write("config.json", TinyModel.BgeRerankerV2M3Config.Replace("\"vocab_size\"", "\"vocab\\ud800_size\""));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelConfig.Load(path), path, "lone UTF-16 surrogate");
    }
}
