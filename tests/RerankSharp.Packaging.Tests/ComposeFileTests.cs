using System.Globalization;

namespace RerankSharp.Packaging.Tests;

/// <summary>deploy/compose.yaml against the Dockerfiles it builds and the variables the server reads.</summary>
[Collection(PackagingCollection.Name)]
public class ComposeFileTests(PackagedBuilds builds)
{
    private static readonly string ComposeDirectory = RepositoryRoot.File("deploy");
    private static readonly YamlDocument Compose = YamlDocument.LoadAll(Path.Combine(ComposeDirectory, "compose.yaml")).Single();

    public static TheoryData<string> Services() => ["rerank", "rerank-gpu"];

    [Theory]
    [MemberData(nameof(Services))]
    public void A_service_builds_its_dockerfile_publishes_its_port_and_keeps_the_cache_in_the_named_volume(string name)
    {
        var service = Compose["services"][name];
        var dockerfile = DockerfileInstructions.Load(Path.GetFullPath(Path.Combine(ComposeDirectory, service["build"]["context"].Value, service["build"]["dockerfile"].Value)));
        var image = dockerfile.Environment(dockerfile.Final);

        var port = service["ports"].Items.Single().Value.Split(':');
        Assert.Equal(image["RERANK_PORT"], port[1]);
        var volume = service["volumes"].Items.Single().Value.Split(':');
        Assert.Equal("hf-cache", volume[0]);
        Assert.Equal(image["HF_HOME"], volume[1]);
        Assert.True(Compose["volumes"].Has("hf-cache"));
        var variables = service["environment"].Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal)).ToList();
        Assert.Empty(variables.Except(builds.Help.EnvironmentVariables("serve")));
        // docker stop waits stop_grace_period before SIGKILL: the drain must end first.
        var grace = int.Parse(service["stop_grace_period"].Value.TrimEnd('s'), CultureInfo.InvariantCulture);
        Assert.True(grace > int.Parse(service["environment"]["RERANK_SHUTDOWN_TIMEOUT"].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void The_gpu_service_is_behind_the_gpu_profile_and_reserves_nvidia_gpus_and_the_cpu_service_is_not()
    {
        var gpu = Compose["services"]["rerank-gpu"];
        var cpu = Compose["services"]["rerank"];

        Assert.Equal(["gpu"], gpu["profiles"].Strings);
        Assert.False(cpu.Has("profiles"));
        Assert.EndsWith("Dockerfile.cuda", gpu["build"]["dockerfile"].Value);
        var device = gpu["deploy"]["resources"]["reservations"]["devices"].Items.Single();
        Assert.Equal("nvidia", device["driver"].Value);
        Assert.Contains("gpu", device["capabilities"].Strings);
        Assert.NotEqual(cpu["ports"].Items.Single().Value.Split(':')[0], gpu["ports"].Items.Single().Value.Split(':')[0]);
    }
}
