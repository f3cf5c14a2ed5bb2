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
