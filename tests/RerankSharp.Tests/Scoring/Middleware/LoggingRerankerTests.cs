using Microsoft.Extensions.Logging;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class LoggingRerankerTests
{
    private sealed class ListLogger(LogLevel minimum) : ILogger
    {
        public List<(LogLevel Level, string Message, Exception? Error)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) Entries.Add((logLevel, formatter(state, exception), exception));
        }
    }

    [Fact]
    public async Task At_debug_calls_are_logged_without_their_texts()
    {
        var logger = new ListLogger(LogLevel.Debug);
        using var reranker = new LoggingReranker(new FakeReranker(), logger);

        await reranker.RerankAsync("secret query", ["secret document", "x"], new RerankOptions { TopN = 1 });

        Assert.Equal(2, logger.Entries.Count);
        Assert.Contains("2 documents, top_n 1", logger.Entries[0].Message);
        Assert.Contains("1 results, best score 15", logger.Entries[1].Message);
        Assert.DoesNotContain(logger.Entries, e => e.Message.Contains("secret"));
    }

    [Fact]
    public async Task At_trace_the_query_and_the_ranking_are_logged()
    {
        var logger = new ListLogger(LogLevel.Trace);
        using var reranker = new LoggingReranker(new FakeReranker(), logger);

        await reranker.RerankAsync("the query", ["aa", "b"]);

        Assert.Contains("the query", logger.Entries[0].Message);
        Assert.Contains("#0 2, #1 1", logger.Entries[1].Message);
    }

    [Fact]
    public async Task Failures_are_logged_as_errors_and_rethrown()
    {
        var logger = new ListLogger(LogLevel.Information);
        var failure = new RerankException(RerankErrorKind.Overloaded, "busy");
        using var reranker = new LoggingReranker(new FakeReranker { OnRerank = (_, _, _, _) => throw failure }, logger);

        var thrown = await Assert.ThrowsAsync<RerankException>(() => reranker.RerankAsync("q", ["a"]));

        Assert.Same(failure, thrown);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Same(failure, entry.Error);
    }

    [Fact]
    public async Task A_cancelled_call_is_logged_at_debug_not_as_an_error()
    {
        var logger = new ListLogger(LogLevel.Debug);
        using var cts = new CancellationTokenSource();
        using var reranker = new LoggingReranker(new FakeReranker
        {
            OnRerank = async (_, _, _, ct) =>
            {
                await cts.CancelAsync();
                ct.ThrowIfCancellationRequested();
                return [];
            },
        }, logger);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reranker.RerankAsync("q", ["a"], cancellationToken: cts.Token));

        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Error);
        Assert.Contains(logger.Entries, e => e.Message.Contains("canceled"));
    }
}
