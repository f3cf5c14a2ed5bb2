using System.Globalization;
using System.Text;

namespace RerankSharp.Tokenization;

/// <summary>
/// Unicode canonical decomposition (the mapping half of NFD) from a table made by tools/wordpiece/make_nfd_table.py,
/// because the library builds with InvariantGlobalization, where <see cref="string.Normalize()"/> has no Unicode data.
/// </summary>
/// <remarks>
/// Canonical reordering of combining marks is left out: its only user, BERT's accent stripping, drops the
/// nonspacing marks next, and the 25 combining marks of other categories never meet in one sequence in text.
/// </remarks>
internal static class CanonicalDecomposition
{
    private static readonly Lazy<Dictionary<int, int[]>> Table = new(Load);

    /// <summary>Appends the full canonical decomposition of <paramref name="rune"/> (itself when it has none).</summary>
    public static void Append(Rune rune, StringBuilder builder)
    {
        var c = rune.Value;
        if (c is >= 0xAC00 and <= 0xD7A3)
        {
            // Hangul syllables decompose by formula into leading, vowel and optional trailing jamo (Unicode §3.12).
            var s = c - 0xAC00;
            builder.Append((char)(0x1100 + s / 588)).Append((char)(0x1161 + s % 588 / 28));
            if (s % 28 != 0) builder.Append((char)(0x11A7 + s % 28));
            return;
        }
        if (Table.Value.TryGetValue(c, out var parts))
            foreach (var part in parts) builder.Append(new Rune(part).ToString());
        else
            builder.Append(rune.ToString());
    }

    private static Dictionary<int, int[]> Load()
    {
        using var stream = typeof(CanonicalDecomposition).Assembly.GetManifestResourceStream("RerankSharp.Tokenization.nfd.txt")
            ?? throw new RerankException(RerankErrorKind.Internal, "The NFD table is missing from the RerankSharp assembly. This is a bug.");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var table = new Dictionary<int, int[]>(2100);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var fields = line.Split(' ');
            table[int.Parse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture)] =
                fields[1..].Select(f => int.Parse(f, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
        }
        return table;
    }
}
