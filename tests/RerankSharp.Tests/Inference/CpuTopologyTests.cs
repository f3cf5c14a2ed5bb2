using RerankSharp.Inference;

namespace RerankSharp.Tests.Inference;

public class CpuTopologyTests
{
    private static string FakeSysCpu(params (string Cpu, string? Package, string? Core)[] cpus)
    {
        var root = Directory.CreateTempSubdirectory("rerank-syscpu-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "cpufreq"));   // not a CPU
        foreach (var (cpu, package, core) in cpus)
        {
            var topology = Path.Combine(root, cpu, "topology");
            Directory.CreateDirectory(Path.Combine(root, cpu));
            if (core is null) continue;   // offline: no topology folder
            Directory.CreateDirectory(topology);
            File.WriteAllText(Path.Combine(topology, "core_id"), core + "\n");
            if (package is not null) File.WriteAllText(Path.Combine(topology, "physical_package_id"), package + "\n");
        }
        return root;
    }

    [Fact]
    public void Hyperthread_siblings_count_as_one_core()
    {
        var root = FakeSysCpu(("cpu0", "0", "0"), ("cpu1", "0", "1"), ("cpu2", "0", "0"), ("cpu3", "0", "1"));
        try { Assert.Equal(2, CpuTopology.PhysicalCores(root)); }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Equal_core_ids_on_two_sockets_are_two_cores_and_offline_cpus_are_skipped()
    {
        var root = FakeSysCpu(("cpu0", "0", "0"), ("cpu1", "1", "0"), ("cpu2", null, null));
        try { Assert.Equal(2, CpuTopology.PhysicalCores(root)); }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void An_unreadable_topology_gives_no_answer_and_the_default_falls_back_to_the_processor_count()
    {
        Assert.Null(CpuTopology.PhysicalCores(Path.Combine(Path.GetTempPath(), "no-such-sys-cpu-" + Guid.NewGuid())));
        Assert.InRange(CpuTopology.DefaultThreads(), 1, Environment.ProcessorCount);
    }
}
