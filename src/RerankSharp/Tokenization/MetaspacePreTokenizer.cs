namespace RerankSharp.Tokenization;

/// <summary>
/// HF's <c>Metaspace</c> pre-tokeniser with <c>replacement '▁', prepend_scheme "always", split true</c>:
/// spaces become '▁', a '▁' is prepended unless the text already starts with one (never to empty
/// text), and the text is split before every '▁' (<c>MergedWithNext</c>). A trailing space therefore
/// becomes a pre-token "▁" of its own — the fast tokenizer's extra token that sentencepiece lacks.
/// </summary>
internal static class MetaspacePreTokenizer
{
    public const char Replacement = '\u2581';

    /// <summary>
    /// Rewrites <paramref name="normalized"/> in place (from <paramref name="start"/> on) into Metaspace
    /// form, and appends the <c>(start, length)</c> of each pre-token to <paramref name="words"/>.
    /// </summary>
    public static void PreTokenize(ref PooledBuffer<char> normalized, int start, ref PooledBuffer<(int Start, int Length)> words)
    {
        var noAlignments = default(PooledBuffer<CharSpan>);
        PreTokenize(ref normalized, start, ref words, ref noAlignments, track: false);
    }

    /// <summary>
    /// As above, keeping <paramref name="alignments"/> (one per normalised unit) in step: a space turned '▁' keeps its
    /// own, and the prepended '▁' shares the first character's, as HF's <c>NormalizedString::prepend</c> aligns it.
    /// </summary>
    public static void PreTokenize(ref PooledBuffer<char> normalized, int start, ref PooledBuffer<(int Start, int Length)> words,
        ref PooledBuffer<CharSpan> alignments, bool track)
    {
        if (normalized.Count == start)
        {
            return;
        }

        var span = normalized.Span;
        for (int i = start; i < span.Length; i++)
        {
            if (span[i] == ' ')
            {
                span[i] = Replacement;
            }
        }

        if (span[start] != Replacement)
        {
            normalized.Add(default);
            span = normalized.Span;
            span[start..^1].CopyTo(span[(start + 1)..]);
            span[start] = Replacement;
            if (track)
            {
                alignments.Add(default);
                var aligned = alignments.Span;
                aligned[start..^1].CopyTo(aligned[(start + 1)..]);
            }
        }

        int wordStart = start;
        for (int i = start + 1; i < span.Length; i++)
        {
            if (span[i] == Replacement)
            {
                words.Add((wordStart, i - wordStart));
                wordStart = i;
            }
        }

        words.Add((wordStart, span.Length - wordStart));
    }
}
