using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// What a model folder tells sentence-transformers' <c>CrossEncoder</c> about its scores: the activation
/// <c>predict</c> applies to the logit, with the file and key that declare it, and — in the modular layout that
/// sentence-transformers 5.4 introduced — the modules that turn the transformer's output into a score.
/// </summary>
/// <remarks>
/// Read as sentence-transformers 5.4.0 reads a folder (<c>cross_encoder/model.py</c>: <c>__init__</c>,
/// <c>get_default_activation_fn</c>, <c>_parse_model_config</c>; <c>base/model.py</c>: <c>_load_modules</c>), which
/// earlier releases agree with for the keys they wrote. The activation is the first of:
/// <list type="number">
/// <item><c>activation_fn</c> of <c>config_sentence_transformers.json</c>, read only when the folder also has
/// <c>modules.json</c> and the file's <c>model_type</c> is <c>CrossEncoder</c> (a folder of another model type is
/// rebuilt from config.json, its modules and settings ignored);</item>
/// <item><c>sentence_transformers.activation_fn</c> of config.json (CrossEncoder 4.0 to 5.3 saved it there);</item>
/// <item><c>sbert_ce_default_activation_function</c> of config.json (before 4.0; ms-marco-MiniLM has Identity);</item>
/// <item>none declared: <c>predict</c> applies Sigmoid to a one-label model, Identity to several labels.</item>
/// </list>
/// BAAI's bge-reranker configs declare nothing, so <c>predict</c> gives their sigmoid.
/// </remarks>
public sealed record SentenceTransformersConfig
{
    /// <summary>The model-level settings of a modular folder: <c>model_type</c>, <c>activation_fn</c>, prompts, versions.</summary>
    public const string ConfigFileName = "config_sentence_transformers.json";

    /// <summary>The modules of a modular folder, in order: <c>[{"idx", "name", "path", "type"}, …]</c>.</summary>
    public const string ModulesFileName = "modules.json";

    /// <summary>The Transformer module's own config (<c>transformer_task</c>, …), in its path (the folder's top).</summary>
    public const string TransformerConfigFileName = "sentence_bert_config.json";

    /// <summary>The config file of every other module, in its folder (<c>1_LogitScore/config.json</c>).</summary>
    public const string ModuleConfigFileName = "config.json";

    /// <summary>The <c>model_type</c> whose modules.json sentence-transformers' CrossEncoder loads as it is.</summary>
    public const string CrossEncoderModelType = "CrossEncoder";

    private const string FixIt = "fix the file or re-download the model from the Hugging Face hub";

    /// <summary>A folder that says nothing to sentence-transformers: no activation, no modules.</summary>
    public static SentenceTransformersConfig None { get; } = new();

    /// <summary>The activation the folder declares for <c>CrossEncoder.predict</c>, or null when it declares none.</summary>
    public DeclaredActivation? Activation { get; init; }

    /// <summary>modules.json of a modular CrossEncoder folder, as a full path; null when the folder is not one.</summary>
    public string? ModulesPath { get; init; }

    /// <summary>The modules of a modular CrossEncoder folder in modules.json's order; empty when the folder is not one.</summary>
    public IReadOnlyList<SentenceTransformersModule> Modules { get; init; } = [];

    /// <summary>
    /// The prompt config_sentence_transformers.json names as <c>default_prompt_name</c> in its <c>prompts</c> (a decoder
    /// reranker's instruction, e.g. Qwen3-Reranker's "Given a web search query, …"), or null when it names none.
    /// </summary>
    public string? DefaultPrompt { get; init; }

    /// <summary>The LogitScore module that takes the score from a causal model's logits, or null when there is none.</summary>
    public SentenceTransformersModule? LogitScore => Modules.Skip(1).FirstOrDefault(m => m.IsLogitScore);

    /// <summary>
    /// The activation <c>CrossEncoder.predict</c> applies: the declared one, else sentence-transformers' default,
    /// Sigmoid for one label (Identity for several).
    /// </summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.UnsupportedModel"/> when the declared class is not one of <see cref="ScoreActivation"/>'s,
    /// naming the file and key.
    /// </exception>
    public ScoreActivation PredictActivation(int numLabels)
    {
        if (Activation is null)
            return numLabels == 1 ? ScoreActivation.Sigmoid : ScoreActivation.Identity;
        return Activation.Function ?? throw Activation.NotApplied();
    }

