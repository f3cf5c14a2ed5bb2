using System.Globalization;

namespace RerankSharp.Inference;

/// <summary>How many threads the GEMMs should get by default.</summary>
internal static class CpuTopology
{
    /// <summary>
    /// Physical cores this process may use: two hyper-threads of one core share its vector units, so a
    /// second GEMM thread on a sibling adds contention, not FLOPs. Capped by
    /// <see cref="Environment.ProcessorCount"/>, which already honours affinity and container CPU
    /// quotas. Falls back to the processor count where the topology is not readable (non-Linux).
    /// </summary>
    public static int DefaultThreads() => Math.Max(1, Math.Min(PhysicalCores("/sys/devices/system/cpu") ?? Environment.ProcessorCount, Environment.ProcessorCount));

    internal static int? PhysicalCores(string sysCpu)
    {
        try
        {
            var cores = new HashSet<(string Package, string Core)>();
            foreach (var cpu in Directory.EnumerateDirectories(sysCpu, "cpu*"))
            {
                var name = Path.GetFileName(cpu);
                if (name.Length <= 3 || !int.TryParse(name.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out _)) continue;
                var topology = Path.Combine(cpu, "topology");
                var core = Path.Combine(topology, "core_id");
                if (!File.Exists(core)) continue;   // an offline CPU has no topology
                var package = Path.Combine(topology, "physical_package_id");
                cores.Add((File.Exists(package) ? File.ReadAllText(package).Trim() : "0", File.ReadAllText(core).Trim()));
            }
            return cores.Count > 0 ? cores.Count : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
