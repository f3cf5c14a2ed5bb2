using System.Diagnostics;
using System.Globalization;

namespace RerankSharp.Cli;

/// <summary>The process's peak resident memory, as the kernel counts it, resettable between measurements on Linux.</summary>
internal static class ProcessMemory
{
    private const string Status = "/proc/self/status";

    /// <summary>
    /// Starts a new peak: writing 5 to <c>/proc/self/clear_refs</c> resets VmHWM to the current
    /// RSS (Linux 4.0+), so each benchmark row reports its own peak rather than the largest so far.
    /// </summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size in MiB: VmHWM on Linux, else the runtime's peak working set.</summary>
    public static double PeakMiB()
    {
        if (File.Exists(Status))
            foreach (var line in File.ReadLines(Status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / 1048576.0;
    }
}
