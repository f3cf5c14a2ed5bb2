using System.Diagnostics;
using System.Globalization;

namespace RerankSharp.Cli;

/// <summary>
/// Progress of a long run on standard error. On a terminal: one bar redrawn in place a few times a
/// second. Otherwise (a log, CI): a plain line every <c>plainInterval</c>, so a long job shows
/// it is alive without filling the log; a run shorter than that prints nothing.
/// </summary>
internal sealed class ProgressLine(bool terminal, TimeSpan plainInterval)
{
    private const int BarWidth = 24;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(250);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;
    private bool _shown;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary><paramref name="done"/> of <paramref name="total"/> (null: unknown, e.g. standard input) <paramref name="unit"/>, plus a rate already formatted.</summary>
    public void Report(long done, long? total, string unit, string rate)
    {
        var now = _clock.Elapsed;
        if (now - _last < (terminal ? RedrawInterval : plainInterval) || (!terminal && plainInterval <= TimeSpan.Zero)) return;
        _last = now;
        _shown = true;
        var eta = total is { } all && done > 0 && done < all ? Eta.Format(TimeSpan.FromSeconds(now.TotalSeconds / done * (all - done))) : null;
        if (terminal)
            Console.Error.Write($"\r\u001b[2K{Bar(done, total)} {Count(done, total, unit)} · {rate}{(eta is null ? "" : $" · ETA {eta}")}");
        else
            Console.Error.WriteLine($"progress: {Count(done, total, unit)}{Percent(done, total)}, {rate}{(eta is null ? "" : $", ETA {eta}")}");
    }

    /// <summary>The closing line: replaces the bar on a terminal; elsewhere printed only after periodic lines.</summary>
    public void Done(string summary)
    {
        if (terminal) Console.Error.Write(_shown ? $"\r\u001b[2K{summary}\n" : $"{summary}\n");
        else if (_shown) Console.Error.WriteLine($"progress: {summary}");
    }

    /// <summary>Erases the bar, so an error line that follows starts on a clean line.</summary>
    public void Clear()
    {
        if (terminal && _shown) Console.Error.Write("\r\u001b[2K");
    }

    internal static string Bar(long done, long? total)
    {
        if (total is not { } all || all <= 0) return "";
        var fraction = Math.Clamp((double)done / all, 0, 1);
        var full = (int)Math.Round(fraction * BarWidth);
        return $"{new string('█', full)}{new string('░', BarWidth - full)} {fraction * 100,3:F0}%";
    }

    private static string Count(long done, long? total, string unit) =>
        total is { } all
            ? $"{done.ToString("N0", CultureInfo.InvariantCulture)}/{all.ToString("N0", CultureInfo.InvariantCulture)} {unit}"
            : $"{done.ToString("N0", CultureInfo.InvariantCulture)} {unit}";

    private static string Percent(long done, long? total) =>
        total is { } all && all > 0 ? $" ({Math.Min(100.0, 100.0 * done / all):F0}%)" : "";
}
