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
/// width; lines are then not wrapped at 80 columns, so each row stays on its line, and the padding Spectre gives a
/// grid's last column is cut from the line ends.
/// </summary>
internal static class StdoutConsole
{
    public static IAnsiConsole Create()
    {
        if (!Console.IsOutputRedirected)
            return AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        // No colours or cursor codes into a file or a pipe (Spectre cannot tell that through the wrapper).
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(new LineEndTrimmingWriter(Console.Out)),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 240;
        return console;
    }

    /// <summary>Writes through to <paramref name="inner"/> line by line, without the spaces a line ends in.</summary>
    private sealed class LineEndTrimmingWriter(TextWriter inner) : TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (value != '\n')
            {
                _line.Append(value);
                return;
            }
            inner.Write(_line.ToString().TrimEnd(' '));
            inner.Write('\n');
            _line.Clear();
        }

        public override void Flush()
        {
            inner.Write(_line.ToString());
            _line.Clear();
            inner.Flush();
        }
    }
}
