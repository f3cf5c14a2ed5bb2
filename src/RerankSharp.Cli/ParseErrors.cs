using System.CommandLine;
using System.Text.RegularExpressions;

namespace RerankSharp.Cli;

/// <summary>
/// Command-line errors as the rest of the CLI reports errors (DESIGN.md §4): one line <c>error: …</c> on standard
/// error and exit code 4 (bad input), instead of System.CommandLine's message, the whole help and exit code 1. Its
/// messages are rephrased in the words the environment-variable path already uses (<c>RERANK_THREADS=abc is not a whole
/// number</c>): <c>--threads: 'abc' is not a whole number</c>, enum values in the lowercase the docs use.
/// </summary>
internal static partial class ParseErrors
{
    public const int ExitCode = 4;

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'\.")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^Option '(?<option>[^']+)' is required\.$")]
    private static partial Regex Required();

    [GeneratedRegex(@"^Unrecognized command or argument '(?<token>.*)'\.$")]
    private static partial Regex Unrecognized();

    /// <summary>Writes the first parse error of <paramref name="result"/> as one line; returns the exit code.</summary>
    public static int Report(ParseResult result)
    {
        var command = string.Join(' ', result.CommandResult.Command.Parents.OfType<Command>().Reverse().Append(result.CommandResult.Command)
            .Select(c => c is RootCommand ? "rerank" : c.Name));
        Console.Error.WriteLine($"error: {Describe(result.Errors[0].Message)} (see {command} --help)");
        return ExitCode;
    }

    /// <summary>System.CommandLine's message in the CLI's words.</summary>
    internal static string Describe(string message)
    {
        var first = message.Split('\n')[0].Trim();
        if (CannotParse().Match(first) is { Success: true } m)
            return $"{m.Groups["option"].Value}: '{m.Groups["value"].Value}' is not {Expected(m.Groups["type"].Value)}";
        if (Required().Match(first) is { Success: true } r)
            return $"{r.Groups["option"].Value} is required";
        if (Unrecognized().Match(first) is { Success: true } u)
            return $"'{u.Groups["token"].Value}' is not an option or command here";
        return first.TrimEnd('.');
    }

    // What a value of the option's type looks like, from System.CommandLine's type name.
    private static string Expected(string typeName)
    {
        var name = Regex.Replace(typeName, @"^System\.Nullable`1\[(.*)\]$", "$1");
        var type = Type.GetType(name) ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
        return name switch
        {
            "System.Int32" or "System.Int64" => "a whole number",
            "System.Double" or "System.Single" => "a number",
            "System.Boolean" => "true or false",
            _ when type is { IsEnum: true } => "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant())),
            _ => $"a {name.Split('.')[^1]}",
        };
    }

    /// <summary>An enum option's values as its help shows them: the lowercase names the docs use, <c>cpu|cuda|auto</c>.</summary>
    public static string HelpName<T>() where T : struct, Enum => string.Join('|', Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
}
