using System.Globalization;
using System.Text.RegularExpressions;
using RerankSharp.Tests;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// deploy/k8s, parsed with YamlDotNet and checked against what the server really takes and serves: the flags and
/// RERANK_ variables of <c>rerank --help</c>, its port and /health, and the metric names of a running server's /metrics.
/// </summary>
[Collection(PackagingCollection.Name)]
public partial class KubernetesManifestTests(PackagedBuilds builds)
{
    private static readonly IReadOnlyList<YamlDocument> Serving =
        Directory.GetFiles(RepositoryRoot.File("deploy", "k8s", "serving"), "*.yaml").Order().SelectMany(YamlDocument.LoadAll).ToList();
    private static readonly IReadOnlyList<YamlDocument> Batch =
        Directory.GetFiles(RepositoryRoot.File("deploy", "k8s", "batch"), "*.yaml").Order().SelectMany(YamlDocument.LoadAll).ToList();
    private static readonly YamlDocument AdapterValues = YamlDocument.LoadAll(RepositoryRoot.File("deploy", "k8s", "prometheus-adapter-values.yaml")).Single();

    // The variables of the Hugging Face cache that the engine reads (docs/cli.md).
    private static readonly string[] HubVariables = ["HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_ENDPOINT"];

    private static YamlDocument Object(IEnumerable<YamlDocument> documents, string kind) => documents.Single(d => d["kind"].Value == kind);

    private static YamlDocument PodSpec(YamlDocument workload) => workload["spec"]["template"]["spec"];

    private static Dictionary<string, string> Environment(YamlDocument container) =>
        container["env"].Items.Where(e => e.Has("value")).ToDictionary(e => e["name"].Value, e => e["value"].Value);

    private static IEnumerable<YamlDocument> Containers(YamlDocument workload) =>
        PodSpec(workload)["containers"].Items.Concat(PodSpec(workload).Find("initContainers")?.Items ?? []);

    [Fact]
    public void Every_object_has_an_api_version_kind_and_name()
    {
        Assert.All(Serving.Concat(Batch), d =>
        {
            Assert.NotEmpty(d["apiVersion"].Value);
            Assert.NotEmpty(d["kind"].Value);
            Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", d["metadata"]["name"].Value);
        });
        Assert.Equal(["Deployment", "HorizontalPodAutoscaler", "Service"], Serving.Select(d => d["kind"].Value).Order());
        Assert.Equal(["Job", "PersistentVolumeClaim"], Batch.Select(d => d["kind"].Value).Order());
    }

