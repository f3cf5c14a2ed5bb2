using System.Globalization;

namespace RerankSharp.LoadTest;

/// <summary>
/// The resident set of a process (the server's, by pid), sampled from /proc/PID/status on a timer, with the peak seen
/// and the kernel's own high-water mark (VmHWM), which catches peaks between samples.
/// </summary>
internal sealed class ProcessRss : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakKiB;

    public ProcessRss(int pid, TimeSpan interval)
    {
        _pid = pid;
        _sampling = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var now = Read("VmRSS:");
                if (now > Interlocked.Read(ref _peakKiB)) Interlocked.Exchange(ref _peakKiB, now);
                try { await Task.Delay(interval, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public double CurrentMiB => Read("VmRSS:") / 1024.0;

    public double PeakSampledMiB => Interlocked.Read(ref _peakKiB) / 1024.0;

    /// <summary>The kernel's peak resident set since the process started.</summary>
    public double HighWaterMiB => Read("VmHWM:") / 1024.0;

    /// <summary>Starts a new sampled peak (the high-water mark cannot be reset from outside).</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peakKiB, Read("VmRSS:"));

    private long Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _sampling;
        _stop.Dispose();
    }
}
