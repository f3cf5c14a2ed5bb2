using Spectre.Console;

namespace RerankSharp.Cli;

/// <summary>
/// A Spectre.Console bound to standard error, for progress bars: standard output carries only
/// results (DESIGN.md §4), so <c>rerank score &gt; out.jsonl</c> still shows progress.
/// </summary>
internal static class StderrConsole
{
    public static IAnsiConsole Instance { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });
}

/// <summary>
/// Standard output as a Spectre console, for tables and demos. Piped into a file it has no terminal
/// width; lines are then not wrapped at 80 columns, so each row stays on its line.
/// </summary>
internal static class StdoutConsole
{
    public static IAnsiConsole Create()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = 240;
        return console;
    }
}
