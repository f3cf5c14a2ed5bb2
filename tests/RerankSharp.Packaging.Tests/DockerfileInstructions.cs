using System.Text;
using System.Text.Json;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// A Dockerfile read the way the builder reads it, for tests that do what an image does without a Docker engine: stages,
/// instructions (continuation lines joined, comments dropped), ARG and ENV values with Docker's substitution
/// (<c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR:+alternative}</c>), exec-form arrays and shell words.
/// </summary>
internal sealed class DockerfileInstructions
{
    public sealed record Instruction(string Keyword, string Arguments, int Line);

    public sealed record Stage(string From, string? Name, IReadOnlyList<Instruction> Instructions)
    {
        public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

        public Instruction? Last(string keyword) => All(keyword).LastOrDefault();
    }

    private DockerfileInstructions(string path, IReadOnlyDictionary<string, string> globalArgs, IReadOnlyList<Stage> stages)
    {
        Path = path;
        GlobalArgs = globalArgs;
        Stages = stages;
    }

    public string Path { get; }

    /// <summary>ARGs declared before the first FROM, with their defaults.</summary>
    public IReadOnlyDictionary<string, string> GlobalArgs { get; }

    public IReadOnlyList<Stage> Stages { get; }

    /// <summary>The stage that becomes the image.</summary>
    public Stage Final => Stages[^1];

    public Stage this[string name] => Stages.Single(s => s.Name == name);

    public static DockerfileInstructions Load(string path)
    {
        var instructions = new List<Instruction>();
        var pending = new StringBuilder();
        var start = 0;
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.TrimEnd();
            // Comment lines are dropped, also between the lines of one instruction (as the builder does).
            if (line.TrimStart().StartsWith('#') || (line.Length == 0 && pending.Length == 0)) continue;
            if (pending.Length == 0) start = number;
            var continues = line.EndsWith('\\');
            pending.Append(continues ? line[..^1] : line).Append(' ');
            if (continues) continue;
            var text = pending.ToString().Trim();
            pending.Clear();
            if (text.Length == 0) continue;
            var space = text.IndexOf(' ');
            instructions.Add(new Instruction(text[..space].ToUpperInvariant(), text[(space + 1)..].Trim(), start));
        }

