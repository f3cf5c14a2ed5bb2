using RerankSharp.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>
/// How a model's output becomes its score: the modules a sentence-transformers CrossEncoder folder declares, checked
/// against the graph the engine builds, and the activation an <see cref="ActivationMode"/> picks.
/// </summary>
/// <remarks>
/// The engine's graphs end where sentence-transformers' two CrossEncoder chains do (5.4.0, <c>_load_default_modules</c>):
/// a <c>*ForSequenceClassification</c> model's one logit (a Transformer with <c>transformer_task</c>
/// sequence-classification, alone), and for a causal decoder the logit of one token, or one token's minus another's, at
/// the last position (a text-generation Transformer, then a LogitScore naming the tokens, which the graph then reads;
/// without one, the family's preset: Qwen3-Reranker's "yes" and "no"). A folder without modules.json gets
/// exactly these chains from sentence-transformers, so only a modular folder can describe something else.
/// </remarks>
internal static class ScoreHead
{
    private const string Runs =
        "RerankSharp runs the Transformer saved at the top of the folder, alone (transformer_task sequence-classification) "
        + "or followed by a LogitScore of one token's logit, or one token's minus another's (text-generation: Qwen3-Reranker, mxbai-rerank-v2, bge-reranker-v2-gemma)";

    private const string Instead = "load this model with sentence-transformers instead";

    /// <summary>The activation <paramref name="mode"/> applies to <paramref name="folder"/>'s logits.</summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.UnsupportedModel"/> for <see cref="ActivationMode.Model"/> when the folder declares an
    /// activation RerankSharp does not apply, naming the file and key.
    /// </exception>
    public static ScoreActivation Activation(ModelFolder folder, ActivationMode mode) => mode switch
    {
        ActivationMode.Sigmoid => ScoreActivation.Sigmoid,
        ActivationMode.None => ScoreActivation.Identity,
        ActivationMode.Model => folder.SentenceTransformers.PredictActivation(folder.Config.NumLabels),
        _ => throw new RerankException(RerankErrorKind.InvalidInput, $"Activation {mode} is not one of sigmoid, model and none."),
    };

    /// <summary>
    /// Throws when <paramref name="folder"/>'s modules.json makes its score something other than what the engine computes
    /// for <paramref name="architecture"/>. A LogitScore's token ids, which the graph then reads, must lie in the vocabulary.
    /// </summary>
    /// <exception cref="RerankException"><see cref="RerankErrorKind.UnsupportedModel"/> naming the file and key.</exception>
    public static void CheckModules(ModelFolder folder, string architecture)
    {
        if (folder.SentenceTransformers is not { ModulesPath: { } modulesPath, Modules: var modules }) return;
        if (modules.Count == 0)
            throw Unsupported($"{modulesPath}: the list of modules is empty");

        var transformer = modules[0];
        if (!transformer.IsTransformer || transformer.Path.Length > 0)
            throw Unsupported($"{modulesPath}: module 0 has \"type\" {transformer.Type} and \"path\" \"{transformer.Path}\"");
        var head = modules.Skip(1).ToArray();
        var task = transformer.ConfigPath is { } path
            ? $"{path}: \"transformer_task\" is {transformer.TransformerTask}"
            : $"{Path.Combine(folder.Directory, SentenceTransformersConfig.TransformerConfigFileName)} is missing, so the Transformer's transformer_task is {transformer.TransformerTask}";
        switch (transformer.TransformerTask)
        {
            case "sequence-classification":
                if (!architecture.EndsWith("ForSequenceClassification", StringComparison.Ordinal))
                    throw Unsupported($"{task}, but config.json's architecture is {architecture}, which has no classification head");
                if (head.Length > 0)
                    throw Unsupported($"{modulesPath}: module {head[0].Index} (\"type\" {head[0].Type}) comes after the classifier's logit");
                return;
            case "text-generation":
                if (!architecture.EndsWith("ForCausalLM", StringComparison.Ordinal))
                    throw Unsupported($"{task}, but config.json's architecture is {architecture}, not a causal language model");
                if (head.Length == 0 || !head[0].IsLogitScore)
                    throw Unsupported(head.Length == 0
                        ? $"{modulesPath}: the text-generation Transformer is the last module, so no score is taken from its logits"
                        : $"{modulesPath}: module 1 has \"type\" {head[0].Type} where a LogitScore takes the score from the Transformer's logits");
                if (head.Length > 1)
                    throw Unsupported($"{modulesPath}: module {head[1].Index} (\"type\" {head[1].Type}) comes after the LogitScore");
                CheckLogitScore(head[0], folder, architecture);
                return;
            default:
                throw Unsupported($"{task}, whose output is not a relevance logit");
        }
    }

    // The LogitScore is the scoring spec: the graph reads the rows it names (DecoderGraph), as sentence-transformers does,
    // whatever the family's preset would read. Only ids outside the vocabulary are refused, and a seq-cls conversion,
    // whose one score row has no vocabulary, cannot have one.
    private static void CheckLogitScore(SentenceTransformersModule logitScore, ModelFolder folder, string architecture)
    {
        var config = logitScore.ConfigPath!;
        foreach (var (key, id) in new[] { ("true_token_id", logitScore.TrueTokenId), ("false_token_id", logitScore.FalseTokenId) })
            if (id is { } value && value >= folder.Config.VocabSize)
                throw new RerankException(RerankErrorKind.InvalidModel,
                    $"{config}: \"{key}\" {value} is outside the vocabulary of {folder.Config.VocabSize} ids in {folder.ConfigPath}; fix the file or re-download the model.");
    }

    // "FILE: what it says"; what RerankSharp runs; what to do.
    private static RerankException Unsupported(string statement) =>
        new(RerankErrorKind.UnsupportedModel, $"{statement}; {Runs}. To score it, {Instead}.");
}
