using System.Text.Json.Nodes;
using RerankSharp.Models;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Scoring;

// CrossEncoder's activation (CrossEncoderOptions.Activation) and the sentence-transformers folders it reads it from.
public partial class CrossEncoderTests
{
    private const string TransformerModule = "sentence_transformers.base.modules.transformer.Transformer";

    private static TempDirectory CopyWithConfigKey(string model, string key, JsonNode value)
    {
        var temp = TempDirectory.CopyOf(FixturePaths.Model(model));
        var config = JsonNode.Parse(File.ReadAllText(temp.PathOf("config.json")))!;
        config[key] = value;
        temp.Write("config.json", config.ToJsonString());
        return temp;
    }

    // The layout CrossEncoder.save_pretrained writes since sentence-transformers 5.4: model-level config, modules.json,
    // the Transformer's sentence_bert_config.json at the top, and each later module in a folder of its own.
    private static void WriteModules(TempDirectory folder, string activationFn, string task, params (string Path, string Type, string Config)[] heads)
    {
        folder.Write("config_sentence_transformers.json", $$"""{"model_type": "CrossEncoder", "activation_fn": "{{activationFn}}", "prompts": {} }""");
        folder.Write("sentence_bert_config.json", $$"""{"transformer_task": "{{task}}"}""");
        var modules = new JsonArray(new JsonObject { ["idx"] = 0, ["name"] = "0", ["path"] = "", ["type"] = TransformerModule });
        for (var i = 0; i < heads.Length; i++)
        {
            modules.Add(new JsonObject { ["idx"] = i + 1, ["name"] = $"{i + 1}", ["path"] = heads[i].Path, ["type"] = heads[i].Type });
            folder.Write($"{heads[i].Path}/config.json", heads[i].Config);
        }
        folder.Write("modules.json", modules.ToJsonString());
    }

    private static (string, string, string) LogitScore(int trueId, int? falseId) =>
        ("1_LogitScore", "sentence_transformers.cross_encoder.modules.logit_score.LogitScore",
            falseId is { } f ? $$"""{"true_token_id": {{trueId}}, "false_token_id": {{f}}}""" : $$"""{"true_token_id": {{trueId}}}""");

    [Theory]
    [InlineData("bert-a", ActivationMode.Sigmoid, ScoreActivation.Sigmoid)]   // the default, though ms-marco-MiniLM declares Identity
    [InlineData("bert-a", ActivationMode.Model, ScoreActivation.Identity)]    // CrossEncoder.predict's numbers: the logit
    [InlineData("tiny-a", ActivationMode.Model, ScoreActivation.Sigmoid)]     // bge-reranker declares nothing: predict's default
    [InlineData("tiny-a", ActivationMode.None, ScoreActivation.Identity)]
    public async Task Scores_are_the_chosen_activation_of_the_raw_logits(string model, ActivationMode mode, ScoreActivation expected)
    {
        using var encoder = await CrossEncoder.LoadAsync(FixturePaths.Model(model), new CrossEncoderOptions { Activation = mode });

        var scores = await encoder.PredictAsync(Pairs);
        var logits = await encoder.PredictAsync(Pairs, new RerankOptions { RawScores = true });

        Assert.Equal(expected, encoder.Activation);
        Assert.Equal(logits.Select(logit => expected == ScoreActivation.Sigmoid ? RerankScores.Sigmoid(logit) : logit), scores);
    }

    [Fact]
    public async Task A_declared_tanh_applies_to_predictions_rankings_windows_and_token_ids_and_raw_scores_win()
    {
        using var temp = CopyWithConfigKey("bert-a", "sentence_transformers", new JsonObject { ["activation_fn"] = "torch.nn.modules.activation.Tanh" });
        using var encoder = await CrossEncoder.LoadAsync(temp.Path, new CrossEncoderOptions { Activation = ActivationMode.Model });
        var documents = Pairs.Select(p => p.Document).ToList();
        var sameQuery = documents.Select(d => (Pairs[0].Query, d)).ToList();

        var chunk = new RerankOptions { LongDocuments = LongDocumentMode.Chunk };
        int[][] sequences = [encoder.Tokenizer.EncodePair(Pairs[0].Query, documents[0], encoder.MaxLength)];

        var logits = await encoder.PredictAsync(sameQuery, new RerankOptions { RawScores = true });
        var scores = await encoder.PredictAsync(sameQuery);
        var ranked = await encoder.RerankAsync(Pairs[0].Query, documents);
        var chunkedLogits = await encoder.ScoreDocumentsAsync(Pairs[0].Query, documents, chunk with { RawScores = true });
        var chunked = await encoder.ScoreDocumentsAsync(Pairs[0].Query, documents, chunk);
        var tokenizedLogits = await encoder.ScoreTokenizedAsync(sequences, rawScores: true);
        var tokenized = await encoder.ScoreTokenizedAsync(sequences);

        Assert.Equal(ScoreActivation.Tanh, encoder.Activation);
        for (var i = 0; i < documents.Count; i++)
        {
            Assert.Equal((float)Math.Tanh(logits[i]), scores[i]);
            Assert.Equal((float)Math.Tanh(chunkedLogits.Scores[i]), chunked.Scores[i]);
        }
        Assert.All(ranked, r => Assert.Equal(scores[r.Index], r.Score));
        Assert.Equal((float)Math.Tanh(tokenizedLogits[0]), tokenized[0]);
        Assert.All(scores, s => Assert.InRange(s, -1f, 1f));
    }

