namespace RerankSharp.Tokenization;

/// <summary>How a pair that is longer than max_length is cut. Cuts are always on the right.</summary>
public enum TruncationStrategy
{
    /// <summary>
    /// Hugging Face's <c>longest_first</c>: shorten the longer sequence first; when both must be cut,
    /// each keeps half of the budget and the longer one keeps the odd token.
    /// </summary>
    LongestFirst,

    /// <summary>Hugging Face's <c>only_second</c>: only the document is cut; an error if that is not enough.</summary>
    OnlySecond,
}