    /// <summary>Reads what <paramref name="directory"/> declares, given its already parsed config.json.</summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.InvalidModel"/> if a file read is not JSON or has a key of the wrong type;
    /// <see cref="RerankErrorKind.ModelNotFound"/> if a module's config named by modules.json is missing.
    /// </exception>
    public static SentenceTransformersConfig Load(string directory, ModelConfig config, string configPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        var modular = ReadModular(directory);
        var declared = modular?.Activation;
        if (declared is null && config.SentenceTransformersActivationFn is { } activationFn)
            declared = new DeclaredActivation(activationFn, configPath, "sentence_transformers.activation_fn");
        if (declared is null && config.SbertCeDefaultActivationFunction is { } legacy)
            declared = new DeclaredActivation(legacy, configPath, "sbert_ce_default_activation_function");
        return (modular ?? None) with { Activation = declared };
    }

    // sentence-transformers reads modules.json only when it exists, and loads its modules only when
    // config_sentence_transformers.json says CrossEncoder (a missing file or model_type means SentenceTransformer).
    private static SentenceTransformersConfig? ReadModular(string directory)
    {
        string modulesPath = Path.Combine(directory, ModulesFileName);
        string configPath = Path.Combine(directory, ConfigFileName);
        if (!LinkedFile.Exists(modulesPath) || !LinkedFile.Exists(configPath))
            return null;

        DeclaredActivation? activation;
        string? defaultPrompt;
        using (JsonDocument document = JsonFile.Read(configPath, FixIt))
        {
            JsonObjectReader json = JsonObjectReader.Root(document, configPath, FixIt);
            if (json.OptionalString("model_type") != CrossEncoderModelType)
                return null;
            activation = json.OptionalString("activation_fn") is { } name ? new DeclaredActivation(name, configPath, "activation_fn") : null;
            defaultPrompt = DefaultPromptOf(json, configPath);
        }
        return new SentenceTransformersConfig { Activation = activation, ModulesPath = modulesPath, Modules = ReadModules(directory, modulesPath), DefaultPrompt = defaultPrompt };
    }

    // sentence-transformers applies prompts[default_prompt_name] when a call names no prompt; a name missing from the
    // prompts is an error there at load, and here.
    private static string? DefaultPromptOf(JsonObjectReader json, string configPath)
    {
        if (json.OptionalString("default_prompt_name") is not { } name) return null;
        var prompts = json.OptionalObject("prompts");
        return prompts?.OptionalString(name)
            ?? throw new RerankException(RerankErrorKind.InvalidModel,
                $"{configPath}: \"default_prompt_name\" is \"{name}\", which \"prompts\" does not hold; {FixIt}.");
    }

    private static SentenceTransformersModule[] ReadModules(string directory, string modulesPath)
    {
        using JsonDocument document = JsonFile.Read(modulesPath, FixIt);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{modulesPath}: the top level must be a JSON list of modules, but is {JsonFile.Describe(document.RootElement)}; {FixIt}.");
        return document.RootElement.EnumerateArray()
            .Select((element, index) => ReadModule(directory, JsonObjectReader.Entry(element, $"{modulesPath}: module {index}", FixIt), index))
            .ToArray();
    }

    private static SentenceTransformersModule ReadModule(string directory, JsonObjectReader entry, int index)
    {
        string type = entry.RequiredString("type");
        string path = entry.OptionalString("path") ?? throw entry.Invalid("\"path\" is missing");
        // Modules are saved in folders of their own beside modules.json ("" is the folder itself); a path that
        // climbs out of it is corruption or a file crafted to make the loader read something else.
        if (path.Contains('/') || path.Contains('\\') || path is "." or "..")
            throw entry.Invalid($"\"path\" is \"{path}\", which is not a folder inside the model folder");

        var module = new SentenceTransformersModule(index, path, type);
        string moduleDirectory = Path.Combine(directory, path);
        if (module.IsTransformer)
        {
            // Transformer.load_config: a missing file is an empty config, and transformer_task defaults to feature-extraction.
            string transformerConfig = Path.Combine(moduleDirectory, TransformerConfigFileName);
            if (!LinkedFile.Exists(transformerConfig))
                return module with { TransformerTask = SentenceTransformersModule.DefaultTransformerTask };
            using JsonDocument document = JsonFile.Read(transformerConfig, FixIt);
            JsonObjectReader json = JsonObjectReader.Root(document, transformerConfig, FixIt);
            return module with
            {
                ConfigPath = transformerConfig,
                TransformerTask = json.OptionalString("transformer_task") ?? SentenceTransformersModule.DefaultTransformerTask,
            };
        }
        if (module.IsLogitScore)
        {
            string logitScoreConfig = Path.Combine(moduleDirectory, ModuleConfigFileName);
            using JsonDocument document = JsonFile.Read(logitScoreConfig, FixIt);
            JsonObjectReader json = JsonObjectReader.Root(document, logitScoreConfig, FixIt);
            return module with
            {
                ConfigPath = logitScoreConfig,
                TrueTokenId = json.RequiredInt("true_token_id", min: 0),
                FalseTokenId = json.OptionalInt("false_token_id", min: 0),
            };
        }
        return module;
    }
}

