using System.Globalization;
using System.Text;

namespace RerankSharp.Tokenization;

/// <summary>
/// The normaliser of XLM-R's <c>tokenizer.json</c>: <c>Sequence[Precompiled, Replace(" {2,}", " ")]</c>,
/// as HF tokenizers runs it. Written here rather than taken from Microsoft.ML.Tokenizers because
/// its <c>SentencePieceNormalizer</c> reproduces sentencepiece (longest match over the whole text,
/// whitespace stripped), while the reference fast tokenizer normalises one grapheme cluster at a
/// time and keeps leading/trailing whitespace for the Metaspace step.
/// </summary>
internal sealed class XlmRobertaNormalizer
{
    // tokenizers/src/normalizers/precompiled.rs: clusters of 6 UTF-8 bytes or more are looked up
    // char by char ("Yes, this is weird ... check this normalizer against XNLI").
    private const int WholeClusterMaxBytes = 5;

    private readonly PrecompiledCharsmap? _charsmap;

    // The charsmap's answer for each ASCII character (null: unchanged), so the common case skips
    // grapheme segmentation and the trie walk. Read from the table, not assumed.
    private readonly string?[] _ascii = new string?[128];

    public XlmRobertaNormalizer(PrecompiledCharsmap? charsmap)
    {
        _charsmap = charsmap;
        if (charsmap is null)
        {
            return;
        }

        for (int c = 0; c < 128; c++)
        {
            if (charsmap.TryTransform([(byte)c], out var replacement))
            {
                _ascii[c] = Encoding.UTF8.GetString(replacement);
            }
        }
    }

    /// <summary>Appends the normalised form of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Normalize(ReadOnlySpan<char> text, ref PooledBuffer<char> output)
    {
        int start = output.Count;
        var untracked = default(PooledBuffer<int>);
        var noAlignments = default(PooledBuffer<CharSpan>);
        if (_charsmap is null)
        {
            output.AddRange(text);
        }
        else
        {
            ApplyPrecompiled(_charsmap, _ascii, text, ref output, ref untracked, track: false);
        }

        CollapseSpaceRuns(ref output, start, ref noAlignments, track: false);
    }

    /// <summary>
    /// As <see cref="Normalize(ReadOnlySpan{char}, ref PooledBuffer{char})"/> into an empty <paramref name="output"/>,
    /// also appending for each output unit the range of <paramref name="text"/> it came from, as HF tokenizers aligns it.
    /// </summary>
    public void Normalize(ReadOnlySpan<char> text, ref PooledBuffer<char> output, ref PooledBuffer<CharSpan> alignments)
    {
        if (output.Count != 0 || alignments.Count != 0)
        {
            throw new RerankException(RerankErrorKind.Internal, "Aligned normalisation needs empty buffers. This is a bug.");
        }

        if (_charsmap is null)
        {
            output.AddRange(text);
            TextAlignment.Identity(text, ref alignments);
        }
        else
        {
            var changes = new PooledBuffer<int>(text.Length + 16);
            try
            {
                ApplyPrecompiled(_charsmap, _ascii, text, ref output, ref changes, track: true);
                TextAlignment.Transform(text, output.Span, changes.Span, ref alignments);
            }
            finally
            {
                changes.Dispose();
            }
        }

        CollapseSpaceRuns(ref output, 0, ref alignments, track: true);
    }

    /// <summary>
    /// HF <c>Precompiled</c>: per extended grapheme cluster, whole cluster if under 6 bytes, else per char. When
    /// <paramref name="track"/>, each output code point's HF change value goes to <paramref name="changes"/>.
    /// </summary>
    private static void ApplyPrecompiled(PrecompiledCharsmap charsmap, string?[] ascii, ReadOnlySpan<char> text, ref PooledBuffer<char> output,
        ref PooledBuffer<int> changes, bool track)
    {
        Span<byte> utf8 = stackalloc byte[4 * WholeClusterMaxBytes];
        int i = 0;
        while (i < text.Length)
        {
            // UAX #29 always breaks between two ASCII characters except CR LF, so such a character is
            // a cluster of its own and the precomputed answer applies.
            char c = text[i];
            if (c < 128 && (i + 1 == text.Length || (text[i + 1] < 128 && !(c == '\r' && text[i + 1] == '\n'))))
            {
                if (ascii[c] is string mapped)
                {
                    output.AddRange(mapped);
                    if (track)
                    {
                        TextAlignment.RecordReplacement(ref changes, 1, TextAlignment.CountCodePoints(mapped));
                    }
                }
                else
                {
                    output.Add(c);
                    if (track)
                    {
                        changes.Add(0);
                    }
                }

                i++;
                continue;
            }

            int length = StringInfo.GetNextTextElementLength(text[i..]);
            var cluster = text.Slice(i, length);
            i += length;

            // A cluster of under 6 bytes has at most 5 chars, so it always fits the buffer.
            if (length <= WholeClusterMaxBytes && Encoding.UTF8.GetByteCount(cluster) <= WholeClusterMaxBytes)
            {
                int n = Encoding.UTF8.GetBytes(cluster, utf8);
                if (charsmap.TryTransform(utf8[..n], out var replacement))
                {
                    AppendUtf8(replacement, ref output);
                    if (track)
                    {
                        TextAlignment.RecordReplacement(ref changes, TextAlignment.CountCodePoints(cluster), TextAlignment.CountCodePoints(replacement));
                    }

                    continue;
                }
            }

            int k = 0;
            while (k < cluster.Length)
            {
                Rune.DecodeFromUtf16(cluster[k..], out var rune, out int consumed);
                int n = rune.EncodeToUtf8(utf8);
                if (charsmap.TryTransform(utf8[..n], out var replacement))
                {
                    AppendUtf8(replacement, ref output);
                    if (track)
                    {
                        TextAlignment.RecordReplacement(ref changes, 1, TextAlignment.CountCodePoints(replacement));
                    }
                }
                else
                {
                    output.AddRange(cluster.Slice(k, consumed));
                    if (track)
                    {
                        changes.Add(0);
                    }
                }

                k += consumed;
            }
        }
    }

    /// <summary>
    /// HF <c>Replace(Regex(" {2,}"), " ")</c>: only U+0020 runs; tabs and NBSP were mapped by the charsmap. The space
    /// that stays takes the alignment of the last one of its run, as HF's replacement (an insert after the removed run) does.
    /// </summary>
    internal static void CollapseSpaceRuns(ref PooledBuffer<char> buffer, int start, ref PooledBuffer<CharSpan> alignments, bool track)
    {
        var span = buffer.Span;
        var aligned = track ? alignments.Span : default;
        int write = start;
        for (int read = start; read < span.Length; read++)
        {
            char c = span[read];
            if (c == ' ' && write > start && span[write - 1] == ' ')
            {
                if (track)
                {
                    aligned[write - 1] = aligned[read];
                }

                continue;
            }

            span[write] = c;
            if (track)
            {
                aligned[write] = aligned[read];
            }

            write++;
        }

        buffer.Truncate(write);
        if (track)
        {
            alignments.Truncate(write);
        }
    }

    private static void AppendUtf8(ReadOnlySpan<byte> utf8, ref PooledBuffer<char> output)
    {
        Span<char> chars = utf8.Length <= 64 ? stackalloc char[64] : new char[utf8.Length];
        int n = Encoding.UTF8.GetChars(utf8, chars);
        output.AddRange(chars[..n]);
    }
}
