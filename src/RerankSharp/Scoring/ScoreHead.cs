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
/// sequence-classification, alone), and for Qwen3ForCausalLM the "yes" logit minus the "no" logit at the last token
/// (a text-generation Transformer, then a LogitScore over those two tokens). A folder without modules.json gets
/// exactly these chains from sentence-transformers, so only a modular folder can describe something else.
/// </remarks>
internal static class ScoreHead
{
    private const string Runs =
        "RerankSharp runs the Transformer saved at the top of the folder, alone (transformer_task sequence-classification) "
        + "or followed by a LogitScore of the \"yes\" minus the \"no\" token (text-generation, Qwen3-Reranker)";

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
    /// for <paramref name="architecture"/>. With the <paramref name="tokenizer"/> (at load) a LogitScore's token ids are
    /// checked against the ones the graph reads; without it (<c>rerank info</c>) only the chain is.
    /// </summary>
    /// <exception cref="RerankException"><see cref="RerankErrorKind.UnsupportedModel"/> naming the file and key.</exception>
    public static void CheckModules(ModelFolder folder, string architecture, PairTokenizer? tokenizer)
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
                CheckLogitScore(head[0], tokenizer);
                return;
            default:
                throw Unsupported($"{task}, whose output is not a relevance logit");
        }
    }

    // The graph reads the rows the tokenizer names (Qwen3RerankerTokenizer's "yes" and "no", DecoderPromptTokenizer's
    // preset tokens), as the references do; a LogitScore that names others is refused, not silently overridden.
    private static void CheckLogitScore(SentenceTransformersModule logitScore, PairTokenizer? tokenizer)
    {
        var config = logitScore.ConfigPath!;
        if (logitScore.FalseTokenId is null && tokenizer is not DecoderPromptTokenizer { FalseId: null })
            throw Unsupported($"{config}: \"false_token_id\" is not set, so the score is the logit of token {logitScore.TrueTokenId} alone");
        if (tokenizer is Qwen3RerankerTokenizer prompt && (logitScore.TrueTokenId != prompt.YesId || logitScore.FalseTokenId != prompt.NoId))
            throw Unsupported(
                $"{config}: \"true_token_id\" {logitScore.TrueTokenId} and \"false_token_id\" {logitScore.FalseTokenId} are not the tokenizer's \"yes\" ({prompt.YesId}) and \"no\" ({prompt.NoId})");
        if (tokenizer is DecoderPromptTokenizer preset && (logitScore.TrueTokenId != preset.TrueId || logitScore.FalseTokenId != preset.FalseId))
            throw Unsupported(
                $"{config}: \"true_token_id\" {logitScore.TrueTokenId} and \"false_token_id\" {logitScore.FalseTokenId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} are not {preset.Prompt.Name}'s "
                + $"({preset.TrueId} and {preset.FalseId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"})");
    }

    // "FILE: what it says"; what RerankSharp runs; what to do.
    private static RerankException Unsupported(string statement) =>
        new(RerankErrorKind.UnsupportedModel, $"{statement}; {Runs}. To score it, {Instead}.");
}
