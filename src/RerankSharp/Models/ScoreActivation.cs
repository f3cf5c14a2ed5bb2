namespace RerankSharp.Models;

/// <summary>
/// The function that turns a reranker's relevance logit into its score: what sentence-transformers'
/// <c>CrossEncoder.predict</c> calls its <c>activation_fn</c> (a <c>torch.nn</c> module), limited to those RerankSharp applies.
/// </summary>
public enum ScoreActivation
{
    /// <summary><c>torch.nn.Sigmoid</c>, 1 / (1 + e^−x), in [0, 1]: FlagEmbedding's <c>normalize=True</c>, and <c>CrossEncoder</c>'s default for one label.</summary>
    Sigmoid,

    /// <summary><c>torch.nn.Identity</c>: the logit itself (cross-encoder/ms-marco-MiniLM-L6-v2 declares it).</summary>
    Identity,

    /// <summary><c>torch.nn.Tanh</c>, in [−1, 1].</summary>
    Tanh,
}