/// <summary>An activation class a model file names for sentence-transformers' <c>CrossEncoder.predict</c>.</summary>
/// <param name="ClassName">The class path as written, e.g. <c>torch.nn.modules.linear.Identity</c>.</param>
/// <param name="Path">The file that names it, as a full path.</param>
/// <param name="Key">The key in that file, e.g. <c>sentence_transformers.activation_fn</c>.</param>
public sealed record DeclaredActivation(string ClassName, string Path, string Key)
{
    // What sentence-transformers' fullname() writes (torch.nn.modules.…) and the torch.nn aliases import_from_string
    // also resolves. sentence-transformers imports any other torch.* class too; those RerankSharp does not apply.
    private static readonly Dictionary<string, ScoreActivation> Known = new(StringComparer.Ordinal)
    {
        ["torch.nn.modules.activation.Sigmoid"] = ScoreActivation.Sigmoid,
        ["torch.nn.Sigmoid"] = ScoreActivation.Sigmoid,
        ["torch.nn.modules.linear.Identity"] = ScoreActivation.Identity,
        ["torch.nn.Identity"] = ScoreActivation.Identity,
        ["torch.nn.modules.activation.Tanh"] = ScoreActivation.Tanh,
        ["torch.nn.Tanh"] = ScoreActivation.Tanh,
    };

    /// <summary>The function <see cref="ClassName"/> names, or null when RerankSharp does not apply it.</summary>
    public ScoreActivation? Function => Known.TryGetValue(ClassName, out var function) ? function : null;

    /// <summary>Where the declaration is, as <c>config.json: sbert_ce_default_activation_function</c>.</summary>
    public string Source => $"{System.IO.Path.GetFileName(Path)}: {Key}";

    internal RerankException NotApplied()
    {
        const string Instead = "score with the sigmoid (CrossEncoderOptions.Activation = ActivationMode.Sigmoid) or the raw logit (ActivationMode.None) and apply it yourself";
        // CrossEncoder imports a class outside torch only with trust_remote_code=True; without it, it warns and uses its default.
        string what = ClassName.StartsWith("torch.", StringComparison.Ordinal)
            ? "an activation RerankSharp does not apply"
            : "custom code, which sentence-transformers runs only with trust_remote_code=True (without it, it applies its default, Sigmoid) and RerankSharp cannot run";
        return new RerankException(RerankErrorKind.UnsupportedModel,
            $"{Path}: \"{Key}\" is {ClassName}, {what}; RerankSharp applies torch.nn Sigmoid, Identity and Tanh. To use this model, {Instead}.");
    }
}

/// <summary>One entry of modules.json, with the keys of its own config that RerankSharp reads.</summary>
/// <param name="Index">Its position in modules.json.</param>
/// <param name="Path">Its folder relative to the model folder; empty for the top (where the Transformer is saved).</param>
/// <param name="Type">Its class path, e.g. <c>sentence_transformers.cross_encoder.modules.logit_score.LogitScore</c>.</param>
public sealed record SentenceTransformersModule(int Index, string Path, string Type)
{
    /// <summary><c>Transformer</c>'s <c>transformer_task</c> when its config has none.</summary>
    public const string DefaultTransformerTask = "feature-extraction";

    /// <summary>The class name: <c>Transformer</c>, <c>LogitScore</c>, <c>Dense</c>, ….</summary>
    public string ClassName => Type[(Type.LastIndexOf('.') + 1)..];

    /// <summary>sentence-transformers' own <c>Transformer</c> (under whichever module path a release saved it).</summary>
    public bool IsTransformer => IsBuiltIn && ClassName == "Transformer";

    /// <summary>sentence-transformers' own <c>LogitScore</c>.</summary>
    public bool IsLogitScore => IsBuiltIn && ClassName == "LogitScore";

    private bool IsBuiltIn => Type.StartsWith("sentence_transformers.", StringComparison.Ordinal);

    /// <summary>The module's config file that was read, as a full path; null when none was.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>A Transformer's <c>transformer_task</c>: <c>sequence-classification</c>, <c>text-generation</c>, ….</summary>
    public string? TransformerTask { get; init; }

    /// <summary>A LogitScore's <c>true_token_id</c>: the score is this token's logit at the last position …</summary>
    public int? TrueTokenId { get; init; }

    /// <summary>… minus this one's (<c>false_token_id</c>), when given.</summary>
    public int? FalseTokenId { get; init; }

    /// <summary>One line for <c>rerank info</c> and messages: <c>LogitScore (logit 9693 − logit 2152)</c>.</summary>
    public string Description =>
        IsTransformer ? $"Transformer ({TransformerTask})"
        : IsLogitScore ? FalseTokenId is { } falseId ? $"LogitScore (logit {TrueTokenId} − logit {falseId})" : $"LogitScore (logit {TrueTokenId})"
        : Type;
}
