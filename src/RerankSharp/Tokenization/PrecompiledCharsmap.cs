using System.Buffers.Binary;
using System.Text.Unicode;

namespace RerankSharp.Tokenization;

/// <summary>
/// sentencepiece's <c>precompiled_charsmap</c>: a darts-clone double-array trie over UTF-8 keys
/// whose values are offsets of NUL-terminated replacements in a string blob. Layout:
/// <c>[u32 LE trie byte length][trie units (u32 LE)][replacement blob]</c>. The table always comes
/// from the model file; nothing here knows what it maps.
/// </summary>
internal sealed class PrecompiledCharsmap
{
    private readonly uint[] _units;
    private readonly byte[] _replacements;

    private PrecompiledCharsmap(uint[] units, byte[] replacements)
    {
        _units = units;
        _replacements = replacements;
    }

    public static PrecompiledCharsmap Parse(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4)
        {
            throw Corrupt("it is shorter than its 4-byte header");
        }

        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes == 0 || trieBytes % 4 != 0 || trieBytes > (uint)(blob.Length - 4))
        {
            throw Corrupt($"its trie length {trieBytes} does not fit the {blob.Length}-byte table");
        }

        var units = new uint[trieBytes / 4];
        for (int i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.Slice(4 + 4 * i));
        }

        var replacements = blob.Slice(4 + (int)trieBytes).ToArray();
        // HF's spm_precompiled reads the blob as a Rust str, so it must be UTF-8 to load at all.
        if (!Utf8.IsValid(replacements))
        {
            throw Corrupt("its replacement strings are not UTF-8");
        }

        return new PrecompiledCharsmap(units, replacements);
    }

    /// <summary>
    /// The replacement of the <em>shortest</em> key that is a prefix of <paramref name="key"/>, as
    /// HF's <c>Precompiled::transform</c> takes <c>common_prefix_search(..)[0]</c>. (sentencepiece itself
    /// takes the longest; the difference shows on clusters like <c>Ａ</c>+U+0301, where HF drops the accent.)
    /// </summary>
    public bool TryTransform(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> replacement)
    {
        uint[] units = _units;
        int nodePos = (int)Offset(units[0]);
        foreach (byte c in key)
        {
            // darts-clone stops at a NUL byte: keys are C strings.
            if (c == 0)
            {
                break;
            }

            nodePos ^= c;
            if ((uint)nodePos >= (uint)units.Length)
            {
                break;
            }

            uint unit = units[nodePos];
            if (Label(unit) != c)
            {
                break;
            }

            nodePos ^= (int)Offset(unit);
            if ((uint)nodePos >= (uint)units.Length)
            {
                break;
            }

            if (HasLeaf(unit))
            {
                int start = (int)(units[nodePos] & 0x7FFF_FFFFu);
                if (start > _replacements.Length)
                {
                    throw Corrupt($"a value points at byte {start} past its {_replacements.Length}-byte string table");
                }

                var rest = _replacements.AsSpan(start);
                int end = rest.IndexOf((byte)0);
                replacement = end < 0 ? rest : rest[..end];
                return true;
            }
        }

        replacement = default;
        return false;
    }

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;

    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    private static RerankException Corrupt(string what)
        => new(RerankErrorKind.InvalidModel, $"The tokenizer's precompiled_charsmap is corrupt: {what}; replace the tokenizer files with the model's originals.");
}