        var globalArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<Stage>();
        List<Instruction>? current = null;
        string from = "", name = "";
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                if (current is not null) stages.Add(new Stage(from, name.Length == 0 ? null : name, current));
                var words = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                from = Substitute(words[0], key => globalArgs.GetValueOrDefault(key));
                name = words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : "";
                current = [];
            }
            else if (current is null)
            {
                if (instruction.Keyword != "ARG") throw new InvalidDataException($"{path}:{instruction.Line}: {instruction.Keyword} before the first FROM");
                var (key, value) = Declaration(instruction.Arguments);
                globalArgs[key] = value ?? "";
            }
            else current.Add(instruction);
        }
        if (current is not null) stages.Add(new Stage(from, name.Length == 0 ? null : name, current));
        return new DockerfileInstructions(path, globalArgs, stages);
    }

    /// <summary>
    /// The environment a container of <paramref name="stage"/> starts with: <paramref name="baseEnvironment"/> (what the
    /// base image sets), then each ENV in order, substituted with the stage's ARGs (<paramref name="buildArgs"/> or their
    /// defaults) and the ENV values before it.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment(Stage stage, IReadOnlyDictionary<string, string>? buildArgs = null,
        IReadOnlyDictionary<string, string>? baseEnvironment = null) =>
        Evaluate(stage, buildArgs, baseEnvironment).Environment;

    /// <summary>
    /// <paramref name="text"/> substituted as an instruction at the end of <paramref name="stage"/> sees it (USER, EXPOSE):
    /// with the stage's ENV and ARG values.
    /// </summary>
    public string Expand(Stage stage, string text, IReadOnlyDictionary<string, string>? buildArgs = null,
        IReadOnlyDictionary<string, string>? baseEnvironment = null)
    {
        var (environment, args) = Evaluate(stage, buildArgs, baseEnvironment);
        return Substitute(text, key => environment.TryGetValue(key, out var e) ? e : args.GetValueOrDefault(key));
    }

    private (Dictionary<string, string> Environment, Dictionary<string, string> Args) Evaluate(Stage stage,
        IReadOnlyDictionary<string, string>? buildArgs, IReadOnlyDictionary<string, string>? baseEnvironment)
    {
        var environment = new Dictionary<string, string>(baseEnvironment ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        string? Lookup(string key) => environment.TryGetValue(key, out var e) ? e : args.GetValueOrDefault(key);
        foreach (var instruction in stage.Instructions)
        {
            if (instruction.Keyword == "ARG")
            {
                var (key, value) = Declaration(instruction.Arguments);
                args[key] = buildArgs?.GetValueOrDefault(key) ?? value ?? GlobalArgs.GetValueOrDefault(key) ?? "";
            }
            else if (instruction.Keyword == "ENV")
            {
                // All pairs of one ENV see the values from before it.
                var pairs = ShellWords(instruction.Arguments, Lookup).Select(word =>
                {
                    var equals = word.IndexOf('=');
                    if (equals < 1) throw new InvalidDataException($"{Path}:{instruction.Line}: ENV {word} is not KEY=VALUE");
                    return (word[..equals], word[(equals + 1)..]);
                }).ToList();
                foreach (var (key, value) in pairs) environment[key] = value;
            }
        }
        return (environment, args);
    }

    /// <summary>An exec-form instruction's JSON array (ENTRYPOINT, CMD, VOLUME).</summary>
    public static string[] ExecForm(Instruction instruction) =>
        JsonSerializer.Deserialize<string[]>(instruction.Arguments)
        ?? throw new InvalidDataException($"{instruction.Keyword} at line {instruction.Line} is not a JSON array");

    /// <summary>
    /// Shell words of <paramref name="text"/> as sh would split them: white space separates words outside quotes, quotes
    /// are removed, variables are substituted (not inside single quotes).
    /// </summary>
    public static List<string> ShellWords(string text, Func<string, string?> lookup)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { if (inWord) words.Add(word.ToString()); word.Clear(); inWord = false; continue; }
            inWord = true;
            if (c == '\'')
            {
                var end = text.IndexOf('\'', i + 1);
                word.Append(text, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                var end = text.IndexOf('"', i + 1);
                word.Append(Substitute(text[(i + 1)..end], lookup));
                i = end;
            }
            else
            {
                var end = i;
                while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('"' or '\'')) end++;
                word.Append(Substitute(text[i..end], lookup));
                i = end - 1;
            }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }

    /// <summary>Docker's variable substitution; an unset variable is empty.</summary>
    public static string Substitute(string text, Func<string, string?> lookup)
    {
        var result = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '$' || i + 1 == text.Length) { result.Append(text[i]); continue; }
            if (text[i + 1] == '{')
            {
                var end = text.IndexOf('}', i);
                var body = text[(i + 2)..end];
                var colon = body.IndexOf(':');
                if (colon < 0) result.Append(lookup(body) ?? "");
                else
                {
                    var value = lookup(body[..colon]);
                    var word = body[(colon + 2)..];
                    result.Append(body[colon + 1] switch
                    {
                        '-' => string.IsNullOrEmpty(value) ? word : value,
                        '+' => string.IsNullOrEmpty(value) ? "" : word,
                        var other => throw new InvalidDataException($"${{{body}}}: modifier :{other} is not supported"),
                    });
                }
                i = end;
            }
            else
            {
                var end = i + 1;
                while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')) end++;
                if (end == i + 1) { result.Append('$'); continue; }
                result.Append(lookup(text[(i + 1)..end]) ?? "");
                i = end - 1;
            }
        }
        return result.ToString();
    }

    private static (string Key, string? Value) Declaration(string text)
    {
        var equals = text.IndexOf('=');
        return equals < 0 ? (text.Trim(), null) : (text[..equals].Trim(), text[(equals + 1)..].Trim().Trim('"'));
    }
}
