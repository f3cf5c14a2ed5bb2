using System.Diagnostics;
using RerankSharp.Models;
using Spectre.Console;

namespace RerankSharp.Cli;

/// <summary>
/// Draws hub download progress on standard error: on a terminal a bar per file with size, speed
/// and time left (Spectre.Console), started only once a file is reported, so a model found in the
/// cache draws nothing; otherwise plain lines, one per event and one every
/// <see cref="PlainInterval"/> per file in transfer, which logs and CI output can keep.
/// </summary>
internal sealed class DownloadProgressView : IProgress<HubDownloadProgress>, IAsyncDisposable
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    private readonly bool _live = !Console.IsErrorRedirected;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Stopwatch Clock, long StartBytes, TimeSpan LastLine)> _transfers = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _display;
    private ProgressContext? _context;

    /// <summary>True once any file was reported as transferred (not just found in the cache).</summary>
    public bool Transferred { get; private set; }

    public void Report(HubDownloadProgress value)
    {
        lock (_gate)
        {
            if (value.State is HubFileState.Started or HubFileState.Transferring) Transferred = true;
            if (_live) Draw(value);
            else Write(value);
        }
    }

    private void Draw(HubDownloadProgress p)
    {
        if (_context is null)
        {
            var ready = new TaskCompletionSource<ProgressContext>(TaskCreationOptions.RunContinuationsAsynchronously);
            _display = StderrConsole.Instance.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    ready.SetResult(context);
                    await _finished.Task;
                });
            _context = ready.Task.GetAwaiter().GetResult();
        }
        if (!_tasks.TryGetValue(p.File, out var task))
        {
            task = _context.AddTask(Markup.Escape(p.File), maxValue: Math.Max(1, p.BytesTotal ?? p.BytesDone));
            _tasks[p.File] = task;
        }
        if (p.BytesTotal is { } total && total > 0) task.MaxValue = total;
        switch (p.State)
        {
            case HubFileState.Cached:
                task.Description = $"{Markup.Escape(p.File)} [grey](cached)[/]";
                task.Value = task.MaxValue;
                task.StopTask();
                break;
            case HubFileState.Completed:
                task.Description = Markup.Escape(p.File);
                task.Value = task.MaxValue;
                task.StopTask();
                break;
            case HubFileState.Retrying:
                task.Description = $"{Markup.Escape(p.File)} [yellow](resuming: {Markup.Escape(p.Message ?? "cut")})[/]";
                task.Value = p.BytesDone;
                break;
            case HubFileState.Waiting:
                task.Description = $"{Markup.Escape(p.File)} [grey](waiting for another download)[/]";
                break;
            default:
                task.Description = Markup.Escape(p.File);
                task.Value = p.BytesDone;
                break;
        }
    }

    private void Write(HubDownloadProgress p)
    {
        var size = p.BytesTotal is { } t ? Bytes.Format(t) : "size unknown";
        switch (p.State)
        {
            case HubFileState.Started:
                _transfers[p.File] = (Stopwatch.StartNew(), p.BytesDone, TimeSpan.Zero);
                Console.Error.WriteLine(p.BytesDone > 0
                    ? $"download: {p.File}: resuming at {Bytes.Format(p.BytesDone)} of {size}"
                    : $"download: {p.File} ({size})");
                break;
            case HubFileState.Transferring when _transfers.TryGetValue(p.File, out var transfer):
                var elapsed = transfer.Clock.Elapsed;
                if (elapsed - transfer.LastLine < PlainInterval) break;
                _transfers[p.File] = transfer with { LastLine = elapsed };
                var speed = (p.BytesDone - transfer.StartBytes) / Math.Max(elapsed.TotalSeconds, 1e-3);
                var left = p.BytesTotal is { } total && speed > 0 ? $", {Eta.Format(TimeSpan.FromSeconds((total - p.BytesDone) / speed))} left" : "";
                var percent = p.BytesTotal is { } all && all > 0 ? $" ({100.0 * p.BytesDone / all:F0}%)" : "";
                Console.Error.WriteLine($"download: {p.File}: {Bytes.Format(p.BytesDone)} of {size}{percent}, {Bytes.Format((long)speed)}/s{left}");
                break;
            case HubFileState.Retrying:
                Console.Error.WriteLine($"download: {p.File}: transfer cut ({p.Message}); resuming at {Bytes.Format(p.BytesDone)}");
                break;
            case HubFileState.Waiting:
                Console.Error.WriteLine($"download: {p.File}: waiting for another process that is downloading it");
                break;
            case HubFileState.Completed:
                var seconds = _transfers.Remove(p.File, out var done) ? done.Clock.Elapsed.TotalSeconds : 0;
                Console.Error.WriteLine($"download: {p.File}: done, {size} in {seconds:F1} s");
                break;
            case HubFileState.Cached:
                Console.Error.WriteLine($"download: {p.File}: already in the cache");
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _finished.TrySetResult();
        if (_display is not null) await _display;
    }
}

/// <summary>Byte counts as people read them (binary units, as <c>du -h</c>).</summary>
internal static class Bytes
{
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}

/// <summary>Time left as h:mm:ss or m:ss.</summary>
internal static class Eta
{
    public static string Format(TimeSpan left) =>
        left.TotalHours >= 1 ? $"{(int)left.TotalHours}:{left.Minutes:D2}:{left.Seconds:D2}" : $"{left.Minutes}:{left.Seconds:D2}";
}