    [Fact]
    public void Every_container_runs_a_rerank_command_with_flags_and_variables_that_command_takes()
    {
        foreach (var container in Containers(Object(Serving, "Deployment")).Concat(Containers(Object(Batch, "Job"))))
        {
            var args = container["args"].Strings;
            var command = args[0];
            Assert.Contains(command, builds.Help.Commands);
            Assert.Empty(args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).Except(builds.Help.Options(command)));
            var names = container["env"].Items.Select(e => e["name"].Value).ToList();
            Assert.Empty(names.Where(n => n.StartsWith("RERANK_", StringComparison.Ordinal)).Except(builds.Help.EnvironmentVariables(command)));
            Assert.Empty(names.Where(n => n.StartsWith("HF_", StringComparison.Ordinal)).Except(HubVariables));
            Assert.Equal("reranksharp:cpu", container["image"].Value);
        }
    }

    [Fact]
    public void The_deployment_probes_health_on_the_port_the_server_listens_on_and_drains_before_it_is_killed()
    {
        var deployment = Object(Serving, "Deployment");
        var pod = PodSpec(deployment);
        var server = pod["containers"].Items.Single();
        var environment = Environment(server);
        var port = server["ports"].Items.Single();

        Assert.Equal(["serve"], server["args"].Strings);
        Assert.Equal(environment["RERANK_PORT"], port["containerPort"].Value);
        Assert.Equal("0.0.0.0", environment["RERANK_HOST"]);
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("/health", server[probe]["httpGet"]["path"].Value);
            Assert.Equal(port["name"].Value, server[probe]["httpGet"]["port"].Value);
        }
        // Probes and scrapes need no key even when RERANK_API_KEY is set later.
        Assert.Equal("1", environment["RERANK_OPEN_HEALTH"]);
        Assert.Equal("1", environment["RERANK_OPEN_METRICS"]);
        var preStop = server["lifecycle"]["preStop"]["exec"]["command"].Strings;
        Assert.Equal("sleep", preStop[0]);
        var drain = int.Parse(preStop[1], CultureInfo.InvariantCulture) + int.Parse(environment["RERANK_SHUTDOWN_TIMEOUT"], CultureInfo.InvariantCulture);
        Assert.True(pod["terminationGracePeriodSeconds"].Int > drain,
            $"terminationGracePeriodSeconds {pod["terminationGracePeriodSeconds"].Int} must exceed the preStop sleep plus RERANK_SHUTDOWN_TIMEOUT ({drain} s)");
        var annotations = deployment["spec"]["template"]["metadata"]["annotations"];
        Assert.Equal(port["containerPort"].Value, annotations["prometheus.io/port"].Value);
        Assert.Equal("/metrics", annotations["prometheus.io/path"].Value);
        // ONNX Runtime would otherwise start one thread per core of the node, not of the pod.
        Assert.Equal(server["resources"]["requests"]["cpu"].Value, environment["RERANK_THREADS"]);
        Assert.True(server["resources"]["limits"].Has("memory"));
        Assert.True(pod["securityContext"]["runAsNonRoot"].Value == "true");
    }

    [Fact]
    public void The_init_container_downloads_the_served_model_into_the_cache_volume_the_server_reads_offline()
    {
        var pod = PodSpec(Object(Serving, "Deployment"));
        var server = pod["containers"].Items.Single();
        var init = pod["initContainers"].Items.Single();
        var serverEnvironment = Environment(server);
        var initEnvironment = Environment(init);

        Assert.Equal(["download"], init["args"].Strings);
        Assert.Equal(serverEnvironment["RERANK_MODEL"], initEnvironment["RERANK_MODEL"]);
        Assert.Equal(serverEnvironment["HF_HOME"], initEnvironment["HF_HOME"]);
        Assert.Equal("1", serverEnvironment["HF_HUB_OFFLINE"]);
        string CacheVolume(YamlDocument container) => container["volumeMounts"].Items.Single(m => m["mountPath"].Value == serverEnvironment["HF_HOME"])["name"].Value;
        Assert.Equal(CacheVolume(server), CacheVolume(init));
        Assert.Contains(pod["volumes"].Items, v => v["name"].Value == CacheVolume(server));
    }

    [Fact]
    public void The_service_selects_the_deployments_pods_and_targets_its_named_port()
    {
        var deployment = Object(Serving, "Deployment");
        var service = Object(Serving, "Service");
        var labels = deployment["spec"]["template"]["metadata"]["labels"];
        var selector = service["spec"]["selector"];

        Assert.All(selector.Keys, key => Assert.Equal(selector[key].Value, labels[key].Value));
        Assert.All(deployment["spec"]["selector"]["matchLabels"].Keys, key => Assert.Equal(deployment["spec"]["selector"]["matchLabels"][key].Value, labels[key].Value));
        var ports = PodSpec(deployment)["containers"].Items.Single()["ports"].Items.Select(p => p["name"].Value);
        Assert.Contains(service["spec"]["ports"].Items.Single()["targetPort"].Value, ports);
    }

    [Fact]
    public async Task The_autoscaler_scales_the_deployment_on_cpu_and_on_a_queue_gauge_that_the_server_exports_and_the_adapter_serves()
    {
        var hpa = Object(Serving, "HorizontalPodAutoscaler");
        var target = hpa["spec"]["scaleTargetRef"];
        var metrics = hpa["spec"]["metrics"].Items;
        var metric = metrics.Single(m => m["type"].Value == "Pods")["pods"]["metric"]["name"].Value;

        var port = ServerProcess.FreePort();
        await using var server = await ServerProcess.StartAsync("dotnet",
            [Path.Combine(builds.Published, "rerank.dll"), "serve", "--model", FixturePaths.Model("tiny-a"), "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?>(), port);
        var exposition = await server.Client.GetStringAsync("/metrics");

        Assert.Equal("Deployment", target["kind"].Value);
        Assert.Equal(Object(Serving, "Deployment")["metadata"]["name"].Value, target["name"].Value);
        Assert.Contains(metrics, m => m["type"].Value == "Resource" && m["resource"]["name"].Value == "cpu");
        Assert.Contains($"# TYPE {metric} gauge", exposition);
        var rule = AdapterValues["rules"]["custom"].Items.Single();
        Assert.StartsWith(metric + "{", rule["seriesQuery"].Value);
        Assert.Equal(metric, rule["name"]["as"].Value);
        Assert.Equal(["namespace", "pod"], rule["resources"]["overrides"].Keys.Order());
    }

    [Fact]
    public void The_indexed_job_gives_each_pod_its_shard_and_its_own_output_file()
    {
        var job = Object(Batch, "Job");
        var spec = job["spec"];
        var container = PodSpec(job)["containers"].Items.Single();
        var args = container["args"].Strings;
        string Flag(string name) => args[args.ToList().IndexOf(name) + 1];

        Assert.Equal("Indexed", spec["completionMode"].Value);
        Assert.Equal("Never", PodSpec(job)["restartPolicy"].Value);
        Assert.Equal("score", args[0]);
        var shard = Shard().Match(Flag("--shard"));
        Assert.True(shard.Success, Flag("--shard"));
        Assert.Equal(spec["completions"].Int, int.Parse(shard.Groups["count"].Value, CultureInfo.InvariantCulture));
        var index = container["env"].Items.Single(e => e["name"].Value == shard.Groups["index"].Value);
        Assert.Equal("metadata.annotations['batch.kubernetes.io/job-completion-index']", index["valueFrom"]["fieldRef"]["fieldPath"].Value);
        Assert.Contains($"$({shard.Groups["index"].Value})", Flag("--output"));
        // Input and outputs on the shared volume, the claim the Job's file defines.
        var mount = container["volumeMounts"].Items.Single(m => Flag("--input").StartsWith(m["mountPath"].Value + "/", StringComparison.Ordinal));
        Assert.StartsWith(mount["mountPath"].Value + "/", Flag("--output"));
        var claim = PodSpec(job)["volumes"].Items.Single(v => v["name"].Value == mount["name"].Value)["persistentVolumeClaim"]["claimName"].Value;
        var pvc = Object(Batch, "PersistentVolumeClaim");
        Assert.Equal(claim, pvc["metadata"]["name"].Value);
        Assert.Equal(["ReadWriteMany"], pvc["spec"]["accessModes"].Strings);
    }

    [GeneratedRegex(@"^\$\((?<index>[A-Z_]+)\)/(?<count>\d+)$")]
    private static partial Regex Shard();
}
