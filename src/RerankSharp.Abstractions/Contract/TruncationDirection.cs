namespace RerankSharp.Tokenization;

/// <summary>Which end of a sequence a cut removes: the end (right, the default everywhere) or the start (TEI's <c>truncation_direction: left</c>).</summary>
public enum TruncationDirection
{
    Right,
    Left,
}
