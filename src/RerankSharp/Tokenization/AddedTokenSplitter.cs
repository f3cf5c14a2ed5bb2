namespace RerankSharp.Tokenization;

/// <summary>One piece of the raw text: either plain text to normalise, or a special token matched literally.</summary>
internal readonly record struct TextSegment(int Start, int Length, int TokenId)
{
    public bool IsAddedToken => TokenId >= 0;
}

/// <summary>
/// The first step of HF's fast tokenizer (<c>AddedVocabulary::find_matches</c>): literal special
/// tokens in the raw text, e.g. <c>"a &lt;s&gt; b"</c>, become their ids and split the text
/// around them, before any normalisation. Matching is leftmost-longest like its Aho-Corasick
/// automaton; lstrip/rstrip widen a match over neighbouring whitespace (<c>char::is_whitespace</c>,
/// the same set as <see cref="char.IsWhiteSpace(char)"/>) but never into the previous match.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly AddedToken[] _tokens;
    private readonly string _firstChars;

    public AddedTokenSplitter(IReadOnlyList<AddedToken> tokens)
    {
        // Longest first, so the first token that matches at a position is the longest one there.
        _tokens = [.. tokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length)];
        _firstChars = new string([.. _tokens.Select(t => t.Content[0]).Distinct()]);
    }

    /// <summary>Appends the segments of <paramref name="text"/> in order; empty text gives none.</summary>
    public void Split(ReadOnlySpan<char> text, ref PooledBuffer<TextSegment> segments)
    {
        int done = 0;
        int searchFrom = 0;
        while (_firstChars.Length > 0 && searchFrom < text.Length)
        {
            int candidate = text[searchFrom..].IndexOfAny(_firstChars);
            if (candidate < 0)
            {
                break;
            }

            candidate += searchFrom;
            AddedToken? match = null;
            foreach (var token in _tokens)
            {
                if (text[candidate..].StartsWith(token.Content, StringComparison.Ordinal))
                {
                    match = token;
                    break;
                }
            }

            if (match is null)
            {
                searchFrom = candidate + 1;
                continue;
            }

            int start = candidate;
            int stop = candidate + match.Content.Length;
            if (match.LStrip)
            {
                while (start > done && char.IsWhiteSpace(text[start - 1]))
                {
                    start--;
                }
            }

            if (match.RStrip)
            {
                while (stop < text.Length && char.IsWhiteSpace(text[stop]))
                {
                    stop++;
                }
            }

            if (start > done)
            {
                segments.Add(new TextSegment(done, start - done, -1));
            }

            segments.Add(new TextSegment(start, stop - start, match.Id));
            done = stop;
            searchFrom = stop;
        }

        if (done < text.Length)
        {
            segments.Add(new TextSegment(done, text.Length - done, -1));
        }
    }
}
