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
        if (_charsmap is null)
        {
            output.AddRange(text);
        }
        else
        {
            ApplyPrecompiled(_charsmap, _ascii, text, ref output);
        }

        CollapseSpaceRuns(ref output, start);
    }

    /// <summary>HF <c>Precompiled</c>: per extended grapheme cluster, whole cluster if under 6 bytes, else per char.</summary>
    private static void ApplyPrecompiled(PrecompiledCharsmap charsmap, string?[] ascii, ReadOnlySpan<char> text, ref PooledBuffer<char> output)
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
                }
                else
                {
                    output.Add(c);
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
                }
                else
                {
                    output.AddRange(cluster.Slice(k, consumed));
                }

                k += consumed;
            }
        }
    }

    /// <summary>HF <c>Replace(Regex(" {2,}"), " ")</c>: only U+0020 runs; tabs and NBSP were mapped by the charsmap.</summary>
    internal static void CollapseSpaceRuns(ref PooledBuffer<char> buffer, int start)
    {
        var span = buffer.Span;
        int write = start;
        for (int read = start; read < span.Length; read++)
        {
            char c = span[read];
            if (c == ' ' && write > start && span[write - 1] == ' ')
            {
                continue;
            }

            span[write++] = c;
        }

        buffer.Truncate(write);
    }

    private static void AppendUtf8(ReadOnlySpan<byte> utf8, ref PooledBuffer<char> output)
    {
        Span<char> chars = utf8.Length <= 64 ? stackalloc char[64] : new char[utf8.Length];
        int n = Encoding.UTF8.GetChars(utf8, chars);
        output.AddRange(chars[..n]);
    }
}
