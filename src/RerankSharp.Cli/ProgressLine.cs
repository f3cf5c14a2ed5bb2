using System.Diagnostics;

namespace RerankSharp.Cli;

/// <summary>A progress line on standard error, redrawn at most a few times a second, and only on a terminal.</summary>
internal sealed class ProgressLine(bool redirected)
{
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    private bool _drawn;

    public void Report(string text)
    {
        if (redirected || _sinceDraw.ElapsedMilliseconds < 250) return;
        _sinceDraw.Restart();
        Console.Error.Write($"\r\u001b[2K{text}");
        _drawn = true;
    }

    public void Done(string summary)
    {
        if (redirected) return;
        Console.Error.Write(_drawn ? $"\r\u001b[2K{summary}\n" : $"{summary}\n");
    }
}
