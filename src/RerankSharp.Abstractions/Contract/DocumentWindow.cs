namespace RerankSharp.Scoring;

/// <summary>
/// The part of a document the model saw and that decided its score: the winning window of a chunked document, or
/// the part a cut kept. Token offsets count the document's own tokens (no query, no special tokens); character
/// offsets index the document string as given (UTF-16 units), so <c>document[CharStart..CharEnd]</c> is the passage.
/// </summary>
/// <param name="Index">Which window, from 0.</param>
/// <param name="Count">How many windows the document was split into (1 when it fit or was cut).</param>
/// <param name="TokenStart">First document token of the window.</param>
/// <param name="TokenEnd">One past its last document token.</param>
/// <param name="CharStart">Where the window's text starts in the document (a word's leading space included, as HF's offsets do).</param>
/// <param name="CharEnd">Where it ends.</param>
public sealed record DocumentWindow(int Index, int Count, int TokenStart, int TokenEnd, int CharStart, int CharEnd);
