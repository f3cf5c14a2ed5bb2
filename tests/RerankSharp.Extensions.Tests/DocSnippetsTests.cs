using System.Text.RegularExpressions;
using RerankSharp.Tests;

namespace RerankSharp.Extensions.Tests;

/// <summary>
/// docs/dotnet.md and README.md show code only from compiled files: each <c>&lt;!-- snippet: FILE#REGION --&gt;</c> must
/// be followed by exactly that region's code, after using directives that FILE itself has (docs/snippets/*.cs are
/// compiled into this project; the samples are referenced projects).
/// </summary>
public partial class DocSnippetsTests
{
    [GeneratedRegex(@"<!-- snippet: (?<file>\S+)#(?<region>\w+) -->\n```csharp\n(?<code>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex Snippet();

    [Theory]
    [InlineData("docs/dotnet.md", 8)]
    [InlineData("README.md", 1)]
    public void Every_snippet_in_the_doc_is_the_compiled_region_it_names(string path, int atLeast)
    {
        var doc = File.ReadAllText(Path.Combine(FixturePaths.RepositoryRoot, path)).ReplaceLineEndings("\n");

        var snippets = Snippet().Matches(doc);

        Assert.True(snippets.Count >= atLeast, $"only {snippets.Count} snippets found");
        Assert.Equal(snippets.Count, Regex.Matches(doc, "```csharp").Count);   // no C# block without its source
        foreach (Match snippet in snippets)
        {
            var source = File.ReadAllText(Path.Combine(FixturePaths.RepositoryRoot, snippet.Groups["file"].Value)).ReplaceLineEndings("\n");
            var code = snippet.Groups["code"].Value;
            // A snippet may open with using directives (a program's first lines); they must be the source file's own.
            var usings = Regex.Match(code, @"^(using [\w.]+;\n)+\n?");
            foreach (var line in usings.Value.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                Assert.Contains($"\n{line}\n", "\n" + source);
            Assert.Equal(Region(source, snippet.Groups["region"].Value), code[usings.Length..]);
        }
    }

    private static string Region(string source, string name)
    {
        var match = Regex.Match(source, $@"^[ \t]*#region {name}\n(?<body>.*?)^[ \t]*#endregion", RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(match.Success, $"#region {name} not found");
        var lines = match.Groups["body"].Value.TrimEnd('\n').Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', lines.Select(l => l.Trim().Length == 0 ? "" : l[indent..]));
    }
}
