namespace RerankSharp.Tokenization;

/// <summary>
/// Where each character of a normalised text came from, kept as HF tokenizers keeps it (<c>NormalizedString</c>'s
/// alignments), so token offsets agree with the reference's <c>offset_mapping</c> character for character — quirks
/// included. HF aligns per UTF-8 byte and reports code points; here alignments are per UTF-16 unit (both units of a
/// surrogate pair share one), which is the same mapping in the indices of a .NET string.
/// </summary>
internal static class TextAlignment
{
    /// <summary>
    /// Records one replacement of <paramref name="oldCount"/> code points by <paramref name="newCount"/> as the
    /// <c>change</c> values of HF's Precompiled normaliser (<c>normalizers/precompiled.rs</c>, <c>replace</c>): the new
    /// code points get 0; when more come out than went in, the last extra ones get 1 (inserted); when fewer, the last
    /// recorded value — possibly of an earlier character, and nothing at all at the start of the text — absorbs the
    /// difference (that character is followed by removed ones).
    /// </summary>
    public static void RecordReplacement(ref PooledBuffer<int> changes, int oldCount, int newCount)
    {
        for (int i = 0; i < newCount; i++)
        {
            changes.Add(0);
        }

        int diff = newCount - oldCount;
        if (diff > 0)
        {
            changes.Span[^diff..].Fill(1);
        }
        else if (diff < 0 && changes.Count > 0)
        {
            changes[changes.Count - 1] += diff;
        }
    }

    /// <summary>
    /// HF <c>NormalizedString::transform_range</c> over a whole text whose characters are still their own originals
    /// (the first normaliser): each output code point with change ≤ 0 takes the range of the next input code point
    /// and then skips <c>-change</c> more; an inserted one (change 1) shares the range of the last input code point
    /// passed, or <c>[0, 0)</c> when none was. Input code points left over at the end are dropped.
    /// </summary>
    public static void Transform(ReadOnlySpan<char> input, ReadOnlySpan<char> output, ReadOnlySpan<int> changes, ref PooledBuffer<CharSpan> alignments)
    {
        int consumed = 0;
        var previous = default(CharSpan);
        int c = 0;
        for (int o = 0; o < output.Length; c++)
        {
            int width = CodePointWidth(output, o);
            int change = changes[c];
            CharSpan align;
            if (change > 0)
            {
                align = previous;
            }
            else
            {
                align = Consume(input, ref consumed, ref previous);
                for (int k = 0; k < -change; k++)
                {
                    Consume(input, ref consumed, ref previous);
                }
            }

            for (int w = 0; w < width; w++)
            {
                alignments.Add(align);
            }

            o += width;
        }
    }

    /// <summary>The identity alignment of a text that no normaliser changed.</summary>
    public static void Identity(ReadOnlySpan<char> text, ref PooledBuffer<CharSpan> alignments)
    {
        for (int i = 0; i < text.Length;)
        {
            int width = CodePointWidth(text, i);
            for (int w = 0; w < width; w++)
            {
                alignments.Add(new CharSpan(i, i + width));
            }

            i += width;
        }
    }

    /// <summary>HF <c>expand_alignments</c>: a normalised range maps to the start of its first character's origin and the end of its last one's.</summary>
    public static CharSpan Expand(ReadOnlySpan<CharSpan> alignments) => new(alignments[0].Start, alignments[^1].End);

    /// <summary>Number of code points in <paramref name="text"/> (a surrogate pair counts once).</summary>
    public static int CountCodePoints(ReadOnlySpan<char> text)
    {
        int count = 0;
        for (int i = 0; i < text.Length; i += CodePointWidth(text, i))
        {
            count++;
        }

        return count;
    }

    /// <summary>Number of code points in UTF-8 bytes (every byte that does not continue a sequence starts one).</summary>
    public static int CountCodePoints(ReadOnlySpan<byte> utf8)
    {
        int count = 0;
        foreach (byte b in utf8)
        {
            if ((b & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }

    public static int CodePointWidth(ReadOnlySpan<char> text, int i) =>
        char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;

    private static CharSpan Consume(ReadOnlySpan<char> input, ref int consumed, ref CharSpan previous)
    {
        if (consumed >= input.Length)
        {
            // HF would index past its alignments here; the charsmap never asks for it.
            return previous;
        }

        int width = CodePointWidth(input, consumed);
        previous = new CharSpan(consumed, consumed + width);
        consumed += width;
        return previous;
    }
}
