using RerankSharp.Models;

namespace RerankSharp.Scoring;

/// <summary>Which activation turns a model's logit into the score a <see cref="CrossEncoder"/> returns (<see cref="CrossEncoderOptions.Activation"/>).</summary>
public enum ActivationMode
{
    /// <summary>The sigmoid, for every model (default): FlagEmbedding's <c>normalize=True</c>, scores in [0, 1].</summary>
    Sigmoid,

    /// <summary>
    /// The activation the model folder declares for sentence-transformers' <c>CrossEncoder.predict</c>
    /// (<see cref="SentenceTransformersConfig"/>), so that scores are <c>predict</c>'s: the logit for ms-marco-MiniLM
    /// (Identity), the sigmoid for a folder that declares nothing (bge-reranker).
    /// </summary>
    Model,

    /// <summary>The logit itself, for every call (what <see cref="RerankOptions.RawScores"/> gives for one call).</summary>
    None,
}
