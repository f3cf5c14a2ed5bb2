using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class SentenceTransformersConfigTests : IDisposable
{
    private const string Sigmoid = "torch.nn.modules.activation.Sigmoid";
    private const string Identity = "torch.nn.modules.linear.Identity";
    private const string TransformerType = "sentence_transformers.base.modules.transformer.Transformer";
    private const string LogitScoreType = "sentence_transformers.cross_encoder.modules.logit_score.LogitScore";

    private readonly TempDirectory _folder = TinyModel.Folder();

    public void Dispose() => _folder.Dispose();

    private SentenceTransformersConfig Load() =>
        SentenceTransformersConfig.Load(_folder.Path, ModelConfig.Load(_folder.PathOf("config.json")), _folder.PathOf("config.json"));

    private void WriteConfigKeys(Action<Dictionary<string, object?>> edit)
    {
        var keys = TinyModel.ConfigKeys();
        edit(keys);
        _folder.Write("config.json", TinyModel.Json(keys));
    }

    // What CrossEncoder.save_pretrained (sentence-transformers 5.4) writes for a Qwen3-Reranker: the Transformer at the
    // top, its sentence_bert_config.json, a LogitScore in 1_LogitScore/, and the model-level config.
    private void WriteModularQwen3Layout(string activationFn = Identity)
    {
        _folder.Write("config_sentence_transformers.json", $$"""
            {"__version__": {"sentence_transformers": "5.4.0", "transformers": "5.5.0", "pytorch": "2.10.0"},
             "activation_fn": "{{activationFn}}", "default_prompt_name": null, "model_type": "CrossEncoder", "prompts": {} }
            """);
        _folder.Write("modules.json", $$"""
            [{"idx": 0, "name": "0", "path": "", "type": "{{TransformerType}}"},
             {"idx": 1, "name": "1", "path": "1_LogitScore", "type": "{{LogitScoreType}}"}]
            """);
        _folder.Write("sentence_bert_config.json", """{"transformer_task": "text-generation", "module_output_name": "causal_logits"}""");
        _folder.Write("1_LogitScore/config.json", """{"true_token_id": 9693, "false_token_id": 2152, "module_input_name": "causal_logits"}""");
    }

    [Fact]
    public void Load_MsMarcoMiniLmFolder_DeclaresIdentityInThePre4Key()
    {
        var config = ModelFolder.Open(FixturePaths.Model("bert-a")).SentenceTransformers;

        Assert.Equal(Identity, config.Activation!.ClassName);
        Assert.Equal(Path.Combine(FixturePaths.Model("bert-a"), "config.json"), config.Activation.Path);
        Assert.Equal("sbert_ce_default_activation_function", config.Activation.Key);
        Assert.Equal("config.json: sbert_ce_default_activation_function", config.Activation.Source);
        Assert.Equal(ScoreActivation.Identity, config.PredictActivation(numLabels: 1));
        Assert.Null(config.ModulesPath);
        Assert.Empty(config.Modules);
    }

    [Fact]
    public void Load_FolderDeclaringNothing_GetsSentenceTransformersDefaultSigmoidForOneLabel()
    {
        var config = Load();

        Assert.Null(config.Activation);
        Assert.Equal(ScoreActivation.Sigmoid, config.PredictActivation(numLabels: 1));
        Assert.Equal(ScoreActivation.Identity, config.PredictActivation(numLabels: 3));
    }

    [Fact]
    public void Load_SentenceTransformersBlock_WinsOverThePre4Key()
    {
        WriteConfigKeys(keys =>
        {
            keys["sentence_transformers"] = new Dictionary<string, object> { ["activation_fn"] = Sigmoid, ["version"] = "4.0.2" };
            keys["sbert_ce_default_activation_function"] = Identity;
        });

        var config = Load();

        Assert.Equal("sentence_transformers.activation_fn", config.Activation!.Key);
        Assert.Equal(ScoreActivation.Sigmoid, config.PredictActivation(numLabels: 1));
    }

    [Theory]
    [InlineData("torch.nn.modules.activation.Sigmoid", ScoreActivation.Sigmoid)]
    [InlineData("torch.nn.Sigmoid", ScoreActivation.Sigmoid)]
    [InlineData("torch.nn.modules.linear.Identity", ScoreActivation.Identity)]
    [InlineData("torch.nn.Identity", ScoreActivation.Identity)]
    [InlineData("torch.nn.modules.activation.Tanh", ScoreActivation.Tanh)]
    [InlineData("torch.nn.Tanh", ScoreActivation.Tanh)]
    public void Function_KnowsTheFullNameAndTheTorchNnAliasOfEachActivation(string className, ScoreActivation expected)
    {
        Assert.Equal(expected, new DeclaredActivation(className, "config.json", "activation_fn").Function);
    }

    [Fact]
    public void PredictActivation_TorchClassRerankSharpDoesNotApply_IsUnsupportedNamingFileKeyAndWhatItApplies()
    {
        WriteConfigKeys(keys => keys["sentence_transformers"] = new Dictionary<string, object> { ["activation_fn"] = "torch.nn.modules.activation.ReLU" });
        var config = Load();

        Assert.Null(config.Activation!.Function);
        RerankAssert.Throws(RerankErrorKind.UnsupportedModel, () => config.PredictActivation(numLabels: 1),
            _folder.PathOf("config.json"), "\"sentence_transformers.activation_fn\" is torch.nn.modules.activation.ReLU",
            "applies torch.nn Sigmoid, Identity and Tanh", "CrossEncoderOptions.Activation = ActivationMode.Sigmoid");
    }

    [Fact]
    public void PredictActivation_ClassOutsideTorch_SaysItIsCustomCode()
    {
        WriteConfigKeys(keys => keys["sbert_ce_default_activation_function"] = "my_package.activations.Scaled");

        RerankAssert.Throws(RerankErrorKind.UnsupportedModel, () => Load().PredictActivation(numLabels: 1),
            "\"sbert_ce_default_activation_function\" is my_package.activations.Scaled", "trust_remote_code=True");
    }

    [Fact]
    public void Load_ModularCrossEncoder_ReadsItsActivationBeforeConfigJsonsAndEveryModule()
    {
        WriteConfigKeys(keys => keys["sentence_transformers"] = new Dictionary<string, object> { ["activation_fn"] = Sigmoid });
        WriteModularQwen3Layout(activationFn: Identity);

        var config = Load();

        Assert.Equal(_folder.PathOf("config_sentence_transformers.json"), config.Activation!.Path);
        Assert.Equal("activation_fn", config.Activation.Key);
        Assert.Equal(ScoreActivation.Identity, config.PredictActivation(numLabels: 1));
        Assert.Equal(_folder.PathOf("modules.json"), config.ModulesPath);
        Assert.Collection(config.Modules,
            transformer =>
            {
                Assert.True(transformer.IsTransformer);
                Assert.Equal("", transformer.Path);
                Assert.Equal("text-generation", transformer.TransformerTask);
                Assert.Equal(_folder.PathOf("sentence_bert_config.json"), transformer.ConfigPath);
                Assert.Equal("Transformer (text-generation)", transformer.Description);
            },
            logitScore =>
            {
                Assert.True(logitScore.IsLogitScore);
                Assert.Equal(1, logitScore.Index);
                Assert.Equal((9693, 2152), (logitScore.TrueTokenId, logitScore.FalseTokenId));
                Assert.Equal(_folder.PathOf("1_LogitScore/config.json"), logitScore.ConfigPath);
                Assert.Equal("LogitScore (logit 9693 − logit 2152)", logitScore.Description);
            });
    }

    [Fact]
    public void Load_ModularFolderWithoutActivation_FallsBackToConfigJson()
    {
        WriteConfigKeys(keys => keys["sbert_ce_default_activation_function"] = Identity);
        WriteModularQwen3Layout();
        _folder.Write("config_sentence_transformers.json", """{"model_type": "CrossEncoder", "activation_fn": null}""");

        var config = Load();

        Assert.Equal("sbert_ce_default_activation_function", config.Activation!.Key);
        Assert.Equal(2, config.Modules.Count);
    }

    [Theory]
    [InlineData("""{"model_type": "SentenceTransformer", "activation_fn": "torch.nn.modules.linear.Identity"}""")]
    [InlineData("""{"activation_fn": "torch.nn.modules.linear.Identity"}""")]
    public void Load_ModulesOfAnotherModelType_AreNotRead(string modelConfig)
    {
        WriteModularQwen3Layout();
        _folder.Write("config_sentence_transformers.json", modelConfig);
        _folder.Write("modules.json", "not JSON at all");

        var config = Load();

        Assert.Null(config.Activation);
        Assert.Null(config.ModulesPath);
        Assert.Empty(config.Modules);
    }

    [Fact]
    public void Load_ConfigSentenceTransformersJsonWithoutModulesJson_IsNotRead()
    {
        _folder.Write("config_sentence_transformers.json", "{ broken");

        Assert.Null(Load().Activation);
    }

    [Fact]
    public void Load_TransformerWithoutItsConfigFile_HasTheDefaultFeatureExtractionTask()
    {
        WriteModularQwen3Layout();
        _folder.Delete("sentence_bert_config.json");

        var transformer = Load().Modules[0];

        Assert.Equal("feature-extraction", transformer.TransformerTask);
        Assert.Null(transformer.ConfigPath);
    }

    [Fact]
    public void Load_ModuleOfAnotherType_IsListedWithoutReadingItsConfig()
    {
        WriteModularQwen3Layout();
        _folder.Write("modules.json", $$"""
            [{"idx": 0, "name": "0", "path": "", "type": "{{TransformerType}}"},
             {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.base.modules.dense.Dense"}]
            """);

        var dense = Load().Modules[1];

        Assert.False(dense.IsTransformer || dense.IsLogitScore);
        Assert.Equal("Dense", dense.ClassName);
        Assert.Equal("sentence_transformers.base.modules.dense.Dense", dense.Description);
        Assert.Null(dense.ConfigPath);
    }

    [Fact]
    public void Load_MalformedModulesJson_IsInvalidNamingTheFile()
    {
        WriteModularQwen3Layout();
        string path = _folder.Write("modules.json", """[{"idx": 0, "path": "",""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => Load(), path, "is not valid JSON");
    }

    [Theory]
    [InlineData("""{"0": {"path": ""}}""", "the top level must be a JSON list of modules")]
    [InlineData("""["Transformer"]""", "module 0: must be a JSON object, but is \"Transformer\" (a string)")]
    [InlineData("""[{"idx": 0, "path": ""}]""", "module 0: \"type\" is missing")]
    [InlineData("""[{"idx": 0, "type": "sentence_transformers.base.modules.transformer.Transformer"}]""", "module 0: \"path\" is missing")]
    [InlineData("""[{"idx": 0, "path": "..", "type": "sentence_transformers.base.modules.transformer.Transformer"}]""", "\"path\" is \"..\", which is not a folder inside the model folder")]
    [InlineData("""[{"idx": 0, "path": "../elsewhere", "type": "sentence_transformers.base.modules.transformer.Transformer"}]""", "which is not a folder inside the model folder")]
    public void Load_ModulesJsonOfTheWrongShape_IsInvalidSayingWhere(string modules, string expected)
    {
        WriteModularQwen3Layout();
        string path = _folder.Write("modules.json", modules);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => Load(), path, expected, "re-download the model");
    }

    [Fact]
    public void Load_LogitScoreWithoutTrueTokenId_IsInvalidNamingItsConfig()
    {
        WriteModularQwen3Layout();
        string path = _folder.Write("1_LogitScore/config.json", """{"false_token_id": 2152}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => Load(), path, "\"true_token_id\" is missing");
    }

    [Fact]
    public void Load_LogitScoreConfigMissing_IsModelNotFound()
    {
        WriteModularQwen3Layout();
        _folder.Delete("1_LogitScore/config.json");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => Load(), _folder.PathOf("1_LogitScore/config.json"), "not found");
    }

    [Fact]
    public void Load_ActivationFnNotAString_IsInvalidNamingTheFile()
    {
        WriteModularQwen3Layout();
        string path = _folder.Write("config_sentence_transformers.json", """{"model_type": "CrossEncoder", "activation_fn": {"name": "Sigmoid"}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => Load(), path, "\"activation_fn\" must be a string");
    }
}
