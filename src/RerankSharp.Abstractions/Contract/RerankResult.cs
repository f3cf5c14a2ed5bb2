namespace RerankSharp.Scoring;

/// <summary>One document's place in a ranking.</summary>
/// <param name="Index">Position of the document in the caller's list.</param>
/// <param name="Score">Sigmoid score in [0, 1] (or as <c>CrossEncoderOptions.Activation</c> chose), or the raw logit when asked.</param>
/// <param name="Document">The document text.</param>
public sealed record RerankResult(int Index, float Score, string Document)
{
    /// <summary>The part of the document that decided the score, when <see cref="RerankOptions.ReturnWindows"/> asked for it.</summary>
    public DocumentWindow? Window { get; init; }
}
