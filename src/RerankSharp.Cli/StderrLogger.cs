using Microsoft.Extensions.Logging;

namespace RerankSharp.Cli;

/// <summary>Library warnings and errors as plain lines on standard error, so standard output carries only results.</summary>
internal sealed class StderrLogger(LogLevel minimum) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var label = logLevel switch
        {
            LogLevel.Critical or LogLevel.Error => "error",
            LogLevel.Warning => "warning",
            _ => "info",
        };
        Console.Error.WriteLine($"{label}: {formatter(state, exception)}");
        if (exception is not null && minimum <= LogLevel.Debug) Console.Error.WriteLine(exception);
    }
}
