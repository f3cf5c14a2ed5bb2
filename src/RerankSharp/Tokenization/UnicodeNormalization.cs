using System.Globalization;
using System.Text;

namespace RerankSharp.Tokenization;

/// <summary>
/// Unicode canonical decomposition (NFD's mapping) and NFC, from the table tools/wordpiece/make_unicode_tables.py
/// writes, because the library builds with InvariantGlobalization, where <see cref="string.Normalize()"/> has no
/// Unicode data. BERT's accent stripping decomposes; byte-level BPE tokenizers (Qwen) normalize to NFC.
/// </summary>
internal static class UnicodeNormalization
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
    private const int NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Load);

    /// <summary>Appends the full canonical decomposition of <paramref name="rune"/> (itself when it has none).</summary>
    /// <remarks>No canonical reordering: BERT's accent stripping drops the nonspacing marks next, and the 25 combining
    /// marks of other categories never meet in one sequence in text.</remarks>
    public static void AppendDecomposition(Rune rune, StringBuilder builder)
    {
        var c = rune.Value;
        if (c is >= SBase and < SBase + SCount)
        {
            // Hangul syllables decompose by formula into leading, vowel and optional trailing jamo (Unicode §3.12).
            var s = c - SBase;
            builder.Append((char)(LBase + s / NCount)).Append((char)(VBase + s % NCount / TCount));
            if (s % TCount != 0) builder.Append((char)(TBase + s % TCount));
            return;
        }
        if (Data.Value.Decompositions.TryGetValue(c, out var parts))
            foreach (var part in parts) builder.Append(new Rune(part).ToString());
        else
            builder.Append(rune.ToString());
    }

    /// <summary>
    /// <paramref name="text"/> in Normalization Form C: canonical decomposition, canonical ordering of combining marks,
    /// then canonical composition (UAX #15).
    /// </summary>
    public static string Nfc(string text)
    {
        // Below U+0300 nothing decomposes or combines: the common case costs one scan.
        var quick = true;
        foreach (var ch in text)
            if (ch >= '\u0300') { quick = false; break; }
        if (quick) return text;

        var tables = Data.Value;
        var decomposed = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes()) AppendDecomposition(rune, decomposed);
        var cps = new List<int>(decomposed.Length);
        foreach (var rune in decomposed.ToString().EnumerateRunes()) cps.Add(rune.Value);

        // Canonical ordering: a stable sort of each run of non-starters by combining class.
        for (var i = 0; i < cps.Count;)
        {
            if (Ccc(tables, cps[i]) == 0) { i++; continue; }
            var end = i;
            while (end < cps.Count && Ccc(tables, cps[end]) != 0) end++;
            var run = cps.GetRange(i, end - i).OrderBy(cp => Ccc(tables, cp)).ToList();   // OrderBy is stable
            for (var k = 0; k < run.Count; k++) cps[i + k] = run[k];
            i = end;
        }

        // Canonical composition: each character joins the last starter unless a character between them blocks it.
        var result = new List<int>(cps.Count);
        var starter = -1;
        var lastClass = -1;
        foreach (var cp in cps)
        {
            var ccc = Ccc(tables, cp);
            if (starter >= 0 && (lastClass < ccc || lastClass == 0 && result.Count - 1 == starter) && Compose(tables, result[starter], cp) is { } composite)
            {
                result[starter] = composite;
                continue;
            }
            if (ccc == 0) starter = result.Count;
            lastClass = ccc;
            result.Add(cp);
        }
        var builder = new StringBuilder(result.Count + 4);
        foreach (var cp in result) builder.Append(new Rune(cp).ToString());
        return builder.ToString();
    }

    private static int Ccc(Tables tables, int cp) => tables.CombiningClasses.GetValueOrDefault(cp);

    private static int? Compose(Tables tables, int first, int second)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
            return SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
            return first + (second - TBase);
        return tables.Composites.TryGetValue(((long)first << 21) | (uint)second, out var composite) ? composite : null;
    }

    private sealed record Tables(Dictionary<int, int[]> Decompositions, Dictionary<int, int> CombiningClasses, Dictionary<long, int> Composites);

    private static Tables Load()
    {
        using var stream = typeof(UnicodeNormalization).Assembly.GetManifestResourceStream("RerankSharp.Tokenization.unicode.txt")
            ?? throw new RerankException(RerankErrorKind.Internal, "The Unicode table is missing from the RerankSharp assembly. This is a bug.");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var tables = new Tables(new(2100), new(950), new(1000));
        static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split(' ');
            switch (f[0])
            {
                case "D": tables.Decompositions[Hex(f[1])] = f[2..].Select(Hex).ToArray(); break;
                case "C": tables.CombiningClasses[Hex(f[1])] = int.Parse(f[2], CultureInfo.InvariantCulture); break;
                case "P": tables.Composites[((long)Hex(f[1]) << 21) | (uint)Hex(f[2])] = Hex(f[3]); break;
            }
        }
        return tables;
    }
}
