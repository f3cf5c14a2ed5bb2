using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// deploy/Dockerfile, without a Docker engine: the runtime stage read as the builder reads it, and the server published by
/// its build stage's command, started by its ENTRYPOINT and CMD with its ENV, answering on loopback.
/// </summary>
[Collection(PackagingCollection.Name)]
public class DockerfileTests(PackagedBuilds builds)
{
    private static readonly DockerfileInstructions Dockerfile = DockerfileInstructions.Load(RepositoryRoot.File("deploy", "Dockerfile"));

    // What mcr.microsoft.com/dotnet/aspnet:10.0 sets itself (its own ENV), which the app sees too.
    private static readonly Dictionary<string, string> AspNetImageEnvironment = new()
    {
        ["APP_UID"] = "1654",
        ["ASPNETCORE_HTTP_PORTS"] = "8080",
        ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
    };

    private const string Query = "中国的首都是哪里?";
    private static readonly string[] Documents = ["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。"];

    [Fact]
    public void The_image_runs_rerank_serve_as_a_non_root_user_with_a_cache_volume_its_port_and_a_health_check()
    {
        var final = Dockerfile.Final;
        var environment = Dockerfile.Environment(final, baseEnvironment: AspNetImageEnvironment);

        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", Dockerfile["build"].From);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", final.From);
        Assert.Equal(["dotnet", "/app/rerank.dll", "serve"], [.. DockerfileInstructions.ExecForm(final.Last("ENTRYPOINT")!), .. DockerfileInstructions.ExecForm(final.Last("CMD")!)]);
        var user = Dockerfile.Expand(final, final.Last("USER")!.Arguments, baseEnvironment: AspNetImageEnvironment);
        Assert.True(int.Parse(user, CultureInfo.InvariantCulture) > 0, $"USER {user}");
        Assert.Contains(environment["HF_HOME"], DockerfileInstructions.ExecForm(final.Last("VOLUME")!));
        Assert.Equal(environment["RERANK_PORT"], final.Last("EXPOSE")!.Arguments);
        Assert.Equal("0.0.0.0", environment["RERANK_HOST"]);   // a container's loopback is not reachable from outside it
        Assert.Contains("/health", final.Last("HEALTHCHECK")!.Arguments);
        Assert.Contains("${RERANK_PORT}", final.Last("HEALTHCHECK")!.Arguments);
        // Without MODEL: the default model, fetched into the HF_HOME volume, no offline switch.
        Assert.Equal("BAAI/bge-reranker-v2-m3", environment["RERANK_MODEL"]);
        Assert.Equal("", environment["HF_HUB_CACHE"]);
        Assert.Equal("", environment["HF_HUB_OFFLINE"]);
        Assert.Equal("fp32", environment["RERANK_PRECISION"]);
        Assert.Empty(environment.Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal)).Except(builds.Help.EnvironmentVariables("serve")));
    }

    [Fact]
    public async Task The_published_server_started_as_the_image_starts_it_answers_health_rerank_and_the_health_check()
    {
        var published = builds.Published;
        var port = ServerProcess.FreePort();
        var paths = ContainerPaths(published, builds.Temp("hf-home"));
        var environment = Dockerfile.Environment(Dockerfile.Final, baseEnvironment: AspNetImageEnvironment)
            .ToDictionary(e => e.Key, e => (string?)paths(e.Value));
        // The image would download RERANK_MODEL on first start; the fixture stands in for it, and the port is a free one.
        environment["RERANK_MODEL"] = FixturePaths.Model("tiny-a");
        environment["RERANK_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        var command = Command(paths);

        await using var server = await ServerProcess.StartAsync(command[0], command[1..], environment, port);
        var health = await server.Client.GetAsync("/health");
        var scores = await RerankAsync(server);
        var healthCheck = ExternalCommand.Run("sh", ["-c", HealthCheckCommand()], environment: environment);
        var exitCode = await server.StopAsync();

        Assert.Equal(200, (int)health.StatusCode);
        AssertScoresOfTinyA(scores);
        Assert.True(healthCheck.ExitCode == 0, $"HEALTHCHECK exited {healthCheck.ExitCode}: {healthCheck.Stderr}");
        Assert.Equal(0, exitCode);
        // Nothing but the lines that say where it listens (the API, then the playground) and the two of the stop (draining,
        // stopped): no warning from the image's settings (ASPNETCORE_HTTP_PORTS included).
        Assert.Equal(["rerank: serving", "rerank: playgro", "rerank: stoppin", "rerank: stopped"], server.Stderr.Select(line => line[..Math.Min(15, line.Length)]));
    }

    [Fact]
    public async Task With_a_baked_model_the_image_starts_offline_from_the_hub_cache_its_model_stage_filled()
    {
        const string model = "test-org/tiny-reranker";
        var published = builds.Published;
        using var hub = new FakeHub();
        hub.AddFixtureModel(model);
        var paths = ContainerPaths(published, builds.Temp("hf-home-baked"), builds.Temp("baked-hub"));
        var buildArgs = new Dictionary<string, string> { ["MODEL"] = model };

        // The model stage's RUN, with the build argument and the stage's ENV, against a hub on loopback.
        var stage = Dockerfile["model"];
        var stageEnvironment = Dockerfile.Environment(stage, buildArgs).ToDictionary(e => e.Key, e => (string?)paths(e.Value));
        stageEnvironment["MODEL"] = model;
        stageEnvironment["HF_ENDPOINT"] = hub.Endpoint;
        var download = stage.All("RUN").Single(r => r.Arguments.Contains("download", StringComparison.Ordinal));
        ExternalCommand.Run("sh", ["-c", paths(download.Arguments)], environment: stageEnvironment).EnsureSuccess();
        var requests = hub.Requests.Count;

        var port = ServerProcess.FreePort();
        var environment = Dockerfile.Environment(Dockerfile.Final, buildArgs, AspNetImageEnvironment).ToDictionary(e => e.Key, e => (string?)paths(e.Value));
        environment["RERANK_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        var command = Command(paths);
        await using var server = await ServerProcess.StartAsync(command[0], command[1..], environment, port);
        var scores = await RerankAsync(server);
        var info = JsonNode.Parse(await server.Client.GetStringAsync("/info"))!;

        Assert.Equal(model, environment["RERANK_MODEL"]);
        Assert.Equal("1", environment["HF_HUB_OFFLINE"]);
        AssertScoresOfTinyA(scores);
        Assert.Equal(model, info["model_id"]!.GetValue<string>());
        Assert.Equal(requests, hub.Requests.Count);   // the container never asked the hub
        Assert.Equal(0, await server.StopAsync());
    }

    // The image's container paths on this machine: /app is the published folder, HF_HOME a fresh folder, the baked cache
    // another; every other value passes as it is.
    private static Func<string, string> ContainerPaths(string app, string hfHome, string? bakedHub = null)
    {
        var map = new Dictionary<string, string> { ["/app"] = app, ["/data/huggingface"] = hfHome, ["/opt/rerank/hub"] = bakedHub ?? hfHome + "-unused" };
        return text =>
        {
            foreach (var (container, host) in map)
            {
                var builder = new StringBuilder();
                var at = 0;
                for (var i = text.IndexOf(container, StringComparison.Ordinal); i >= 0; i = text.IndexOf(container, at, StringComparison.Ordinal))
                {
                    var end = i + container.Length;
                    var whole = (i == 0 || text[i - 1] is ' ' or '"' or '=') && (end == text.Length || text[end] is '/' or ' ' or '"');
                    builder.Append(text, at, i - at).Append(whole ? host : container);
                    at = end;
                }
                text = builder.Append(text, at, text.Length - at).ToString();
            }
            return text;
        };
    }

    private static string[] Command(Func<string, string> paths) =>
        [.. DockerfileInstructions.ExecForm(Dockerfile.Final.Last("ENTRYPOINT")!).Select(paths), .. DockerfileInstructions.ExecForm(Dockerfile.Final.Last("CMD")!)];

    // HEALTHCHECK [OPTIONS] CMD command: the shell form, which Docker runs with /bin/sh -c.
    private static string HealthCheckCommand()
    {
        var arguments = Dockerfile.Final.Last("HEALTHCHECK")!.Arguments;
        return arguments[(arguments.IndexOf(" CMD ", StringComparison.Ordinal) + 5)..];
    }

    private static async Task<float[]> RerankAsync(ServerProcess server)
    {
        var body = new JsonObject { ["query"] = Query, ["texts"] = new JsonArray([.. Documents.Select(d => (JsonNode)d)]) };
        var response = await server.Client.PostAsync("/rerank", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!.AsArray().OrderBy(r => r!["index"]!.GetValue<int>()).Select(r => r!["score"]!.GetValue<float>()).ToArray();
    }

    private static void AssertScoresOfTinyA(float[] scores)
    {
        using var encoder = CrossEncoder.Load(FixturePaths.Model("tiny-a"));
        var expected = encoder.Predict(Documents.Select(d => (Query, d)).ToList());
        Assert.Equal(expected.Length, scores.Length);
        for (var i = 0; i < scores.Length; i++) Assert.Equal(expected[i], scores[i], 6);
    }
}
