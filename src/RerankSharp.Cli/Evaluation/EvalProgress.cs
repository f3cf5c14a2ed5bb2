using System.Globalization;
using Spectre.Console;

namespace RerankSharp.Cli.Evaluation;

/// <summary>
/// Progress of <c>rerank eval</c> on standard error, in queries: a Spectre.Console bar on a terminal, a plain line
/// every 10 s otherwise (a log, CI), so standard output keeps only the results.
/// </summary>
internal sealed class EvalProgress(long total)
{
    public async Task RunAsync(Func<Action<string>, Task> body)
    {
        if (Console.IsErrorRedirected)
        {
            var line = new ProgressLine(terminal: false, TimeSpan.FromSeconds(10));
            long done = 0;
            await body(label =>
            {
                done++;
                line.Report(done, total, "queries", label);
            });
            line.Done($"reranked {total.ToString("N0", CultureInfo.InvariantCulture)} query runs in {line.Elapsed.TotalSeconds:F1} s");
            return;
        }

        await StderrConsole.Instance.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("reranking", maxValue: total);
                await body(label =>
                {
                    task.Description = Markup.Escape(label);
                    task.Increment(1);
                });
            });
    }
}
