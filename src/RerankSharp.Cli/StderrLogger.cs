using Microsoft.Extensions.Logging;

namespace RerankSharp.Cli;

/// <summary>
/// Library messages as plain lines on standard error, so standard output carries only results.
/// Unless verbose, only warnings: every library error also reaches the command as an exception,
/// which prints it as the one <c>error:</c> line, so logging it too would say it twice.
/// </summary>
internal sealed class StderrLogger(LogLevel minimum) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) =>
        logLevel >= minimum && logLevel != LogLevel.None && (minimum <= LogLevel.Debug || logLevel <= LogLevel.Warning);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var label = logLevel switch
        {
            LogLevel.Critical or LogLevel.Error => "error",
            LogLevel.Warning => "warning",
            _ => "info",
        };
        Console.Error.WriteLine($"{label}: {CliWording.Apply(formatter(state, exception))}");
        if (exception is not null && minimum <= LogLevel.Debug) Console.Error.WriteLine(exception);
    }
}
