using System.Globalization;

namespace RerankSharp.Cli;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> of a JSON Lines input (<c>rerank score --shard I/N</c>): a contiguous
/// block of input lines, so that the outputs of shards 0, 1, …, N-1 concatenated in that order are the output of one
/// unsharded run, line for line (scores equal up to the float32 rounding that depends on which lines shared a batch). Contiguous blocks rather than every N-th line, because then concatenation keeps input order with
/// no merge step (<c>cat part-*</c> in index order), which is what a Kubernetes Indexed Job's pods can produce on their own.
/// </summary>
internal sealed record InputShard(int Index, int Count)
{
    /// <summary>
    /// Parses <c>I/N</c> with 0 ≤ I &lt; N; <paramref name="origin"/> names the flag or variable in errors. A bad value is a
    /// parse error of <paramref name="result"/>, so the command stops with one line before anything runs.
    /// </summary>
    public static InputShard? Parse(System.CommandLine.Parsing.ArgumentResult result, string text, string origin)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count >= 1 && index < count)
            return new InputShard(index, count);
        result.AddError($"{origin} {text} is not a shard; write I/N with 0 ≤ I < N, e.g. 0/3, 1/3 and 2/3 for three shards.");
        return null;
    }

    /// <summary>
    /// The zero-based positions [Start, End) among the input's <paramref name="total"/> scored (non-blank) lines: block I
    /// starts at ⌊I·total/N⌋, so blocks differ in size by at most one line and together cover every line once.
    /// </summary>
    public (long Start, long End) Lines(long total) => (total * Index / Count, total * (Index + 1) / Count);

    public override string ToString() => $"{Index}/{Count}";
}