    [Fact]
    public async Task An_activation_the_engine_does_not_apply_fails_at_load_when_asked_for_and_is_ignored_otherwise()
    {
        using var temp = CopyWithConfigKey("bert-a", "sentence_transformers", new JsonObject { ["activation_fn"] = "torch.nn.modules.activation.ReLU" });

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path, new CrossEncoderOptions { Activation = ActivationMode.Model }));
        using var encoder = await CrossEncoder.LoadAsync(temp.Path);

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(temp.PathOf("config.json"), e.Message);
        Assert.Contains("\"sentence_transformers.activation_fn\" is torch.nn.modules.activation.ReLU", e.Message);
        Assert.Equal(ScoreActivation.Sigmoid, encoder.Activation);
    }

    [Fact]
    public async Task A_modular_classifier_folder_runs_with_the_activation_of_its_config_sentence_transformers_json()
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("bert-a"));   // config.json declares Identity
        WriteModules(temp, "torch.nn.modules.activation.Sigmoid", "sequence-classification");

        using var encoder = await CrossEncoder.LoadAsync(temp.Path, new CrossEncoderOptions { Activation = ActivationMode.Model });

        Assert.Equal(ScoreActivation.Sigmoid, encoder.Activation);
        Assert.Equal("BertForSequenceClassification", CrossEncoder.ArchitectureOf(encoder.Folder));
    }

    [Theory]
    [InlineData("sequence-classification", true, "modules.json", "module 1 (\"type\" sentence_transformers.base.modules.dense.Dense) comes after the classifier's logit")]
    [InlineData("feature-extraction", false, "sentence_bert_config.json", "\"transformer_task\" is feature-extraction, whose output is not a relevance logit")]
    [InlineData("text-generation", false, "sentence_bert_config.json", "architecture is BertForSequenceClassification, not a causal language model")]
    public async Task Modules_the_engine_cannot_run_are_refused_at_load_whatever_the_activation_naming_the_file_and_key(
        string task, bool denseHead, string file, string expected)
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("bert-a"));
        WriteModules(temp, "torch.nn.modules.linear.Identity", task,
            denseHead ? [("1_Dense", "sentence_transformers.base.modules.dense.Dense", """{"in_features": 36, "out_features": 1}""")] : []);

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(temp.PathOf(file) + ":", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.EndsWith("load this model with sentence-transformers instead.", e.Message);
        Assert.Throws<RerankException>(() => CrossEncoder.ArchitectureOf(ModelFolder.Open(temp.Path)));
    }

    [Fact]
    public async Task A_transformer_saved_in_a_subfolder_is_refused_naming_modules_json()
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("bert-a"));
        WriteModules(temp, "torch.nn.modules.linear.Identity", "sequence-classification");
        temp.Write("modules.json", $$"""[{"idx": 0, "name": "0", "path": "0_Transformer", "type": "{{TransformerModule}}"}]""");

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains($"{temp.PathOf("modules.json")}: module 0 has \"type\" {TransformerModule} and \"path\" \"0_Transformer\"", e.Message);
    }

    [Fact]
    public async Task A_modular_qwen3_folder_scoring_yes_minus_no_scores_as_the_folder_without_modules()
    {
        using var plain = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-a"));
        var prompt = (Qwen3RerankerTokenizer)plain.Tokenizer;
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("qwen3-a"));
        WriteModules(temp, "torch.nn.modules.linear.Identity", "text-generation", LogitScore(prompt.YesId, prompt.NoId));

        using var modular = await CrossEncoder.LoadAsync(temp.Path, new CrossEncoderOptions { Activation = ActivationMode.Model });

        Assert.Equal(ScoreActivation.Identity, modular.Activation);
        Assert.Equal(await plain.PredictAsync(Pairs, new RerankOptions { RawScores = true }), await modular.PredictAsync(Pairs));
    }

    // The folder's LogitScore is the scoring spec: with ids a and b the score is logit(a) − logit(b), so three folders
    // over tokens 1, 2 and the preset's "yes" are tied by logit(1) − logit(2) = (logit(1) − logit(yes)) − (logit(2) − logit(yes)),
    // and a true-only LogitScore is logit(a) alone. Ignoring the folder's ids would make all of them the yes − no logit.
    [Theory]
    [InlineData("qwen3-a")]
    [InlineData("mxbai-a")]
    [InlineData("gemma-b")]
    public async Task A_logit_score_over_other_tokens_scores_those_tokens(string model)
    {
        using var plain = await CrossEncoder.LoadAsync(FixturePaths.Model(model));
        var reference = plain.Tokenizer switch
        {
            Qwen3RerankerTokenizer qwen3 => qwen3.YesId,
            DecoderPromptTokenizer prompt => prompt.TrueId,
            var other => throw new InvalidOperationException(other.GetType().Name),
        };
        async Task<float[]> Scores(int trueId, int? falseId)
        {
            using var temp = TempDirectory.CopyOf(FixturePaths.Model(model));
            WriteModules(temp, "torch.nn.modules.linear.Identity", "text-generation", LogitScore(trueId, falseId));
            using var encoder = await CrossEncoder.LoadAsync(temp.Path);
            return await encoder.PredictAsync(Pairs, new RerankOptions { RawScores = true });
        }

        var oneMinusTwo = await Scores(1, 2);
        var oneMinusReference = await Scores(1, reference);
        var twoMinusReference = await Scores(2, reference);
        var one = await Scores(1, null);
        var two = await Scores(2, null);

        for (var i = 0; i < Pairs.Length; i++)
        {
            Assert.Equal(oneMinusReference[i] - twoMinusReference[i], oneMinusTwo[i], 3);
            Assert.Equal(one[i] - two[i], oneMinusTwo[i], 3);
        }
        Assert.NotEqual(oneMinusTwo, await plain.PredictAsync(Pairs, new RerankOptions { RawScores = true }));
    }

    [Fact]
    public async Task A_logit_score_outside_the_vocabulary_is_refused_naming_its_config()
    {
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("qwen3-a"));
        var vocabulary = ModelFolder.Open(temp.Path).Config.VocabSize;
        WriteModules(temp, "torch.nn.modules.linear.Identity", "text-generation", LogitScore(1, vocabulary));

        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));

        Assert.Equal(RerankErrorKind.InvalidModel, e.Kind);
        Assert.Contains($"{temp.PathOf("1_LogitScore/config.json")}: \"false_token_id\" {vocabulary} is outside the vocabulary of {vocabulary} ids", e.Message);
    }

    [Fact]
    public async Task The_folders_default_prompt_is_the_instruction_unless_a_call_gives_one()
    {
        using var plain = await CrossEncoder.LoadAsync(FixturePaths.Model("qwen3-a"));
        var prompt = (Qwen3RerankerTokenizer)plain.Tokenizer;
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("qwen3-a"));
        WriteModules(temp, "torch.nn.modules.linear.Identity", "text-generation", LogitScore(prompt.YesId, prompt.NoId));
        const string instruction = "Given a question about pumps, find the manual page that answers it";
        temp.Write("config_sentence_transformers.json", $$"""{"model_type": "CrossEncoder", "default_prompt_name": "query", "prompts": {"query": "{{instruction}}", "other": "x"} }""");

        using var modular = await CrossEncoder.LoadAsync(temp.Path);
        var raw = new RerankOptions { RawScores = true };

        Assert.Equal(await plain.PredictAsync(Pairs, raw with { Instruction = instruction }), await modular.PredictAsync(Pairs, raw));
        Assert.Equal(await plain.PredictAsync(Pairs, raw with { Instruction = "x" }), await modular.PredictAsync(Pairs, raw with { Instruction = "x" }));
        Assert.NotEqual(await plain.PredictAsync(Pairs, raw), await modular.PredictAsync(Pairs, raw));

        temp.Write("config_sentence_transformers.json", """{"model_type": "CrossEncoder", "default_prompt_name": "missing", "prompts": {"query": "q"} }""");
        var e = await Assert.ThrowsAsync<RerankException>(() => CrossEncoder.LoadAsync(temp.Path));
        Assert.Contains($"{temp.PathOf("config_sentence_transformers.json")}: \"default_prompt_name\" is \"missing\", which \"prompts\" does not hold", e.Message);
    }

    [Fact]
    public async Task A_modular_gemma_folder_scoring_the_yes_logit_alone_scores_as_the_folder_without_modules()
    {
        using var plain = await CrossEncoder.LoadAsync(FixturePaths.Model("gemma-a"));
        var prompt = (DecoderPromptTokenizer)plain.Tokenizer;
        using var temp = TempDirectory.CopyOf(FixturePaths.Model("gemma-a"));
        WriteModules(temp, "torch.nn.modules.linear.Identity", "text-generation", LogitScore(prompt.TrueId, null));

        using var modular = await CrossEncoder.LoadAsync(temp.Path, new CrossEncoderOptions { Activation = ActivationMode.Model });

        Assert.Equal(await plain.PredictAsync(Pairs, new RerankOptions { RawScores = true }), await modular.PredictAsync(Pairs));
    }
}
