using System.Text.RegularExpressions;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// What the <c>rerank</c> command line accepts, read from its own <c>--help</c>: subcommands, the flags of each and the
/// <c>RERANK_…</c> variables that mirror them. Manifests and images are checked against this, not against a copied list.
/// </summary>
internal sealed partial class RerankHelp(Func<string[], string> help)
{
    private readonly Dictionary<string, string> _texts = new(StringComparer.Ordinal);

    private string Text(string? command)
    {
        var key = command ?? "";
        if (!_texts.TryGetValue(key, out var text))
            _texts[key] = text = help(command is null ? ["--help"] : [command, "--help"]);
        return text;
    }

    public IReadOnlyList<string> Commands =>
        Section(Text(null), "Commands:").Where(l => l.Length > 2 && !char.IsWhiteSpace(l[2])).Select(l => l.Trim().Split(' ')[0]).ToList();

    /// <summary>The flags <c>rerank COMMAND</c> takes, its own and the common ones.</summary>
    public IReadOnlySet<string> Options(string command) =>
        Section(Text(command), "Options:").Where(l => l.TrimStart().StartsWith('-'))
            .SelectMany(l => Flag().Matches(l).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The RERANK_ variables <c>rerank COMMAND</c> reads.</summary>
    public IReadOnlySet<string> EnvironmentVariables(string command) =>
        Variable().Matches(Text(command)).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

    // The indented lines under a heading, up to the next heading.
    private static IEnumerable<string> Section(string text, string heading) =>
        text.Replace("\r", "").Split('\n').SkipWhile(l => l.Trim() != heading).Skip(1)
            .TakeWhile(l => l.Length == 0 || char.IsWhiteSpace(l[0])).Where(l => l.Trim().Length > 0);

    [GeneratedRegex(@"(?:^\s+|,\s)(--?[a-z0-9?][a-z0-9-]*)")]
    private static partial Regex Flag();

    [GeneratedRegex(@"RERANK_[A-Z0-9_]*[A-Z0-9]")]
    private static partial Regex Variable();
}
